"""The node IPAM controller: every Node gets its own pod CIDR (``spec.podCIDR(s)``).

Kubernetes' range allocator, as an API client. The used set lives in memory only, so it
is rebuilt before the first allocation: after the informers have synced, every node's
existing ``podCIDRs`` are marked used, and only then are handlers attached (they see
each cached node once as an add). From there on:

* a node with CIDRs marks them used (idempotent; the echo of our own patch lands here);
* a node without gets the next free block of each cluster CIDR, written with a merge
  patch of ``spec.podCIDR``/``spec.podCIDRs`` at the resourceVersion just read -- a
  node's pod CIDR never changes once set, so a node that meanwhile got one keeps it
  and the block we picked goes back to the pool;
* a deleted node's blocks are released, and nodes that were waiting on a full range
  (event ``CIDRNotAvailable``) are retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.client.http import ConnectionFailed
from kctl.client.informer import Informer
from kctl.client.resources import NODES
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers.nodeipam import config
from reconciler.controllers.nodeipam.cidrset import CidrAllocator, CidrError, CidrsExhausted

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
COMPONENT = "cidrAllocator"
CONFIG_RETRY = 2.0


def pod_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return [str(c) for c in cidrs]


def _name(node: Obj) -> str:
    return str((node.get("metadata") or {}).get("name") or "")


class NodeIpam(QueueController):
    name = "nodeipam"
    workers = 1  # patches are cheap and rare; one worker keeps allocation order simple

    def __init__(self, ctx: ControllerContext, nodes: Informer) -> None:
        super().__init__(ctx)
        self.nodes = nodes
        self.recorder = ctx.recorder(COMPONENT)
        self.allocator: CidrAllocator | None = None
        self._waiting: set[str] = set()  # nodes that found the range full

    async def run(self) -> None:
        await self.ctx.informers.wait_synced()
        settings = await self._load_settings()
        self.allocator = CidrAllocator(settings.cluster_cidrs, settings.masks)
        log.info(
            "allocating pod CIDRs from %s (node masks %s)",
            ",".join(map(str, settings.cluster_cidrs)),
            settings.masks,
        )
        for node in self.nodes.store.list():
            self._occupy(node)
        self.nodes.add_handler(
            on_add=self._node_seen,
            on_update=self._node_updated,
            on_delete=self._node_deleted,
        )
        await super().run()

    async def _load_settings(self) -> config.IpamSettings:
        while True:
            try:
                return await config.load(self.ctx.client, self.ctx.options)
            except (ConnectionFailed, errors.ApiError) as exc:
                log.warning("nodeipam: reading the cluster CIDR: %s; retrying", exc)
                await asyncio.sleep(CONFIG_RETRY)

    # --- handlers (cheap: in-memory bookkeeping or an enqueue) -------------------------

    def _occupy(self, node: Obj) -> None:
        assert self.allocator is not None
        try:
            self.allocator.occupy(pod_cidrs(node))
        except CidrError as exc:
            log.warning("node %s: pod CIDRs %s not tracked: %s", _name(node), pod_cidrs(node), exc)

    def _node_seen(self, node: Obj) -> None:
        if pod_cidrs(node):
            self._occupy(node)
        else:
            self.enqueue(node)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if pod_cidrs(old) and pod_cidrs(old) != pod_cidrs(new):
            self._release(old)
        self._node_seen(new)

    def _node_deleted(self, node: Obj) -> None:
        self._waiting.discard(_name(node))
        if pod_cidrs(node):
            self._release(node)
            for name in self._waiting:
                self.enqueue(name)

    def _release(self, node: Obj) -> None:
        assert self.allocator is not None
        try:
            self.allocator.release(pod_cidrs(node))
        except CidrError:
            pass  # never ours to give out

    # --- sync ----------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None or pod_cidrs(node) or self.allocator is None:
            return
        try:
            cidrs = self.allocator.allocate()
        except CidrsExhausted as exc:
            if key not in self._waiting:
                log.warning("node %s: %s", key, exc)
                self._waiting.add(key)
            self.recorder.event(node, "Normal", "CIDRNotAvailable", f"Node {key} status is now: CIDRNotAvailable")
            return
        self._waiting.discard(key)
        assigned = False
        try:
            assigned = await self._assign(key, cidrs)
        finally:
            if not assigned:
                self.allocator.release(cidrs)

    async def _assign(self, name: str, cidrs: list[str]) -> bool:
        """Write ``cidrs`` to the node unless it is gone or already has CIDRs."""
        try:
            node = await self.ctx.client.get(NODES, name)
        except errors.NotFound:
            return False
        if pod_cidrs(node):
            self._occupy(node)
            return False
        patch = {
            "metadata": {"resourceVersion": (node.get("metadata") or {}).get("resourceVersion")},
            "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs},
        }
        try:
            await self.ctx.client.patch(NODES, name, patch)
        except errors.NotFound:
            return False
        except (errors.Invalid, errors.Forbidden, errors.BadRequest):
            self.recorder.event(
                node, "Normal", "CIDRAssignmentFailed", f"Node {name} status is now: CIDRAssignmentFailed"
            )
            raise
        log.info("node %s: pod CIDRs %s", name, ",".join(cidrs))
        return True
