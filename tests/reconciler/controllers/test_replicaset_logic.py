"""Slow-start batching, expectations, status computation and the pod template."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.controllers.replicaset import status
from reconciler.controllers.replicaset.batch import batch_sizes, slow_start_batch
from reconciler.controllers.replicaset.expectations import Expectations
from reconciler.controllers.replicaset.template import pod_from_template, pod_name_prefix
from tests.reconciler.controllers.rsobjects import T0, pod, replicaset


@pytest.mark.parametrize(
    "count,sizes",
    [
        (0, []),
        (1, [1]),
        (2, [1, 1]),
        (3, [1, 2]),
        (7, [1, 2, 4]),
        (10, [1, 2, 4, 3]),
        (500, [1, 2, 4, 8, 16, 32, 64, 128, 245]),
    ],
)
def test_batch_sizes(count: int, sizes: list[int]) -> None:
    assert batch_sizes(count) == sizes
    assert sum(sizes) == count


@pytest.mark.parametrize(
    "count,fail_at,calls,successes",
    [
        (10, None, 10, 10),
        (10, 1, 1, 0),  # the first call fails: one request, nothing more
        (10, 2, 3, 2),  # the second batch (calls 2-3) fails once: stop after it
        (10, 4, 7, 6),  # third batch (4-7)
    ],
)
def test_slow_start_stops_after_failing_batch(
    count: int, fail_at: int | None, calls: int, successes: int
) -> None:
    made = 0

    async def call() -> None:
        nonlocal made
        made += 1
        if made == fail_at:
            raise RuntimeError("boom")

    done, err = asyncio.run(slow_start_batch(count, call))
    assert (made, done) == (calls, successes)
    assert (err is None) == (fail_at is None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_expectations_lifecycle() -> None:
    clock = Clock()
    exp = Expectations(clock, ttl=300)
    assert exp.satisfied("ns/rs")  # no record: sync
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")

    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/other")  # not one we deleted: no effect
    assert exp.pending("ns/rs") == (0, 2)
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # observed twice counts once
    assert not exp.satisfied("ns/rs")
    exp.deletion_observed("ns/rs", "ns/b")
    assert exp.satisfied("ns/rs")


def test_expectations_expire() -> None:
    clock = Clock()
    exp = Expectations(clock, ttl=300)
    exp.expect_creations("k", 5)
    clock.now += 299
    assert not exp.satisfied("k")
    clock.now += 2
    assert exp.satisfied("k")
    exp.delete("k")
    assert exp.pending("k") is None


def _counts(s: dict) -> tuple[int, int, int, int]:
    return (s["replicas"], s["fullyLabeledReplicas"], s["readyReplicas"], s["availableReplicas"])


@pytest.mark.parametrize(
    "min_ready,pods,counts",
    [
        (0, [], (0, 0, 0, 0)),
        (
            0,
            [pod("a", labels={"app": "rs"}), pod("b", labels={"app": "rs"}, ready=True)],
            (2, 2, 1, 1),
        ),
        # a pod missing a template label is counted but not fully labeled
        (0, [pod("a", labels={}, ready=True)], (1, 0, 1, 1)),
        # ready 10 s ago, minReadySeconds 30: ready, not available
        (30, [pod("a", labels={"app": "rs"}, ready=True, ready_at=T0 - 10)], (1, 1, 1, 0)),
        (30, [pod("a", labels={"app": "rs"}, ready=True, ready_at=T0 - 31)], (1, 1, 1, 1)),
        # exactly minReadySeconds: not yet ("before now", strictly)
        (30, [pod("a", labels={"app": "rs"}, ready=True, ready_at=T0 - 30)], (1, 1, 1, 0)),
    ],
)
def test_status_counts(min_ready: int, pods: list, counts: tuple) -> None:
    rs = replicaset(min_ready=min_ready)
    assert _counts(status.calculate_status(rs, pods, None, T0)) == counts


def test_failure_condition_set_then_kept_then_cleared() -> None:
    rs = replicaset(replicas=3)
    new = status.calculate_status(rs, [], 'pods "x" is forbidden: quota', T0)
    [cond] = new["conditions"]
    assert cond == {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": "2023-11-14T22:13:20Z",
        "reason": "FailedCreate",
        "message": 'pods "x" is forbidden: quota',
    }
    rs["status"] = new
    again = status.calculate_status(rs, [], "another error", T0 + 60)
    assert again["conditions"] == [cond]  # an existing condition is not rewritten
    too_many = replicaset(replicas=0)
    assert (
        status.calculate_status(too_many, [pod("a")], "e", T0)["conditions"][0]["reason"]
        == "FailedDelete"
    )
    cleared = status.calculate_status(rs, [], None, T0)
    assert "conditions" not in cleared


def test_needs_update() -> None:
    rs = replicaset(generation=2)
    new = status.calculate_status(rs, [], None, T0)
    assert status.needs_update(rs, new)  # observedGeneration missing
    rs["status"] = {**new, "observedGeneration": 2}
    assert not status.needs_update(rs, status.calculate_status(rs, [], None, T0))
    assert status.needs_update(rs, status.calculate_status(rs, [pod("a")], None, T0))


def test_next_available_in() -> None:
    rs = replicaset(min_ready=30)
    waiting = pod("a", ready=True, ready_at=T0 - 10)
    assert status.next_available_in(rs, [waiting], T0) == pytest.approx(20.05)
    assert status.next_available_in(rs, [pod("b", ready=True, ready_at=T0 - 40)], T0) is None
    assert status.next_available_in(replicaset(), [waiting], T0) is None


def test_pod_from_template() -> None:
    rs = replicaset("web")
    rs["spec"]["template"]["metadata"]["annotations"] = {"a": "b"}
    body = pod_from_template(rs)
    assert body["metadata"] == {
        "generateName": "web-",
        "namespace": "default",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": "uid-web",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "labels": {"app": "web"},
        "annotations": {"a": "b"},
    }
    body["spec"]["containers"][0]["image"] = "changed"
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"  # a copy
    assert pod_name_prefix("x" * 253) == "x" * 253
