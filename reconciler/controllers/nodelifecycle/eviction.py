"""Taint-based eviction, and the collection of pods whose node is gone.

Keyed by node name, level-triggered: a sync looks at the node's NoExecute taints and
every pod bound to it, deletes the pods that do not tolerate them now (Kubernetes'
taint eviction controller, event ``TaintManagerEviction``), and requeues the node for
the moment the next pod's ``tolerationSeconds`` run out (:func:`~.taints.eviction_time`).
Nothing is remembered between syncs but the first time a taint without ``timeAdded``
was seen, so a restart loses no countdown.

Deleting a pod on a lost node is a normal, graceful deletion; replacements come from
its ReplicaSet at once, since terminating pods do not count as active. A pod bound to a
node that no longer exists would never finish terminating, so it is force-deleted
(grace 0) and marked Failed, as PodGC does with orphaned pods -- after a direct read
confirms the node is really gone, not just missing from a lagging cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.client.informer import BY_NODE_NAME, Informer, object_key
from kctl.client.resources import NODES
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers.nodelifecycle import writes
from reconciler.controllers.nodelifecycle.nodes import rfc3339
from reconciler.controllers.nodelifecycle.taints import Taint, eviction_time, no_execute_taints

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
COMPONENT = "taint-eviction-controller"
TERMINAL_PHASES = ("Succeeded", "Failed")


def _node_of(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


class TaintEviction(QueueController):
    name = "taint-eviction-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, nodes: Informer, pods: Informer) -> None:
        super().__init__(ctx)
        self.nodes, self.pods = nodes, pods
        self.recorder = ctx.recorder(COMPONENT)
        self._first_seen: dict[tuple[str, str], float] = {}  # (node, taint key) -> time
        nodes.add_handler(
            on_add=self._node_changed,
            on_update=lambda old, new: self._node_changed(new, old),
            on_delete=self.enqueue,
        )
        pods.add_handler(on_add=self._pod_changed, on_update=lambda _old, new: self._pod_changed(new))

    def _node_changed(self, node: Obj, old: Obj | None = None) -> None:
        taints = no_execute_taints(node)
        if taints and (old is None or taints != no_execute_taints(old)):
            self.enqueue(node)

    def _pod_changed(self, pod: Obj) -> None:
        node_name = _node_of(pod)
        if not node_name:
            return
        node = self.nodes.store.get(node_name)
        if node is None or no_execute_taints(node):
            self.enqueue(node_name)

    async def sync(self, key: str) -> None:
        node = self.nodes.store.get(key)
        pods = self.pods.store.by_index(BY_NODE_NAME, key)
        if node is None:
            self._stamped(key, [], 0.0)  # forget its taints
            if pods:
                await self._collect_orphans(key, pods)
            return
        now = self.ctx.clock()
        taints = self._stamped(key, no_execute_taints(node), now)
        soonest: float | None = None
        for pod in pods:
            if _terminating(pod):
                continue
            due = eviction_time(taints, (pod.get("spec") or {}).get("tolerations") or [], now)
            if due is None:
                continue
            if due <= now:
                await self._evict(pod, now)
            elif soonest is None or due < soonest:
                soonest = due
        if soonest is not None:
            self.enqueue_after(key, soonest - now)

    def _stamped(self, node: str, taints: list[Taint], now: float) -> list[Taint]:
        """The taints, each with a ``timeAdded`` (first seen here when it has none)."""
        seen = {(node, str(t.get("key"))) for t in taints}
        for entry in [e for e in self._first_seen if e[0] == node and e not in seen]:
            del self._first_seen[entry]
        result = []
        for taint in taints:
            if not taint.get("timeAdded"):
                first = self._first_seen.setdefault((node, str(taint.get("key"))), now)
                taint = {**taint, "timeAdded": rfc3339(first)}
            result.append(taint)
        return result

    async def _evict(self, pod: Obj, now: float) -> None:
        key = object_key(pod)
        self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
        if await writes.delete_pod(
            self.ctx.client,
            pod,
            reason="DeletionByTaintManager",
            message="Taint manager: deleting due to NoExecute taint",
            now=now,
        ):
            log.info("evicted pod %s from tainted node %s", key, _node_of(pod))

    async def _collect_orphans(self, node_name: str, pods: list[dict[str, Any]]) -> None:
        try:
            await self.ctx.client.get(NODES, node_name)
            return  # the cache lags; the node's add event brings it back here
        except errors.NotFound:
            pass
        now = self.ctx.clock()
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            if await writes.delete_pod(
                self.ctx.client,
                pod,
                reason="DeletionByPodGC",
                message="PodGC: node no longer exists",
                now=now,
                grace_period_seconds=0,
                fail=phase not in TERMINAL_PHASES,
            ):
                log.info("force-deleted pod %s: its node %s no longer exists", object_key(pod), node_name)
