"""The node lifecycle controller's writes to Nodes and Pods, with their retry rules.

Taints live in ``spec.taints``, a list the API replaces as a whole, so a taint change is
a merge patch of the full list guarded by the node's resourceVersion: a concurrent
writer (the node agent, a user's ``kctl taint``) makes it fail with Conflict, and the
change is recomputed from a fresh read instead of overwriting theirs
(``SwapNodeControllerTaint``). Condition changes go through ``nodes/status`` the same
way. Pod evictions add the ``DisruptionTarget`` condition first, then delete with a uid
precondition so a new pod that reuses the name is never hit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.resources import NODES, PODS
from reconciler.controllers.nodelifecycle.nodes import rfc3339
from reconciler.controllers.nodelifecycle.taints import node_taints, swap_taints

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
RETRIES = 5


def _md(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


async def update_taints(
    client: AsyncClient,
    node: Obj,
    add: Iterable[Obj],
    remove: Iterable[Obj],
    clock: Callable[[], float],
) -> bool:
    """Add and remove taints on ``node`` (a cached copy, re-read on conflict); False if
    the node is gone. Raises Conflict when the write kept conflicting."""
    add, remove = list(add), list(remove)
    current: Obj = node
    name = str(_md(node).get("name"))
    for _ in range(RETRIES):
        taints = swap_taints(node_taints(current), add, remove, clock())
        if taints is None:
            return True
        patch = {
            "metadata": {"resourceVersion": _md(current).get("resourceVersion")},
            "spec": {"taints": taints},
        }
        try:
            await client.patch(NODES, name, patch)
            return True
        except errors.NotFound:
            return False
        except errors.Conflict:
            try:
                current = await client.get(NODES, name)
            except errors.NotFound:
                return False
    raise errors.conflict("nodes", "", name, f"taints still conflicting after {RETRIES} tries")


async def write_conditions(client: AsyncClient, node: Obj, conditions: list[dict[str, Any]]) -> Obj:
    """PUT ``nodes/status`` with ``conditions`` at the node's resourceVersion; returns
    the stored node (raises Conflict / NotFound for the caller's retry policy)."""
    body = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": dict(_md(node)),
        "spec": node.get("spec") or {},
        "status": {**(node.get("status") or {}), "conditions": conditions},
    }
    stored: Obj = await client.replace(NODES, body, subresource="status")
    return stored


DISRUPTION_TARGET = "DisruptionTarget"


async def delete_pod(
    client: AsyncClient,
    pod: Obj,
    *,
    reason: str,
    message: str,
    now: float,
    grace_period_seconds: int | None = None,
    fail: bool = False,
) -> bool:
    """Mark ``pod`` with a DisruptionTarget condition (and phase Failed if ``fail``),
    then delete it; False if it was already gone or replaced."""
    md = _md(pod)
    name, ns, uid = str(md.get("name")), str(md.get("namespace")), str(md.get("uid"))
    status: dict[str, Any] = {
        "conditions": [
            {
                "type": DISRUPTION_TARGET,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": rfc3339(now),
            }
        ]
    }
    if fail:
        status["phase"] = "Failed"
    try:
        await client.patch(
            PODS,
            name,
            {"metadata": {"uid": uid}, "status": status},
            ns,
            patch_type="strategic",
            subresource="status",
        )
    except errors.NotFound:
        return False
    except errors.ApiError as exc:  # the condition is informative; the deletion is what counts
        log.info("pod %s/%s: could not add %s: %s", ns, name, DISRUPTION_TARGET, exc)
    try:
        await client.delete(
            PODS, name, ns, grace_period_seconds=grace_period_seconds, preconditions={"uid": uid}
        )
    except (errors.NotFound, errors.Conflict):
        return False
    return True


async def mark_pod_not_ready(client: AsyncClient, pod: Obj, now: float) -> bool:
    """Set the pod's Ready condition to False (``MarkPodsNotReady``), so Services stop
    sending it traffic; False when there was nothing to change or the pod is gone."""
    ready = next(
        (c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"),
        None,
    )
    if ready is None or ready.get("status") == "False":
        return False
    md = _md(pod)
    cond = {**ready, "status": "False", "lastTransitionTime": rfc3339(now)}
    try:
        await client.patch(
            PODS,
            str(md.get("name")),
            {"status": {"conditions": [cond]}},
            str(md.get("namespace")),
            patch_type="strategic",
            subresource="status",
        )
    except errors.NotFound:
        return False
    return True
