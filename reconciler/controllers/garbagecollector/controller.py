"""The garbage collector: deletes objects whose owners are gone, honours the
Background, Foreground and Orphan propagation policies of a DELETE.

One informer per deletable, watchable kind feeds the :class:`~.graph.Graph`; the
graph says which uids may need work and the work queue (keys are uids) holds them.
A worker syncs one uid as ``attemptToDeleteItem``/``attemptToOrphan`` do:

* a *virtual* node (an owner no informer has shown) is looked up in the API; if it is
  absent, it leaves the graph and its dependents are synced;
* an owner being deleted with the ``orphan`` finalizer has the references to it
  removed from all its dependents, then loses the finalizer;
* an owner in foreground deletion loses ``foregroundDeletion`` once no dependent with
  ``blockOwnerDeletion`` is left (its dependents are synced, and deleted, meanwhile);
* a dependent whose owners are all gone is deleted (see :mod:`.propagation`).

The cache is trusted for presence, never for absence: an owner that the cache lacks is
gone only once a live GET answers NotFound, or returns another object (another uid)
under its name. Confirmed absences are remembered (uids are never reused), so many
dependents of one deleted owner cost one GET. Every write is pinned to what it was
computed from: deletes carry a uid (and resourceVersion) precondition, patches a
resourceVersion.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.client import resources
from kctl.client.discovery import ResourceMap, discover
from kctl.client.http import ConnectionFailed
from kctl.client.informer import Informer
from reconciler.controller import ControllerContext, QueueController, SyncError
from reconciler.controllers.garbagecollector import propagation
from reconciler.controllers.garbagecollector.graph import (
    FOREGROUND,
    ORPHAN,
    Graph,
    Identity,
    Node,
    OwnerRef,
    owner_refs,
)
from reconciler.controllers.garbagecollector.propagation import Classified, OwnerState

log = logging.getLogger(__name__)

# kube-controller-manager's defaults: events are never owners worth tracking.
IGNORED_RESOURCES = frozenset({"events", "events.events.k8s.io"})
REQUIRED_VERBS = ("delete", "list", "watch")
ABSENT_CACHE_SIZE = 500
DEFAULT_WORKERS = 20
DEFAULT_DISCOVERY_PERIOD = 30.0

Obj = Mapping[str, Any]


class UnknownKind(SyncError):
    """An ownerReference names a kind the server does not serve (yet)."""


class AbsentOwners:
    """Uids the API confirmed gone, least recently used forgotten first."""

    def __init__(self, size: int = ABSENT_CACHE_SIZE) -> None:
        self.size = size
        self._uids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, uid: object) -> bool:
        if uid in self._uids:
            self._uids.move_to_end(str(uid))
            return True
        return False

    def add(self, uid: str) -> None:
        self._uids[uid] = None
        self._uids.move_to_end(uid)
        while len(self._uids) > self.size:
            self._uids.popitem(last=False)


def collectable(info: ResourceInfo) -> bool:
    return info.resource not in IGNORED_RESOURCES and all(v in info.verbs for v in REQUIRED_VERBS)


class GarbageCollector(QueueController):
    name = "garbagecollector"

    def __init__(self, ctx: ControllerContext) -> None:
        self.workers = ctx.int_option("garbagecollector-workers", DEFAULT_WORKERS)
        super().__init__(ctx)
        self.discovery_period = ctx.float_option(
            "garbagecollector-discovery-period", DEFAULT_DISCOVERY_PERIOD
        )
        self.graph = Graph()
        self.absent = AbsentOwners()
        self.resources = ResourceMap(resources.BUILT_IN)
        self._monitors: dict[str, Informer] = {}
        for info in resources.BUILT_IN:
            if collectable(info):
                self._monitor(info)

    # --- monitors: one informer per kind, feeding the graph --------------------------------

    def _monitor(self, info: ResourceInfo) -> Informer:
        informer = self.ctx.informers.informer(info)
        self._monitors[info.resource] = informer
        informer.add_handler(
            on_add=self._observed,
            on_update=lambda _old, new: self._observed(new),
            on_delete=self._deleted,
        )
        return informer

    def _observed(self, obj: Obj) -> None:
        for uid in self.graph.observe(obj):
            self.queue.add(uid)

    def _deleted(self, obj: Obj) -> None:
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        node = self.graph.get(uid)
        if node is not None and node.dependents:
            self.absent.add(uid)  # the watch saw this uid deleted: it never comes back
        for dep in self.graph.forget(obj):
            self.queue.add(dep)

    async def sync_monitors(self) -> list[Informer]:
        """Discover served kinds; watch the ones not watched yet. Returns the new ones."""
        found = await discover(self.ctx.client)
        self.resources.update(found.resources)
        added = []
        for info in found.resources:
            if collectable(info) and info.resource not in self._monitors:
                log.info("garbage collector: monitoring %s", info.resource)
                added.append(self._monitor(info))
        return added

    async def run(self) -> None:
        try:
            await self.sync_monitors()
        except (errors.ApiError, ConnectionFailed) as exc:
            log.warning("garbage collector: discovery failed (%s); using built-in kinds", exc)
        rediscover = asyncio.create_task(self._rediscover(), name="gc-discovery")
        try:
            await super().run()
        finally:
            rediscover.cancel()
            await asyncio.gather(rediscover, return_exceptions=True)

    async def _rediscover(self) -> None:
        while True:
            await asyncio.sleep(self.discovery_period)
            try:
                await self.sync_monitors()
            except (errors.ApiError, ConnectionFailed) as exc:
                log.debug("garbage collector: discovery failed: %s", exc)

    # --- the work ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        node = self.graph.get(key)
        if node is None:
            return
        if node.virtual:
            await self._check_virtual(node)
            return
        if node.orphaning:
            await self._orphan_dependents(node)
            await self._remove_finalizer(node, ORPHAN)
            return
        if node.deleting_dependents:
            await self._process_deleting_dependents(node)
            return
        if node.being_deleted or not self.graph.has_unsettled_owner(node):
            return
        await self._attempt_to_delete(node)

    async def _check_virtual(self, node: Node) -> None:
        ident = node.identity
        ref = OwnerRef(ident.api_version, ident.kind, ident.name, ident.uid)
        if await self._live_owner_state(ref, ident.namespace) is OwnerState.DANGLING:
            for uid in self.graph.forget_virtual(node.uid):
                self.queue.add(uid)

    async def _process_deleting_dependents(self, node: Node) -> None:
        blocking = self.graph.blocking_dependents(node.uid)
        if not blocking:
            await self._remove_finalizer(node, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add(dep.uid)

    async def _attempt_to_delete(self, node: Node) -> None:
        latest = await self._get_latest(node.identity)
        if latest is None:
            return  # gone already: its watch event updates the graph
        refs = owner_refs(latest)
        if not refs:
            return
        states = [(ref, await self._owner_state(ref, node.identity.namespace)) for ref in refs]
        dependents = self.graph.dependents(node.uid)
        decision = propagation.decide_dependent(
            Classified.of(states),
            _md(latest).get("finalizers") or (),
            has_dependents=bool(dependents),
            dependent_deleting_dependents=any(d.deleting_dependents for d in dependents),
        )
        if isinstance(decision, propagation.RemoveReferences):
            log.info(
                "garbage collector: removing references to owners %s (gone, or in foreground deletion) from %s",
                ", ".join(decision.uids),
                node.identity,
            )
            kept = propagation.without_references(
                _md(latest).get("ownerReferences") or (), decision.uids
            )
            await self._patch_metadata(node.identity, latest, {"ownerReferences": kept or None})
        elif isinstance(decision, propagation.Delete):
            if decision.unblock:
                refs_now = _md(latest).get("ownerReferences") or ()
                unblocked = propagation.unblocked_references(refs_now, decision.unblock)
                latest = await self._patch_metadata(
                    node.identity, latest, {"ownerReferences": unblocked}
                )
            log.info(
                "garbage collector: deleting %s (propagationPolicy %s)",
                node.identity,
                decision.policy,
            )
            await self._delete(node.identity, latest, decision.policy)

    async def _orphan_dependents(self, node: Node) -> None:
        async def release(dep: Node) -> None:
            latest = await self._get_latest(dep.identity)
            if latest is None:
                return
            refs = _md(latest).get("ownerReferences") or ()
            if not any(r.get("uid") == node.uid for r in refs):
                return
            kept = propagation.without_references(refs, (node.uid,))
            await self._patch_metadata(dep.identity, latest, {"ownerReferences": kept or None})

        results = await asyncio.gather(
            *(release(d) for d in self.graph.dependents(node.uid)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    # --- owners ------------------------------------------------------------------------------

    async def _owner_state(self, ref: OwnerRef, namespace: str) -> OwnerState:
        owner = self.graph.get(ref.uid)
        if owner is not None and not owner.virtual:
            return OwnerState.WAITING if owner.deleting_dependents else OwnerState.SOLID
        return await self._live_owner_state(ref, namespace)

    async def _live_owner_state(self, ref: OwnerRef, namespace: str) -> OwnerState:
        """Ask the API about an owner the cache does not have."""
        if ref.uid in self.absent:
            return OwnerState.DANGLING
        info = self._info(ref.api_version, ref.kind)
        if info.namespaced and not namespace:
            # A cluster-scoped dependent cannot have a namespaced owner: unresolvable.
            state = OwnerState.DANGLING
        else:
            try:
                live = await self.ctx.client.get(info, ref.name, namespace or None)
            except errors.NotFound:
                live = None
            state = propagation.owner_state(live, ref)
        if state is OwnerState.DANGLING:
            self.absent.add(ref.uid)
        return state

    # --- API access ----------------------------------------------------------------------------

    def _info(self, api_version: str, kind: str) -> ResourceInfo:
        info = self.resources.lookup(api_version, kind)
        if info is None:
            raise UnknownKind(f"no resource is served for {kind} in {api_version}")
        return info

    async def _get_latest(self, ident: Identity) -> dict[str, Any] | None:
        """The object from the API, or None if it is gone (or another uid has its name)."""
        info = self._info(ident.api_version, ident.kind)
        try:
            obj: dict[str, Any] = await self.ctx.client.get(
                info, ident.name, ident.namespace or None
            )
        except errors.NotFound:
            return None
        return obj if _md(obj).get("uid") == ident.uid else None

    async def _patch_metadata(
        self, ident: Identity, latest: Obj, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """A merge patch of ``metadata`` pinned to ``latest``'s resourceVersion."""
        info = self._info(ident.api_version, ident.kind)
        patch = {"metadata": {**changes, "resourceVersion": _md(latest).get("resourceVersion")}}
        try:
            result: dict[str, Any] = await self.ctx.client.patch(
                info, ident.name, patch, ident.namespace or None, patch_type="merge"
            )
        except errors.NotFound:
            return dict(latest)
        return result

    async def _delete(self, ident: Identity, latest: Obj, policy: str) -> None:
        """Delete pinned to uid and resourceVersion; if only the resourceVersion moved and
        the ownerReferences are unchanged, retry pinned to the uid alone (as the GC does)."""
        info = self._info(ident.api_version, ident.kind)
        ns = ident.namespace or None
        pinned = {
            "uid": ident.uid,
            "resourceVersion": str(_md(latest).get("resourceVersion") or ""),
        }
        try:
            await self.ctx.client.delete(
                info, ident.name, ns, propagation_policy=policy, preconditions=pinned
            )
            return
        except errors.NotFound:
            return
        except errors.Conflict:
            live = await self._get_latest(ident)
            if live is None:
                return
            if _md(live).get("ownerReferences") != _md(latest).get("ownerReferences"):
                raise
        try:
            await self.ctx.client.delete(
                info, ident.name, ns, propagation_policy=policy, preconditions={"uid": ident.uid}
            )
        except errors.NotFound:
            return

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        latest = await self._get_latest(node.identity)
        if latest is None:
            return
        finalizers = list(_md(latest).get("finalizers") or ())
        if finalizer not in finalizers:
            return
        kept = [f for f in finalizers if f != finalizer]
        log.info("garbage collector: removing finalizer %s from %s", finalizer, node.identity)
        await self._patch_metadata(node.identity, latest, {"finalizers": kept or None})


def _md(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}
