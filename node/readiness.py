"""The node's Ready condition when its runtime or network is not ready.

:func:`node.nodestatus.status_patch` reports the kubelet's healthy conditions. A
containerd node is not always healthy: until containerd answers and the pod network is
set up, the kubelet posts ``Ready=False`` with reason ``KubeletNotReady`` and a message
naming the cause (``container runtime network not ready: NetworkReady=false
reason:NetworkPluginNotReady ...``). This wraps the healthy patch: the posted not-ready
condition is shown to it as the healthy one it would have written (so "nothing
changed" is still recognised and no write loop starts), and the Ready condition of the
patch it returns is replaced by the not-ready one, keeping ``lastTransitionTime`` while
the node stays not ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.nodestatus import HEALTHY_CONDITIONS, NodeConfig, status_patch
from node.runtime.cri_runtime.host import NotReady

READY = "Ready"
_, _HEALTHY_STATUS, _HEALTHY_REASON, _HEALTHY_MESSAGE = next(
    c for c in HEALTHY_CONDITIONS if c[0] == READY
)


def _posted_ready(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == READY:
            return dict(cond)
    return None


def _is(cond: Mapping[str, Any] | None, not_ready: NotReady) -> bool:
    return (
        cond is not None
        and cond.get("status") == "False"
        and cond.get("reason") == not_ready.reason
        and cond.get("message") == not_ready.message
    )


def node_status_patch(
    config: NodeConfig,
    node: Mapping[str, Any],
    now: str,
    report_interval: float,
    not_ready: NotReady | None,
) -> dict[str, Any] | None:
    """:func:`node.nodestatus.status_patch`, with Ready=False while ``not_ready``."""
    if not_ready is None:
        return status_patch(config, node, now, report_interval)
    posted = _posted_ready(node)
    view: Mapping[str, Any] = node
    if _is(posted, not_ready):
        status = dict(node.get("status") or {})
        healthy = {
            **(posted or {}),
            "status": _HEALTHY_STATUS,
            "reason": _HEALTHY_REASON,
            "message": _HEALTHY_MESSAGE,
        }
        status["conditions"] = [
            healthy if c.get("type") == READY else c for c in status.get("conditions") or ()
        ]
        view = {**node, "status": status}
    patch = status_patch(config, view, now, report_interval)
    if patch is None:
        return None
    was_false = posted is not None and posted.get("status") == "False"
    for cond in patch["status"].get("conditions") or ():
        if cond.get("type") == READY:
            cond["status"] = "False"
            cond["reason"] = not_ready.reason
            cond["message"] = not_ready.message
            if was_false and posted is not None and posted.get("lastTransitionTime"):
                cond["lastTransitionTime"] = posted["lastTransitionTime"]
            else:
                cond["lastTransitionTime"] = now
    return patch
