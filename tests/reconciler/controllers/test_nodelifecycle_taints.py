"""Taint computation and toleration matching of the node lifecycle controller."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.nodelifecycle.nodes import epoch, rfc3339, zone_key
from reconciler.controllers.nodelifecycle.taints import (
    NOT_READY_NO_EXECUTE,
    UNREACHABLE_NO_EXECUTE,
    condition_taint_diff,
    condition_taints,
    eviction_time,
    swap_taints,
    tolerates,
)

T0 = 1_700_000_000.0


def _node(conditions: dict[str, str], taints: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "n"},
        "spec": {"taints": taints or [], **spec},
        "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]},
    }


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "expected"),
    [
        ({"Ready": "True", "MemoryPressure": "False"}, False, []),
        ({"Ready": "False"}, False, ["node.kubernetes.io/not-ready"]),
        ({"Ready": "Unknown", "DiskPressure": "Unknown"}, False, ["node.kubernetes.io/unreachable"]),
        (
            {"Ready": "True", "MemoryPressure": "True", "PIDPressure": "True"},
            False,
            ["node.kubernetes.io/memory-pressure", "node.kubernetes.io/pid-pressure"],
        ),
        ({"NetworkUnavailable": "True"}, True, ["node.kubernetes.io/network-unavailable", "node.kubernetes.io/unschedulable"]),
    ],
)
def test_condition_taints(conditions: dict[str, str], unschedulable: bool, expected: list[str]) -> None:
    taints = condition_taints(_node(conditions, unschedulable=unschedulable))
    assert [t["key"] for t in taints] == expected
    assert {t["effect"] for t in taints} <= {"NoSchedule"}


def test_condition_taint_diff_manages_only_its_own_keys() -> None:
    node = _node(
        {"Ready": "Unknown"},
        taints=[
            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},  # the user's
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},  # not NoSchedule
        ],
    )
    add, remove = condition_taint_diff(node)
    assert add == [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]
    assert remove == [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    healthy = _node({"Ready": "True"}, taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])
    assert condition_taint_diff(healthy) == ([], [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])


def test_swap_taints_stamps_added_and_keeps_existing() -> None:
    old = {**NOT_READY_NO_EXECUTE, "timeAdded": "2024-01-01T00:00:00Z"}
    user = {"key": "k", "value": "v", "effect": "NoSchedule"}
    swapped = swap_taints([user, old], [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE], T0)
    assert swapped == [user, {**UNREACHABLE_NO_EXECUTE, "timeAdded": rfc3339(T0)}]
    # Adding a taint that is there keeps its timeAdded: nothing to write.
    assert swap_taints([user, old], [NOT_READY_NO_EXECUTE], [], T0 + 60) is None
    assert swap_taints([user], [], [UNREACHABLE_NO_EXECUTE], T0) is None


TAINT = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        ({"operator": "Exists"}, TAINT, True),  # tolerates everything
        ({"key": "node.kubernetes.io/unreachable", "operator": "Exists"}, TAINT, True),
        ({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}, TAINT, False),
        ({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}, TAINT, False),
        ({"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}, TAINT, True),  # Equal, "" == ""
        ({"key": "node.kubernetes.io/unreachable", "operator": "Equal", "value": "x", "effect": "NoExecute"}, TAINT, False),
        ({"key": "dedicated", "operator": "Equal", "value": "gpu"}, {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "operator": "Lt", "value": "1"}, {"key": "dedicated", "value": "0", "effect": "NoSchedule"}, False),
    ],
)
def test_tolerates(toleration: dict[str, Any], taint: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


ADDED = "2024-05-01T10:00:00Z"
STAMPED = {**TAINT, "timeAdded": ADDED}
NOT_READY_STAMPED = {**NOT_READY_NO_EXECUTE, "timeAdded": "2024-05-01T10:00:30Z"}


def _unreachable(seconds: int | None) -> dict[str, Any]:
    tol: dict[str, Any] = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        tol["tolerationSeconds"] = seconds
    return tol


NOW = (epoch(ADDED) or 0.0) + 100


@pytest.mark.parametrize(
    ("taints", "tolerations", "expected"),
    [
        ([STAMPED], [], NOW),  # not tolerated: now
        ([STAMPED], [{"key": "other", "operator": "Exists"}], NOW),
        ([STAMPED], [_unreachable(None)], None),  # tolerated for ever
        ([STAMPED], [_unreachable(300)], epoch(ADDED) + 300),  # counted from timeAdded
        ([STAMPED], [_unreachable(2)], epoch(ADDED) + 2),  # overdue: in the past
        ([STAMPED], [_unreachable(0)], NOW),  # zero or less: now
        ([{**TAINT}], [_unreachable(5)], NOW + 5),  # no timeAdded: from now
        # The first matching toleration is the one used, as Kubernetes does.
        ([STAMPED], [_unreachable(10), {"operator": "Exists"}], epoch(ADDED) + 10),
        # Two taints: the smaller deadline; an untolerated one wins outright.
        ([STAMPED, NOT_READY_STAMPED], [_unreachable(300), {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 60}], epoch("2024-05-01T10:00:30Z") + 60),
        ([STAMPED, NOT_READY_STAMPED], [_unreachable(300)], NOW),
        ([], [], None),
    ],
)
def test_eviction_time(taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], expected: float | None) -> None:
    assert eviction_time(taints, tolerations, NOW) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, ""),
        ({"topology.kubernetes.io/zone": "a"}, ":\x00:a"),
        ({"topology.kubernetes.io/region": "r", "topology.kubernetes.io/zone": "a"}, "r:\x00:a"),
        ({"failure-domain.beta.kubernetes.io/zone": "b"}, ":\x00:b"),
    ],
)
def test_zone_key(labels: dict[str, str], expected: str) -> None:
    assert zone_key({"metadata": {"labels": labels}}) == expected


def test_time_round_trip() -> None:
    assert rfc3339(T0) == "2023-11-14T22:13:20Z"
    assert epoch(rfc3339(T0)) == T0
    assert epoch("garbage") is None and epoch(None) is None
