from __future__ import annotations

import asyncio

import pytest

from reconciler.scheduler.podinfo import parse_pod
from reconciler.scheduler.queue import ACTIVE, BACKOFF, UNSCHEDULABLE, SchedulingQueue
from tests.reconciler.scheduler.helpers import pod


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _queue() -> tuple[SchedulingQueue, Clock]:
    clock = Clock()
    return SchedulingQueue(1.0, 10.0, 300.0, clock=clock), clock


def test_priority_then_fifo() -> None:
    q, clock = _queue()
    for name, prio in (("low", 0), ("high", 10), ("low2", 0)):
        clock.now += 1
        q.add(parse_pod(pod(name, priority=prio)))
    assert [q.pop_nowait().pod.name for _ in range(3)] == ["high", "low", "low2"]  # type: ignore[union-attr]
    assert q.pop_nowait() is None


def test_unschedulable_waits_for_an_event_then_respects_backoff() -> None:
    q, clock = _queue()
    q.add(parse_pod(pod("p")))
    qp = q.pop_nowait()
    assert qp is not None and qp.attempts == 1
    q.add_unschedulable(qp, q.scheduling_cycle)
    assert q.where("default/p") == UNSCHEDULABLE
    clock.now += 100
    assert q.pop_nowait() is None  # nothing happened: stays parked
    assert q.move_all_to_active_or_backoff("NodeAdd") == 1
    assert q.where("default/p") == ACTIVE  # backoff (1 s) long over
    qp = q.pop_nowait()
    assert qp is not None and qp.attempts == 2
    q.add_unschedulable(qp, q.scheduling_cycle)
    clock.now += 0.5
    q.move_all_to_active_or_backoff("NodeAdd")
    assert q.where("default/p") == BACKOFF  # 2nd attempt: 2 s backoff
    assert q.pop_nowait() is None
    clock.now += 1.6
    assert q.pop_nowait() is not None


@pytest.mark.parametrize(
    ("attempts", "want"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]
)
def test_backoff_doubles_to_the_cap(attempts: int, want: float) -> None:
    q, _ = _queue()
    q.add(parse_pod(pod("p")))
    qp = q.pop_nowait()
    assert qp is not None
    qp.attempts = attempts
    assert q.backoff_duration(qp) == want


def test_event_during_the_cycle_sends_the_failure_to_backoff() -> None:
    q, _ = _queue()
    q.add(parse_pod(pod("p")))
    qp = q.pop_nowait()
    assert qp is not None
    cycle = q.scheduling_cycle
    q.move_all_to_active_or_backoff("NodeAdd")  # a node arrived while we were deciding
    q.add_unschedulable(qp, cycle)
    assert q.where("default/p") == BACKOFF


def test_parked_pods_are_retried_after_the_timeout() -> None:
    q, clock = _queue()
    q.add(parse_pod(pod("p")))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, q.scheduling_cycle)
    clock.now += 301
    assert q.pop_nowait() is not None


def test_update_of_a_parked_pod_moves_it_only_when_its_spec_changes() -> None:
    q, clock = _queue()
    q.add(parse_pod(pod("p")))
    qp = q.pop_nowait()
    assert qp is not None
    q.add_unschedulable(qp, q.scheduling_cycle)
    clock.now += 5
    status_only = pod("p")
    status_only["status"] = {"conditions": [{"type": "PodScheduled", "status": "False"}]}
    q.update(parse_pod(status_only))
    assert q.where("default/p") == UNSCHEDULABLE
    q.update(parse_pod(pod("p", cpu="1")))
    assert q.where("default/p") == ACTIVE


def test_delete_removes_from_every_queue() -> None:
    q, _ = _queue()
    q.add(parse_pod(pod("a")))
    q.add(parse_pod(pod("b")))
    q.delete("default/a")
    qp = q.pop_nowait()
    assert qp is not None and qp.pod.name == "b"
    q.add_unschedulable(qp, q.scheduling_cycle)
    q.delete("default/b")
    q.move_all_to_active_or_backoff()
    assert q.pop_nowait() is None and len(q) == 0


def test_pop_waits_for_backoff_expiry() -> None:
    async def main() -> float:
        q = SchedulingQueue(0.05, 0.05, 300.0)
        q.add(parse_pod(pod("p")))
        qp = await q.pop()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        q.add_backoff(qp)
        await asyncio.wait_for(q.pop(), 2)
        return loop.time() - t0

    assert 0.04 <= asyncio.run(main()) < 1.0
