"""Health decisions of the node lifecycle controller, on a fake clock.

Each case is a timeline of (local time, Ready lastHeartbeatTime, Lease renewTime)
observations; the probe timestamp must move only when a value changes, whatever the
values say (the node's clock may be skewed), and the node counts as silent once the
grace period has passed since the last change.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.nodelifecycle.health import (
    MESSAGE_UNKNOWN,
    REASON_UNKNOWN,
    HealthTracker,
    mark_unknown,
)
from reconciler.controllers.nodelifecycle.nodes import rfc3339

T0 = 1_700_000_000.0
GRACE = 50.0


def _node(heartbeat: str | None, created: float = T0 - 3600) -> dict[str, Any]:
    conditions = []
    if heartbeat is not None:
        conditions.append({"type": "Ready", "status": "True", "lastHeartbeatTime": heartbeat,
                           "lastTransitionTime": "2020-01-01T00:00:00Z"})
    return {"metadata": {"name": "n", "creationTimestamp": rfc3339(created)},
            "status": {"conditions": conditions}}


def _lease(renew: str | None) -> dict[str, Any] | None:
    return None if renew is None else {"spec": {"renewTime": renew, "leaseDurationSeconds": 40}}


SKEWED = "1999-01-01T00:00:00Z"  # an agent whose clock is way off
HB1, HB2 = "2023-01-01T00:00:00Z", "2023-01-01T00:00:10Z"
R1, R2 = "2023-01-01T00:00:00.100000Z", "2023-01-01T00:00:10.100000Z"


@pytest.mark.parametrize(
    ("timeline", "silent_at_end"),
    [
        # First sight counts as a probe, whatever the timestamps say.
        ([(0, SKEWED, None)], False),
        ([(0, SKEWED, None), (GRACE + 1, SKEWED, None)], True),  # nothing changed since
        ([(0, HB1, None), (40, HB2, None), (GRACE + 1, HB2, None)], False),  # heartbeat moved at 40
        ([(0, HB1, None), (40, HB2, None), (40 + GRACE + 1, HB2, None)], True),
        # The Lease alone keeps a node alive (its status may be stale).
        ([(0, HB1, R1), (30, HB1, R2), (30 + GRACE - 1, HB1, R2)], False),
        ([(0, HB1, R1), (30, HB1, R2), (30 + GRACE + 1, HB1, R2)], True),
        # A Lease going back in time is not a renewal.
        ([(0, HB1, R2), (30, HB1, R1), (GRACE + 1, HB1, R1)], True),
        # A Lease appearing later is a renewal.
        ([(0, HB1, None), (45, HB1, R1), (GRACE + 1, HB1, R1)], False),
    ],
)
def test_probe_timestamps(timeline: list[tuple[float, str | None, str | None]], silent_at_end: bool) -> None:
    tracker = HealthTracker()
    probe = 0.0
    now = T0
    for offset, heartbeat, renew in timeline:
        now = T0 + offset
        probe = tracker.observe("n", _node(heartbeat), _lease(renew), now)
    assert (now > probe + GRACE) is silent_at_end


def test_never_ready_node_counts_from_creation() -> None:
    tracker = HealthTracker()
    assert tracker.observe("n", _node(None, created=T0 - 70), None, T0) == T0 - 70
    # Its first Ready report is a sign of life.
    assert tracker.observe("n", _node(HB1), None, T0 + 5) == T0 + 5


def test_own_unknown_write_is_not_a_heartbeat() -> None:
    tracker = HealthTracker()
    tracker.observe("n", _node(HB1), None, T0)
    node = _node(HB1)
    node["status"]["conditions"] = mark_unknown(node, T0 + 60)
    tracker.saw_own_write("n", node)
    assert tracker.observe("n", node, None, T0 + 65) == T0


def test_reset_and_forget() -> None:
    tracker = HealthTracker()
    tracker.observe("n", _node(HB1), None, T0)
    tracker.reset_probes(T0 + 100)
    assert tracker.observe("n", _node(HB1), None, T0 + 101) == T0 + 100
    tracker.forget("n")
    assert tracker.known() == set()


def test_mark_unknown() -> None:
    node = _node(HB1)
    node["status"]["conditions"] += [
        {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": HB1},
        {"type": "DiskPressure", "status": "Unknown", "reason": "Old", "lastTransitionTime": HB1},
        {"type": "NetworkUnavailable", "status": "False"},
    ]
    now = T0 + 100
    result = mark_unknown(node, now)
    assert result is not None
    by_type = {c["type"]: c for c in result}
    for kind in ("Ready", "MemoryPressure"):
        assert by_type[kind]["status"] == "Unknown"
        assert by_type[kind]["reason"] == REASON_UNKNOWN
        assert by_type[kind]["message"] == MESSAGE_UNKNOWN
        assert by_type[kind]["lastTransitionTime"] == rfc3339(now)
        assert by_type[kind]["lastHeartbeatTime"] == HB1  # kept: it is the agent's
    assert by_type["DiskPressure"] == {"type": "DiskPressure", "status": "Unknown", "reason": "Old",
                                       "lastTransitionTime": HB1}
    assert by_type["NetworkUnavailable"]["status"] == "False"  # not the controller's
    assert by_type["PIDPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert by_type["PIDPressure"]["message"] == "Kubelet never posted node status."
    assert node["status"]["conditions"][0]["status"] == "True"  # input untouched
    # Once everything is Unknown there is nothing more to write.
    node["status"]["conditions"] = result
    assert mark_unknown(node, now + 5) is None
