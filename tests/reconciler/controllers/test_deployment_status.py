"""Deployment status and conditions: counts, Available, Progressing and the deadline."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.deployment import conditions as cond
from reconciler.controllers.deployment import status as st
from tests.reconciler.controllers.test_deployment_builders import T0, deployment, replica_set, ts


def _cond(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = cond.get_condition(status, kind)
    assert found is not None
    return dict(found)


def test_calculate_status_counts() -> None:
    d = deployment(4, generation=3)
    old = replica_set("web-old", 2, 1, actual=3, ready=2)
    new = replica_set("web-new", 3, 1, actual=2, ready=2)
    status = st.calculate_status([old, new], new, d, T0)
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 3,
        "replicas": 5,
        "updatedReplicas": 2,
        "readyReplicas": 4,
        "availableReplicas": 2,
        "unavailableReplicas": 3,  # 5 desired by the ReplicaSets - 2 available
    }
    available = _cond(status, "Available")
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert available["message"] == "Deployment does not have minimum availability."


def test_calculate_status_omits_zero_and_keeps_collision_count() -> None:
    d = deployment(0, status={"collisionCount": 0})
    status = st.calculate_status([], None, d, T0)
    assert status["collisionCount"] == 0
    assert "replicas" not in status and "unavailableReplicas" not in status
    assert _cond(status, "Available")["reason"] == "MinimumReplicasAvailable"
    assert _cond(status, "Available")["message"] == "Deployment has minimum availability."


def test_set_condition_semantics() -> None:
    status: dict[str, Any] = {}
    first = cond.new_condition("Progressing", "True", "NewReplicaSetCreated", "m1", T0)
    cond.set_condition(status, first)
    cond.set_condition(
        status, cond.new_condition("Progressing", "True", "NewReplicaSetCreated", "m2", T0 + 5)
    )
    assert status["conditions"] == [first]  # same status and reason: unchanged
    cond.set_condition(
        status, cond.new_condition("Progressing", "True", "ReplicaSetUpdated", "m3", T0 + 9)
    )
    updated = _cond(status, "Progressing")
    assert updated["lastTransitionTime"] == ts(T0) and updated["lastUpdateTime"] == ts(T0 + 9)
    cond.set_condition(
        status,
        cond.new_condition("Progressing", "False", "ProgressDeadlineExceeded", "m4", T0 + 20),
    )
    assert _cond(status, "Progressing")["lastTransitionTime"] == ts(T0 + 20)
    cond.remove_condition(status, "Progressing")
    assert "conditions" not in status


def _progressing(reason: str, at: float, status: str = "True") -> dict[str, Any]:
    return cond.new_condition("Progressing", status, reason, "", at)


@pytest.mark.parametrize(
    ("old_status", "rss", "now", "reason", "message"),
    [
        # progress: one more updated replica than before
        (
            {
                "replicas": 3,
                "updatedReplicas": 1,
                "conditions": [_progressing("NewReplicaSetCreated", T0)],
            },
            [("web-old", 2, 2), ("web-new", 2, 0)],
            T0 + 10,
            "ReplicaSetUpdated",
            'ReplicaSet "web-new" is progressing.',
        ),
        # complete
        (
            {
                "replicas": 3,
                "updatedReplicas": 3,
                "conditions": [_progressing("ReplicaSetUpdated", T0)],
            },
            [("web-new", 3, 3)],
            T0 + 10,
            "NewReplicaSetAvailable",
            'ReplicaSet "web-new" has successfully progressed.',
        ),
        # no progress for longer than the deadline
        (
            {
                "replicas": 4,
                "updatedReplicas": 2,
                "availableReplicas": 2,
                "conditions": [_progressing("ReplicaSetUpdated", T0)],
            },
            [("web-old", 2, 2), ("web-new", 2, 0)],
            T0 + 601,
            "ProgressDeadlineExceeded",
            'ReplicaSet "web-new" has timed out progressing.',
        ),
        # no progress, deadline not reached: the condition stays
        (
            {
                "replicas": 4,
                "updatedReplicas": 2,
                "availableReplicas": 2,
                "conditions": [_progressing("ReplicaSetUpdated", T0)],
            },
            [("web-old", 2, 2), ("web-new", 2, 0)],
            T0 + 599,
            "ReplicaSetUpdated",
            "",
        ),
    ],
)
def test_rollout_status_progressing(
    old_status: dict[str, Any],
    rss: list[tuple[str, int, int]],
    now: float,
    reason: str,
    message: str,
) -> None:
    d = deployment(3, status=old_status)
    objs = [replica_set(name, size, avail, ready=0) for name, size, avail in rss]
    new_rs = objs[-1]
    status = st.rollout_status(objs, new_rs, d, now)
    progressing = _cond(status, "Progressing")
    assert (progressing["reason"], progressing["message"]) == (reason, message)


def test_rollout_status_keeps_transition_time_while_progressing() -> None:
    d = deployment(
        3, status={"replicas": 3, "conditions": [_progressing("NewReplicaSetCreated", T0)]}
    )
    new_rs = replica_set("web-new", 2, 0, ready=0)
    status = st.rollout_status([replica_set("web-old", 2, 2), new_rs], new_rs, d, T0 + 30)
    progressing = _cond(status, "Progressing")
    assert progressing["lastTransitionTime"] == ts(T0)
    assert progressing["lastUpdateTime"] == ts(T0 + 30)


def test_rollout_status_without_deadline_has_no_progressing() -> None:
    d = deployment(1, deadline=None, status={"conditions": [_progressing("ReplicaSetUpdated", T0)]})
    new_rs = replica_set("web-new", 1)
    assert cond.get_condition(st.rollout_status([new_rs], new_rs, d, T0), "Progressing") is None


def test_replica_failure_is_lifted_from_the_new_replica_set() -> None:
    d = deployment(1)
    new_rs = replica_set("web-new", 1, 0)
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": "quota",
        "lastTransitionTime": ts(T0),
    }
    new_rs["status"]["conditions"] = [failure]
    status = st.rollout_status([new_rs], new_rs, d, T0)
    assert _cond(status, "ReplicaFailure")["reason"] == "FailedCreate"
    new_rs["status"]["conditions"] = []
    cleared = st.rollout_status([new_rs], new_rs, deployment(1, status=status), T0)
    assert cond.get_condition(cleared, "ReplicaFailure") is None


@pytest.mark.parametrize(
    ("reason", "updated_at", "now", "complete", "expected"),
    [
        ("ReplicaSetUpdated", T0, T0 + 100, False, 501.0),
        ("ReplicaSetUpdated", T0, T0 + 599.5, False, 0.0),  # under a second: now
        ("ProgressDeadlineExceeded", T0, T0 + 100, False, None),
        ("ReplicaSetUpdated", T0, T0 + 100, True, None),
    ],
)
def test_progress_check_in(
    reason: str, updated_at: float, now: float, complete: bool, expected: float | None
) -> None:
    d = deployment(2, status={"conditions": [_progressing(reason, updated_at)]})
    new_status = {
        "replicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2 if complete else 1,
        "observedGeneration": 1,
    }
    assert st.progress_check_in(d, new_status, now) == expected


def test_status_equal_treats_absent_as_zero() -> None:
    assert st.status_equal({"replicas": 0}, {})
    assert not st.status_equal({"collisionCount": 0}, {})
    assert not st.status_equal({"replicas": 1}, {})
