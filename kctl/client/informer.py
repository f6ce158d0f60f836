"""Informers: a local, indexed, always-current copy of one resource type.

Every controller in a process reads the cluster through these caches rather than the
API server, as client-go's shared informers do:

* **List, then watch.** An informer lists the type, replaces its cache with the answer,
  then watches from the list's resourceVersion, so no change falls between the two. A
  watch that ends (server timeout) resumes from the last seen resourceVersion; a watch
  that is too old (410 Gone) or fails relists. Bookmarks advance the resourceVersion.
* **Handlers.** ``on_add``/``on_update``/``on_delete`` run on the event loop after the
  cache has changed; they should only enqueue keys. A relist calls them for what
  changed while the watch was down (deletes included), and a resync (optional period)
  calls ``on_update(obj, obj)`` for everything, so level-triggered controllers recover
  from any missed work.
* **Indexes.** The cache (:class:`Indexer`) keeps secondary indexes -- by namespace,
  owner uid, node name, or any function -- so "the pods of this ReplicaSet" is a
  lookup, not a scan.
* **Sharing.** :class:`InformerFactory` hands every controller of a process the same
  informer per (type, namespace, selectors): one list+watch and one copy of each object.
  Cached objects are shared: never mutate them.
* **Memory.** Before an object is cached its ``managedFields`` are dropped (as
  client-go's transform does), its short strings are interned and its parts equal to
  those of the previous object are shared (:mod:`kctl.client.interning`): 10,000 pods
  of one template hold its containers, tolerations and labels once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.client.http import AsyncClient, ConnectionFailed
from kctl.client.interning import Compactor

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], Iterable[str]]
AddHandler = Callable[[Obj], None]
UpdateHandler = Callable[[Obj, Obj], None]
DeleteHandler = Callable[[Obj], None]

BY_NAMESPACE = "namespace"
BY_OWNER_UID = "owner-uid"
BY_NODE_NAME = "node-name"

WATCH_TIMEOUT_RANGE = (300, 600)  # seconds, randomised like client-go's minWatchTimeout..2x
RETRY_INITIAL = 0.5
RETRY_MAX = 30.0


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` for namespaced objects, ``name`` for cluster-scoped ones."""
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{ns}/{md.get('name', '')}" if ns else str(md.get("name", ""))


def split_key(key: str) -> tuple[str | None, str]:
    """``(namespace, name)`` from an :func:`object_key`."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def index_by_namespace(obj: Obj) -> Iterable[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return (ns,) if ns else ()


def index_by_owner_uid(obj: Obj) -> Iterable[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return [str(ref["uid"]) for ref in refs if ref.get("uid")]


def index_by_node_name(obj: Obj) -> Iterable[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return (node,) if node else ()


STANDARD_INDEXES: dict[str, IndexFunc] = {
    BY_NAMESPACE: index_by_namespace,
    BY_OWNER_UID: index_by_owner_uid,
    BY_NODE_NAME: index_by_node_name,
}


class Indexer:
    """Objects by key, plus secondary indexes (index name -> value -> keys)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._funcs: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self.add_indexers(indexers or {})

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes (existing objects are indexed at once). Re-adding a name with
        the same function is a no-op; with another function, an error."""
        for name, func in indexers.items():
            known = self._funcs.get(name)
            if known is not None:
                if known is not func:
                    raise ValueError(f"index {name!r} already exists with another function")
                continue
            self._funcs[name] = func
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in func(obj):
                    index.setdefault(value, set()).add(key)
            self._indices[name] = index

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def keys(self) -> list[str]:
        return list(self._items)

    def by_index(self, index_name: str, value: str) -> list[Obj]:
        keys = self._indices[index_name].get(value, ())
        return [self._items[k] for k in keys]

    def index_keys(self, index_name: str, value: str) -> list[str]:
        return list(self._indices[index_name].get(value, ()))

    def upsert(self, key: str, obj: Obj) -> Obj | None:
        """Store ``obj``; returns the previous object under ``key``, if any."""
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name, func in self._funcs.items():
            index = self._indices[name]
            for value in func(obj):
                index.setdefault(value, set()).add(key)
        return old

    def delete(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, func in self._funcs.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    # Defined last: inside this class body the name ``list`` is the method.
    def list(self) -> list[Obj]:
        return list(self._items.values())


@dataclass(frozen=True)
class _Handler:
    on_add: AddHandler | None
    on_update: UpdateHandler | None
    on_delete: DeleteHandler | None


def _resource_version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Informer:
    """List+watch of one resource type into an :class:`Indexer`, with event handlers."""

    def __init__(
        self,
        client: AsyncClient,
        info: ResourceInfo,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resync_period: float = 0.0,
        strip_managed_fields: bool = True,
        compact: bool = True,
    ) -> None:
        self.client = client
        self.info = info
        self.strip_managed_fields = strip_managed_fields
        self._compactor = Compactor() if compact else None
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.store = Indexer({BY_NAMESPACE: index_by_namespace})
        self.last_sync_resource_version = ""
        self._handlers: list[_Handler] = []
        self._synced = asyncio.Event()

    def __repr__(self) -> str:
        return f"Informer({self.info.resource})"

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def add_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        """Register handlers; a handler added after the first list is told about every
        object already cached (as ``on_add``)."""
        handler = _Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self._synced.is_set() and on_add is not None:
            for obj in self.store.list():
                self._call(on_add, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # --- running ----------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled, relisting after failures with backoff."""
        delay = RETRY_INITIAL
        resync = asyncio.create_task(self._resync_loop()) if self.resync_period > 0 else None
        try:
            while True:
                try:
                    await self._list()
                    delay = RETRY_INITIAL
                    await self._watch_until_gone()
                except errors.Gone:
                    log.info("%s: watch too old, relisting", self)
                    continue
                except (ConnectionFailed, errors.ApiError) as exc:
                    log.warning("%s: %s; retrying in %.1fs", self, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(RETRY_MAX, delay * 2)
        finally:
            if resync is not None:
                resync.cancel()

    async def _list(self) -> None:
        answer = await self.client.list(
            self.info,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        items: list[Obj] = answer.get("items") or []
        self._replace(items)
        self.last_sync_resource_version = str((answer.get("metadata") or {}).get("resourceVersion") or "")
        self._synced.set()

    def _replace(self, items: list[Obj]) -> None:
        fresh: dict[str, Obj] = {}
        for obj in items:
            self._prepare(obj)
            fresh[object_key(obj)] = obj
        for key in self.store.keys():
            if key not in fresh:
                old = self.store.delete(key)
                if old is not None:
                    self._dispatch_delete(old)
        for key, obj in fresh.items():
            old = self.store.get(key)
            if old is not None and _resource_version(old) == _resource_version(obj):
                continue
            self.store.upsert(key, obj)
            self._dispatch_upsert(old, obj)

    async def _watch_until_gone(self) -> None:
        """Watch from the last resourceVersion; reopen after a normal end of stream."""
        while True:
            stream = self.client.watch(
                self.info,
                self.namespace,
                resource_version=self.last_sync_resource_version,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                timeout_seconds=random.randint(*WATCH_TIMEOUT_RANGE),
            )
            async for kind, obj in stream:
                self._apply(kind, obj)

    def _apply(self, kind: str, obj: Obj) -> None:
        rv = _resource_version(obj)
        if kind == "BOOKMARK":
            if rv:
                self.last_sync_resource_version = rv
            return
        self._prepare(obj)
        key = object_key(obj)
        if kind == "DELETED":
            old = self.store.delete(key)
            self._dispatch_delete(old if old is not None else obj)
        elif kind in ("ADDED", "MODIFIED"):
            old = self.store.upsert(key, obj)
            self._dispatch_upsert(old, obj)
        if rv:
            self.last_sync_resource_version = rv

    def _prepare(self, obj: Obj) -> None:
        # Lists carry kind/apiVersion on the list, not on each item: put them back so
        # every cached object is self-describing (ownerReferences, events need them).
        if "kind" not in obj:
            obj["kind"] = self.info.kind
            obj["apiVersion"] = self.info.api_version
        if self.strip_managed_fields:
            # client-go's TransformStripManagedFields, as kube-controller-manager and
            # kube-scheduler use: controllers never read field ownership, and it is often
            # the largest part of an object.
            md = obj.get("metadata")
            if md is not None:
                md.pop("managedFields", None)
        if self._compactor is not None:
            # Cached for the life of the process: repeated strings (namespaces, images,
            # node names) and equal parts (a template's containers) held once.
            self._compactor.compact(obj)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            if not self._synced.is_set():
                continue
            for obj in self.store.list():
                for handler in self._handlers:
                    if handler.on_update is not None:
                        self._call(handler.on_update, obj, obj)

    # --- handler dispatch -------------------------------------------------------------

    def _dispatch_upsert(self, old: Obj | None, new: Obj) -> None:
        for handler in self._handlers:
            if old is None:
                if handler.on_add is not None:
                    self._call(handler.on_add, new)
            elif handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)

    def _call(self, func: Callable[..., None], *args: Obj) -> None:
        try:
            func(*args)
        except Exception:  # one broken handler must not stop the cache
            log.exception("%s: event handler %r failed", self, func)


class InformerFactory:
    """One shared :class:`Informer` per (type, namespace, selectors) in a process."""

    def __init__(self, client: AsyncClient, resync_period: float = 0.0) -> None:
        self.client = client
        self.resync_period = resync_period
        self._informers: dict[tuple[str, str | None, str | None, str | None], Informer] = {}
        self._tasks: dict[Informer, asyncio.Task[None]] = {}
        self._started = False

    def informer(
        self,
        info: ResourceInfo,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
    ) -> Informer:
        key = (info.resource, namespace, label_selector or None, field_selector or None)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(
                self.client,
                info,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                resync_period=self.resync_period,
            )
            self._informers[key] = informer
            if self._started:
                self._launch(informer)
        if indexers:
            informer.add_indexers(indexers)
        return informer

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def _launch(self, informer: Informer) -> None:
        self._tasks[informer] = asyncio.create_task(informer.run(), name=f"informer:{informer.info.resource}")

    async def start(self) -> None:
        """Start every informer made so far (and, from now on, each new one at once)."""
        self._started = True
        for informer in self._informers.values():
            if informer not in self._tasks:
                self._launch(informer)

    async def wait_synced(self, timeout: float | None = None) -> None:
        waits = [i.wait_synced() for i in self._informers.values()]
        await asyncio.wait_for(asyncio.gather(*waits), timeout)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._started = False
