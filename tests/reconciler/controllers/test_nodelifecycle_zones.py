"""Zone states, the per-zone tainting rate limiter and master disruption mode."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.controllers.nodelifecycle.zones import (
    DisruptionPolicy,
    TaintQueue,
    TokenLimiter,
    Zones,
    ZoneState,
    zone_state,
)

T, F, U = "True", "False", "Unknown"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([T, T, U], ZoneState.NORMAL),  # one of three lost: 1/3 < 0.55
        ([T, U, U], ZoneState.NORMAL),  # 2 not ready: needs more than 2
        ([T, T, U, U, U], ZoneState.PARTIAL),  # 3/5 = 0.6 >= 0.55
        ([T, T, T, U, U, U], ZoneState.NORMAL),  # 3/6 = 0.5
        ([U], ZoneState.FULL),
        ([U, F, None], ZoneState.FULL),  # never-reported counts as not ready
        ([T], ZoneState.NORMAL),
    ],
)
def test_zone_state(statuses: list[str | None], expected: ZoneState) -> None:
    assert zone_state(statuses, 0.55) is expected


@pytest.mark.parametrize(
    ("state", "size", "rate"),
    [
        (ZoneState.NORMAL, 3, 0.1),
        (ZoneState.FULL, 3, 0.1),  # a fully lost zone among healthy ones: normal rate
        (ZoneState.PARTIAL, 50, 0.0),  # small zone: stop
        (ZoneState.PARTIAL, 51, 0.01),  # large zone: secondary rate
    ],
)
def test_policy_rate(state: ZoneState, size: int, rate: float) -> None:
    assert DisruptionPolicy().rate(state, size) == rate


def test_token_limiter_burst_one() -> None:
    clock = Clock()
    limiter = TokenLimiter(0.1, clock)
    assert limiter.try_accept()
    assert not limiter.try_accept()
    clock.now += 9.9
    assert not limiter.try_accept()
    clock.now += 0.2
    assert limiter.try_accept()
    clock.now += 1000  # tokens do not pile up beyond the burst of 1
    assert limiter.try_accept() and not limiter.try_accept()
    assert not TokenLimiter(0.0, clock).try_accept()


def _drain(queue: TaintQueue, done: set[str] | None = None) -> list[str]:
    seen: list[str] = []

    async def action(name: str) -> tuple[bool, float]:
        seen.append(name)
        return (done is None or name in done), 1.0

    asyncio.run(queue.try_process(action))
    return seen


def test_taint_queue_is_rate_limited_and_processes_once() -> None:
    clock = Clock()
    queue = TaintQueue(0.1, clock)
    assert queue.add("a") and queue.add("b")
    assert not queue.add("a")  # already queued
    assert _drain(queue) == ["a"]  # one token
    clock.now += 10
    assert _drain(queue) == ["b"]
    clock.now += 100
    assert _drain(queue) == []
    assert not queue.add("a")  # processed: stays known until removed
    assert queue.remove("a") and queue.add("a")
    assert _drain(queue) == ["a"]


def test_taint_queue_retries_failures_later() -> None:
    clock = Clock()
    queue = TaintQueue(100.0, clock)
    queue.add("a")
    assert _drain(queue, done=set()) == ["a"]  # failed: back in the queue, due in 1 s
    clock.now += 0.5
    assert _drain(queue) == []
    clock.now += 1
    assert _drain(queue) == ["a"]
    assert queue.pending() == []


def test_swap_rate_keeps_an_empty_bucket_empty() -> None:
    clock = Clock()
    queue = TaintQueue(0.1, clock)
    queue.add("a")
    queue.add("b")
    assert _drain(queue) == ["a"]
    queue.swap_rate(0.2)  # the old bucket was empty: so is the new one
    assert _drain(queue) == []
    clock.now += 5
    assert _drain(queue) == ["b"]
    queue.add("c")
    queue.swap_rate(0.0)
    clock.now += 100
    assert _drain(queue) == []


def test_zone_states_and_rates() -> None:
    clock = Clock()
    zones = Zones(DisruptionPolicy(), clock)
    outcome = zones.handle_disruption({"a": [T, T, T], "b": [T, T]})
    assert outcome.changed == {"a": ZoneState.NORMAL, "b": ZoneState.NORMAL}
    # Zone b fully down while a is fine: b keeps the normal rate, no master disruption.
    outcome = zones.handle_disruption({"a": [T, T, T], "b": [U, U]})
    assert outcome.changed == {"b": ZoneState.FULL} and not outcome.entered_full_disruption
    assert zones.queues["b"].limiter.rate == 0.1
    # Zone a partially disrupted (3 of 5): small zone, tainting stops there.
    outcome = zones.handle_disruption({"a": [T, T, U, U, U], "b": [U, U]})
    assert outcome.changed == {"a": ZoneState.PARTIAL}
    assert zones.queues["a"].limiter.rate == 0.0
    # Nothing changed: nothing reported.
    assert zones.handle_disruption({"a": [T, T, U, U, U], "b": [U, U]}).changed == {}


def test_master_disruption_mode() -> None:
    clock = Clock()
    zones = Zones(DisruptionPolicy(), clock)
    zones.handle_disruption({"a": [T, T], "b": [T]})
    outcome = zones.handle_disruption({"a": [U, U], "b": [U]})
    assert outcome.entered_full_disruption
    assert all(q.limiter.rate == 0.0 for q in zones.queues.values())
    assert zones.states == {"a": ZoneState.FULL, "b": ZoneState.FULL}
    # Still everything down: no change, tainting stays stopped.
    outcome = zones.handle_disruption({"a": [U, U], "b": [U]})
    assert not outcome.entered_full_disruption and not outcome.changed
    # One node back: leave the mode, every zone gets the rate of its state again.
    outcome = zones.handle_disruption({"a": [T, U], "b": [U]})
    assert outcome.left_full_disruption
    assert zones.states == {"a": ZoneState.NORMAL, "b": ZoneState.FULL}
    assert zones.queues["a"].limiter.rate == 0.1 and zones.queues["b"].limiter.rate == 0.1


def test_single_zone_cluster() -> None:
    zones = Zones(DisruptionPolicy(), Clock())
    zones.handle_disruption({"": [T, T, T]})
    # One of three nodes dies: Normal, tainting at the normal rate.
    outcome = zones.handle_disruption({"": [T, T, U]})
    assert zones.states[""] is ZoneState.NORMAL and not outcome.entered_full_disruption
    # All die: the controller assumes it is the one cut off and stops.
    assert zones.handle_disruption({"": [U, U, U]}).entered_full_disruption


def test_first_pass_with_everything_down_enters_the_mode() -> None:
    zones = Zones(DisruptionPolicy(), Clock())
    assert zones.handle_disruption({"": [U]}).entered_full_disruption
    assert zones.handle_disruption({}).changed == {}  # no zones left
    assert zones.states == {}
