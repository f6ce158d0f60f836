"""The in-memory cache of current objects that serves every get and list.

Reads never touch the database: the feed applies each committed event here, in revision
order, on the event loop thread (the only thread that reads or writes the cache, so no
locks). Entries are indexed per resource and per (resource, namespace); a list is
returned sorted by (namespace, name), like etcd's key order, and that sorted list is
kept until the next change to its resource, so repeated lists of 10,000 objects cost a
copy, not a sort.
"""

from __future__ import annotations

from kctl.store.codec import DELETED
from kctl.store.types import Entry, Event, Key


def _order(entry: Entry) -> tuple[str, str]:
    return entry.key.namespace, entry.key.name


class ObjectCache:
    def __init__(self) -> None:
        self._by_resource: dict[str, dict[Key, Entry]] = {}
        self._by_namespace: dict[tuple[str, str], dict[Key, Entry]] = {}
        self._sorted: dict[tuple[str, str | None], list[Entry]] = {}

    def __len__(self) -> int:
        return sum(len(d) for d in self._by_resource.values())

    def get(self, key: Key) -> Entry | None:
        entries = self._by_resource.get(key.resource)
        return entries.get(key) if entries is not None else None

    def put(self, entry: Entry) -> Entry | None:
        key = entry.key
        previous = self._by_resource.setdefault(key.resource, {}).get(key)
        self._by_resource[key.resource][key] = entry
        self._by_namespace.setdefault((key.resource, key.namespace), {})[key] = entry
        self._invalidate(key)
        return previous

    def remove(self, key: Key) -> Entry | None:
        entries = self._by_resource.get(key.resource)
        previous = entries.pop(key, None) if entries is not None else None
        ns = self._by_namespace.get((key.resource, key.namespace))
        if ns is not None:
            ns.pop(key, None)
            if not ns:
                del self._by_namespace[(key.resource, key.namespace)]
        self._invalidate(key)
        return previous

    def apply(self, event: Event) -> Entry | None:
        """Apply one committed event; returns the entry it replaces (or removes)."""
        if event.type == DELETED:
            return self.remove(event.entry.key)
        return self.put(event.entry)

    def list(self, resource: str, namespace: str | None = None) -> list[Entry]:
        """The current entries, sorted by (namespace, name); a fresh list."""
        slot = (resource, namespace)
        cached = self._sorted.get(slot)
        if cached is None:
            if namespace is None:
                source = self._by_resource.get(resource)
            else:
                source = self._by_namespace.get((resource, namespace))
            cached = sorted(source.values(), key=_order) if source else []
            self._sorted[slot] = cached
        return list(cached)

    def clear(self) -> None:
        self._by_resource.clear()
        self._by_namespace.clear()
        self._sorted.clear()

    def _invalidate(self, key: Key) -> None:
        if self._sorted:
            self._sorted.pop((key.resource, None), None)
            self._sorted.pop((key.resource, key.namespace), None)
