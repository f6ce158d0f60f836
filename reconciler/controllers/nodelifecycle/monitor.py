"""The node health monitor: the periodic half of Kubernetes' node lifecycle controller.

Unlike the other controllers this one is not driven by events: silence is what it looks
for, so it polls. Every ``node-monitor-period`` it walks all nodes (``monitorNodeHealth``):

1. probe timestamps advance when a node's Lease or Ready heartbeat changed
   (:class:`~.health.HealthTracker`); a node silent for longer than the grace period
   gets its conditions set to Unknown through ``nodes/status``;
2. a node whose Ready is False or Unknown is queued in its zone's
   :class:`~.zones.TaintQueue` for the not-ready / unreachable NoExecute taint (the two
   are swapped at once when the node moves between them); a Ready node loses both;
3. a node that just stopped being Ready has its pods marked not Ready (so Services drop
   them) and gets a ``NodeNotReady`` event;
4. the zone states and tainting rates are recomputed (:meth:`~.zones.Zones.handle_disruption`).

Between passes, every ``eviction_period`` the zone queues are tried, which is where the
rate limit applies (``doNoExecuteTaintingPass``). Both run in one task, one after the
other, so a pass never sees a half-updated zone. Evicting the pods of a tainted node is
the separate :mod:`.eviction` controller's job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kctl.api import errors
from kctl.client.http import ConnectionFailed
from kctl.client.informer import BY_NODE_NAME, Informer
from kctl.client.leaderelection import NotLeader
from kctl.client.resources import NODES
from reconciler.controller import ControllerContext
from reconciler.controllers.nodelifecycle import writes
from reconciler.controllers.nodelifecycle.health import HealthTracker, mark_unknown
from reconciler.controllers.nodelifecycle.nodes import (
    excluded_from_disruption,
    name_of,
    ready_status,
    zone_key,
)
from reconciler.controllers.nodelifecycle.settings import LifecycleSettings
from reconciler.controllers.nodelifecycle.taints import (
    NOT_READY_NO_EXECUTE,
    UNREACHABLE_NO_EXECUTE,
    Taint,
    has_taint,
    node_taints,
)
from reconciler.controllers.nodelifecycle.zones import Zones

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
LEASE_NAMESPACE = "kube-node-lease"
COMPONENT = "node-controller"
_EXPECTED = (errors.ApiError, ConnectionFailed, NotLeader)


class NodeMonitor:
    name = "nodelifecycle-monitor"

    def __init__(
        self,
        ctx: ControllerContext,
        settings: LifecycleSettings,
        nodes: Informer,
        leases: Informer,
        pods: Informer,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.nodes, self.leases, self.pods = nodes, leases, pods
        self.health = HealthTracker()
        self.zones = Zones(settings.policy, ctx.clock)
        self.recorder = ctx.recorder(COMPONENT)
        self._known: set[str] = set()
        self._retry_not_ready: set[str] = set()

    async def run(self) -> None:
        await self.ctx.informers.wait_synced()
        loop = asyncio.get_running_loop()
        next_monitor = loop.time()
        while True:
            if loop.time() >= next_monitor:
                next_monitor = loop.time() + self.settings.monitor_period
                await self._guarded("monitor pass", self.monitor_once)
            await self._guarded("taint pass", self.taint_pass)
            wait = min(self.settings.eviction_period, next_monitor - loop.time())
            await asyncio.sleep(max(0.0, wait))

    @staticmethod
    async def _guarded(what: str, step: Callable[[], Awaitable[None]]) -> None:
        try:
            await step()
        except _EXPECTED as exc:
            log.warning("node lifecycle %s: %s", what, exc)
        except Exception:
            log.exception("node lifecycle %s failed", what)

    # --- the monitor pass ------------------------------------------------------------

    async def monitor_once(self) -> None:
        nodes = self.nodes.store.list()
        await self._classify(nodes)
        ready_by_zone: dict[str, list[str | None]] = defaultdict(list)
        for cached in nodes:
            try:
                node, observed, current = await self._update_health(cached)
            except _EXPECTED as exc:
                log.warning("node %s: health update failed, skipped: %s", name_of(cached), exc)
                continue
            if node is None:
                continue  # deleted meanwhile
            if not excluded_from_disruption(node):
                ready_by_zone[zone_key(node)].append(current)
            if current is not None:
                await self._per_node(node, observed, current)
        outcome = self.zones.handle_disruption(ready_by_zone)
        if outcome.entered_full_disruption:
            for node in nodes:
                await self._mark_reachable(node)
        if outcome.left_full_disruption:
            self.health.reset_probes(self.ctx.clock())

    async def _classify(self, nodes: list[dict[str, Any]]) -> None:
        names = {name_of(n) for n in nodes}
        for node in nodes:
            name = name_of(node)
            if name in self._known:
                continue
            self._known.add(name)
            self.zones.queue(zone_key(node))
            self.recorder.event(node, "Normal", "RegisteredNode", f"Registered Node {name} in Controller")
            await self._mark_reachable(node)
        for name in self._known - names:
            self._known.discard(name)
            self.health.forget(name)
            self._retry_not_ready.discard(name)
            for queue in self.zones.queues.values():
                queue.remove(name)
            ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
            self.recorder.event(ref, "Normal", "RemovingNode", f"Removing Node {name} from Controller")

    async def _update_health(self, node: Obj) -> tuple[Obj | None, str, str | None]:
        """``tryUpdateNodeHealth``: (the node as now stored, the Ready status observed --
        Unknown if never reported --, the Ready status after this controller's update);
        conflicts re-read the node."""
        name = name_of(node)
        lease = self.leases.store.get(f"{LEASE_NAMESPACE}/{name}")
        for _ in range(writes.RETRIES):
            current = ready_status(node)
            observed = current or "Unknown"
            grace = (
                self.settings.grace_period
                if current is not None
                else self.settings.startup_grace_period
            )
            now = self.ctx.clock()
            probe = self.health.observe(name, node, lease, now)
            conditions = mark_unknown(node, now) if now > probe + grace else None
            if conditions is None:
                return node, observed, current
            try:
                stored = await writes.write_conditions(self.ctx.client, node, conditions)
            except errors.NotFound:
                return None, observed, current
            except errors.Conflict:
                try:
                    node = await self.ctx.client.get(NODES, name)
                except errors.NotFound:
                    return None, observed, current
                continue
            log.info("node %s: no heartbeat for %.0fs, conditions set to Unknown", name, now - probe)
            self.health.saw_own_write(name, stored)
            return stored, observed, ready_status(stored)
        raise errors.conflict("nodes", "", name, "status kept conflicting")

    async def _per_node(self, node: Obj, observed: str, current: str) -> None:
        name = name_of(node)
        try:
            # As Kubernetes: the taint follows the status seen at the start of the pass, so
            # a node this pass just marked Unknown is queued for tainting on the next one.
            await self._taint_based_eviction(node, observed)
            if current != "True" and observed == "True":
                self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
                await self._mark_pods_not_ready(name)
            elif name in self._retry_not_ready and observed != "True":
                await self._mark_pods_not_ready(name)
            self._retry_not_ready.discard(name)
        except _EXPECTED as exc:
            self._retry_not_ready.add(name)
            log.warning("node %s: %s", name, exc)

    async def _taint_based_eviction(self, node: Obj, status: str) -> None:
        """``processTaintBaseEviction``."""
        if status == "True":
            await self._mark_reachable(node)
            return
        if status == "False":
            wanted, opposite = NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE
        else:
            wanted, opposite = UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE
        taints = node_taints(node)
        if has_taint(taints, opposite):  # swap at once: the node is already tainted
            await writes.update_taints(self.ctx.client, node, [wanted], [opposite], self.ctx.clock)
            return
        queue = self.zones.queue(zone_key(node))
        if not has_taint(taints, wanted):
            queue.remove(name_of(node))  # taint lost or never added: queue it again
        queue.add(name_of(node))

    async def _mark_reachable(self, node: Obj) -> None:
        taints: list[Taint] = [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE]
        if any(has_taint(node_taints(node), t) for t in taints):
            await writes.update_taints(self.ctx.client, node, [], taints, self.ctx.clock)
            log.info("node %s: healthy again, NoExecute taints removed", name_of(node))
        self.zones.queue(zone_key(node)).remove(name_of(node))

    async def _mark_pods_not_ready(self, name: str) -> None:
        now = self.ctx.clock()
        for pod in self.pods.store.by_index(BY_NODE_NAME, name):
            if await writes.mark_pod_not_ready(self.ctx.client, pod, now):
                self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    # --- the tainting pass -----------------------------------------------------------

    async def taint_pass(self) -> None:
        for queue in list(self.zones.queues.values()):
            await queue.try_process(self._taint)

    async def _taint(self, name: str) -> tuple[bool, float]:
        node = self.nodes.store.get(name)
        if node is None:
            return True, 0.0
        status = ready_status(node)
        if status == "False":
            wanted, opposite = NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE
        elif status == "Unknown":
            wanted, opposite = UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE
        else:
            return True, 0.0  # ready again (or never reported): nothing to taint
        try:
            await writes.update_taints(self.ctx.client, node, [wanted], [opposite], self.ctx.clock)
        except _EXPECTED as exc:
            log.warning("node %s: tainting failed: %s", name, exc)
            return False, self.settings.eviction_period
        log.info("node %s: Ready is %s, tainted %s:NoExecute", name, status, wanted["key"])
        return True, 0.0
