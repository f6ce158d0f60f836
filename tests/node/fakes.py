"""Test doubles for the node agent's API side: an informer fed by hand, a recording client."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from kctl.api import errors
from kctl.client.informer import Indexer, object_key

Obj = dict[str, Any]


class FakeInformer:
    """The part of :class:`kctl.client.informer.Informer` the agent uses, fed by :meth:`emit`."""

    def __init__(self) -> None:
        self.store = Indexer()
        self._handlers: list[tuple[Callable[..., None] | None, ...]] = []

    def add_indexers(self, indexers: dict[str, Any]) -> None:
        self.store.add_indexers(indexers)

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))

    async def wait_synced(self) -> None:
        return None

    def emit(self, kind: str, obj: Obj) -> None:
        key = object_key(obj)
        if kind == "DELETED":
            self.store.delete(key)
            for _, _, on_delete in self._handlers:
                if on_delete:
                    on_delete(obj)
            return
        old = self.store.upsert(key, obj)
        for on_add, on_update, _ in self._handlers:
            if old is None and on_add:
                on_add(obj)
            elif old is not None and on_update:
                on_update(old, obj)


class RecordingClient:
    """Records writes; status patches are applied to the informer like a watch would."""

    def __init__(self, informer: FakeInformer | None = None) -> None:
        self.informer = informer
        self.calls: list[tuple[str, Any]] = []
        self.missing: set[str] = set()  # names answered with NotFound

    async def patch(
        self, info: Any, name: str, patch: Obj, namespace: str | None = None, **kw: Any
    ) -> Obj:
        self.calls.append(("patch", {"name": name, "namespace": namespace, "patch": patch, **kw}))
        if name in self.missing:
            raise errors.NotFound(f'pods "{name}" not found')
        await asyncio.sleep(0)
        if self.informer is not None:
            current = self.informer.store.get(f"{namespace}/{name}")
            if current is not None:
                updated = copy.deepcopy(current)
                updated.setdefault("status", {}).update(
                    {k: v for k, v in patch["status"].items() if v is not None}
                )
                self.informer.emit("MODIFIED", updated)
                return updated
        return {}

    async def delete(self, info: Any, name: str, namespace: str | None = None, **kw: Any) -> Obj:
        self.calls.append(("delete", {"name": name, "namespace": namespace, **kw}))
        return {}

    def of(self, verb: str) -> list[Any]:
        return [args for v, args in self.calls if v == verb]
