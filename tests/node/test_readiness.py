"""The Ready=False wrapper around the node status patch: no write loops, stable transitions."""

from __future__ import annotations

from typing import Any

from node.nodestatus import NodeConfig, status_patch
from node.readiness import node_status_patch
from node.runtime.cri_runtime import NotReady

CONFIG = NodeConfig(
    name="n1",
    host_ip="127.0.0.1",
    capacity={"cpu": "2"},
    allocatable={"cpu": "2"},
    node_info={"kubeletVersion": "v1"},
)
DOWN = NotReady("KubeletNotReady", "container runtime network not ready: NetworkReady=false")


def _apply(node: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    if patch is None:
        return node
    status = {**node.get("status", {}), **patch["status"]}
    return {**node, "status": status}


def _ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_not_ready_is_posted_once_then_kept() -> None:
    node: dict[str, Any] = {"metadata": {"name": "n1"}, "status": {}}
    node = _apply(node, node_status_patch(CONFIG, node, "2026-01-01T00:00:00Z", 300, DOWN))
    ready = _ready(node)
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        DOWN.reason,
        DOWN.message,
    )
    # Nothing changed: no patch (no write loop through the node informer).
    assert node_status_patch(CONFIG, node, "2026-01-01T00:00:05Z", 300, DOWN) is None
    # A heartbeat keeps the transition time.
    later = node_status_patch(CONFIG, node, "2026-01-01T00:00:10Z", 0, DOWN)
    assert later is not None
    assert _ready(_apply(node, later))["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    # Ready again: the healthy condition with a new transition time.
    healthy = _apply(node, node_status_patch(CONFIG, node, "2026-01-01T00:00:20Z", 300, None))
    ready = _ready(healthy)
    assert (ready["status"], ready["reason"], ready["lastTransitionTime"]) == (
        "True",
        "KubeletReady",
        "2026-01-01T00:00:20Z",
    )
    assert node_status_patch(CONFIG, healthy, "2026-01-01T00:00:25Z", 300, None) is None


def test_without_a_problem_it_is_the_plain_patch() -> None:
    node: dict[str, Any] = {"metadata": {"name": "n1"}, "status": {}}
    now = "2026-01-01T00:00:00Z"
    assert node_status_patch(CONFIG, node, now, 300, None) == status_patch(CONFIG, node, now, 300)
