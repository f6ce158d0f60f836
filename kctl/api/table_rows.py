"""Table responses from stored bytes, with rows cached per object revision.

``kubectl get pods`` asks for a Table on every call. Building one from scratch decodes
every stored object (1-2 KB of JSON each, half of it ``managedFields``) to compute a
handful of short cells, then encodes the rows again. Stored entries are immutable per
revision, so a row computed once stays right until the object changes, except for the
cells computed from the request's ``now`` (``AGE``, ``RESTARTS 3 (5m ago)``, events'
``LAST SEEN``).

So a :class:`RowCache` keeps, for each (resource, namespace, name), the row of the last
revision it saw, already encoded: the JSON of its cells with each time-dependent cell
left as a :class:`~kctl.api.tables.Since` marker between byte runs, its conditions, and
its ``PartialObjectMetadata`` (without ``managedFields``). A request renders the markers
with its own ``now`` and joins the byte runs; ``includeObject=Object`` splices in the
stored bytes. Nothing decoded is kept: about the size of the encoded row per object.

Rows of objects that no longer exist are dropped when a list shows the whole of a
resource (or namespace) without them, when a watch delivers their deletion, and by a
sweep against the store once the cache has doubled since the last one, so the cache
stays within about twice the live objects whatever the access pattern.

The output is the same as :func:`kctl.api.tables.table_for` on the decoded objects
(which stays for callers without stored entries), byte for byte.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from kctl.api.tables import (
    INCLUDE_METADATA,
    INCLUDE_NONE,
    INCLUDE_OBJECT,
    Printer,
    Since,
    epoch_us,
    printer_for,
    row_metadata,
)

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

MIN_SWEEP = 1024  # never sweep a cache smaller than this


class EntryKey(Protocol):
    @property
    def resource(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...


class StoredEntry(Protocol):
    """What the cache needs of a store entry (:class:`kctl.store.Entry`)."""

    @property
    def key(self) -> EntryKey: ...
    @property
    def revision(self) -> int: ...
    @property
    def value(self) -> bytes: ...


Lookup = Callable[[Any], "StoredEntry | None"]


class CachedRow:
    """One object's row at one revision, encoded.

    ``cells`` is ``{"cells":[...]`` (and ``,"conditions":[...]``) as byte runs with the
    :class:`Since` cells between them; ``meta`` is ``,"object":<PartialObjectMetadata>}``,
    the rest of the row for ``includeObject=Metadata``."""

    __slots__ = ("cells", "key", "meta", "revision")

    def __init__(
        self, key: EntryKey | None, revision: int, cells: tuple[bytes | Since, ...], meta: bytes
    ) -> None:
        self.key = key
        self.revision = revision
        self.cells = cells
        self.meta = meta

    def size(self) -> int:
        """Bytes of encoded content held (for tests and tuning)."""
        return len(self.meta) + sum(
            len(p) if isinstance(p, bytes) else len(p.prefix) + len(p.suffix) + 8
            for p in self.cells
        )


class _ResourceRows:
    """The cached rows of one resource: namespace -> name -> row."""

    __slots__ = ("columns", "namespaces", "printer")

    def __init__(self, printer: Printer) -> None:
        self.printer = printer
        self.columns = orjson.dumps([c.to_dict() for c in printer.columns])
        self.namespaces: dict[str, dict[str, CachedRow]] = {}

    def count(self) -> int:
        return sum(len(rows) for rows in self.namespaces.values())


def encode_row(printer: Printer, key: EntryKey | None, revision: int, obj: Any) -> CachedRow:
    """The cacheable row of a decoded object (``printer.cells`` must be set)."""
    assert printer.cells is not None
    cells = printer.cells(obj)
    # Runs of static cells are encoded a run at a time, the Since cells left between.
    tokens: list[bytes | Since] = []
    start = 0
    for i, cell in enumerate(cells):
        if type(cell) is Since:
            if i > start:
                tokens.append(orjson.dumps(cells[start:i])[1:-1])
            tokens.append(cell)
            start = i + 1
    if start < len(cells):
        tokens.append(orjson.dumps(cells[start:])[1:-1])
    parts: list[bytes | Since] = []
    run = b'{"cells":['
    for j, token in enumerate(tokens):
        if j:
            run += b","
        if isinstance(token, bytes):
            run += token
        else:
            parts.append(run)
            parts.append(token)
            run = b""
    run += b"]"
    if printer.conditions is not None:
        conditions = printer.conditions(obj)
        if conditions:
            run += b',"conditions":' + orjson.dumps(conditions)
    parts.append(run)
    meta = b',"object":' + orjson.dumps(row_metadata(obj)) + b"}"
    return CachedRow(key, revision, tuple(parts), meta)


def _uncached_row(printer: Printer, obj: Any, now: datetime) -> CachedRow:
    """A row of a printer without a template: computed for this ``now`` only."""
    row: dict[str, Any] = {"cells": printer.row(obj, now)}
    if printer.conditions is not None:
        conditions = printer.conditions(obj)
        if conditions:
            row["conditions"] = conditions
    head = orjson.dumps(row)[:-1]
    return CachedRow(None, 0, (head,), b',"object":' + orjson.dumps(row_metadata(obj)) + b"}")


def _table_head(columns: bytes | None, resource_version: str, continue_token: str) -> list[bytes]:
    metadata: dict[str, str] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return [
        b'{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":',
        orjson.dumps(metadata),
        b',"columnDefinitions":',
        columns if columns is not None else b"[]",
        b',"rows":[',
    ]


class RowCache:
    """Encoded Table rows of stored entries, per (resource, namespace, name), valid for
    one revision each. ``lookup(key)`` gives the store's current entry for a key, to
    sweep out rows of deleted or changed objects whenever the cache has doubled; without
    it rows go only through complete lists and :meth:`forget`.

    Single-threaded, like the store cache it mirrors (the event loop's thread)."""

    def __init__(self, lookup: Lookup | None = None, min_sweep: int = MIN_SWEEP) -> None:
        self._lookup = lookup
        self._resources: dict[str, _ResourceRows] = {}
        self._size = 0
        self._min_sweep = min_sweep
        self._sweep_at = min_sweep

    def __len__(self) -> int:
        return self._size

    def rows(self) -> Iterable[CachedRow]:
        for slot in self._resources.values():
            for rows in slot.namespaces.values():
                yield from rows.values()

    def get(self, key: EntryKey) -> CachedRow | None:
        slot = self._resources.get(key.resource)
        rows = slot.namespaces.get(key.namespace) if slot is not None else None
        return rows.get(key.name) if rows is not None else None

    def forget(self, key: EntryKey, before: int | None = None) -> None:
        """Drop ``key``'s row (only if older than revision ``before``, when given)."""
        slot = self._resources.get(key.resource)
        rows = slot.namespaces.get(key.namespace) if slot is not None else None
        if rows is None:
            return
        row = rows.get(key.name)
        if row is not None and (before is None or row.revision < before):
            del rows[key.name]
            self._size -= 1
            if not rows:
                del slot.namespaces[key.namespace]  # type: ignore[union-attr]

    def clear(self) -> None:
        self._resources.clear()
        self._size = 0

    def _slot(self, resource: str) -> _ResourceRows:
        printer = printer_for(resource)
        slot = self._resources.get(resource)
        if slot is None or slot.printer is not printer:  # new, or its printer replaced
            if slot is not None:
                self._size -= slot.count()
            slot = self._resources[resource] = _ResourceRows(printer)
        return slot

    def table(
        self,
        info: ResourceInfo,
        entries: Sequence[StoredEntry],
        *,
        include_object: str = INCLUDE_METADATA,
        now: datetime | None = None,
        with_column_definitions: bool = True,
        resource_version: str = "",
        continue_token: str = "",
        complete: bool = False,
        namespace: str | None = None,
        remember: bool = True,
    ) -> bytes:
        """The encoded ``meta.k8s.io/v1`` Table of ``entries`` (all of kind ``info``):
        what ``orjson.dumps(table_for(info, [e.object() for e in entries], ...))`` gives,
        but for rows' metadata without ``managedFields``.

        ``complete`` says ``entries`` are all the objects of the resource in
        ``namespace`` (all namespaces if None), so cached rows of any other object there
        are stale and go. ``remember=False`` computes missing rows without keeping them
        (an object's deletion)."""
        if include_object not in (INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT):
            raise ValueError(
                f"includeObject must be None, Metadata or Object, not {include_object!r}"
            )
        slot = self._slot(info.resource)
        printer = slot.printer
        now = now or datetime.now(UTC)
        now_us = epoch_us(now)
        out = _table_head(
            slot.columns if with_column_definitions else None, resource_version, continue_token
        )
        rendered: dict[Since, bytes] = {}
        namespaces = slot.namespaces
        cacheable = printer.cells is not None
        first = True
        for entry in entries:
            key = entry.key
            row: CachedRow | None = None
            if cacheable:
                rows = namespaces.get(key.namespace)
                if rows is not None:
                    row = rows.get(key.name)
                if row is None or row.revision != entry.revision:
                    fresh = encode_row(printer, key, entry.revision, orjson.loads(entry.value))
                    if remember and (row is None or row.revision < entry.revision):
                        if rows is None:
                            rows = namespaces[key.namespace] = {}
                        if row is None:
                            self._size += 1
                        rows[key.name] = fresh
                    row = fresh
            else:
                row = _uncached_row(printer, orjson.loads(entry.value), now)
            if first:
                first = False
            else:
                out.append(b",")
            for part in row.cells:
                if isinstance(part, bytes):
                    out.append(part)
                else:
                    text = rendered.get(part)
                    if text is None:
                        text = rendered[part] = orjson.dumps(part.render(now_us))
                    out.append(text)
            if include_object == INCLUDE_METADATA:
                out.append(row.meta)
            elif include_object == INCLUDE_OBJECT:
                out.append(b',"object":')
                out.append(entry.value)
                out.append(b"}")
            else:
                out.append(b"}")
        out.append(b"]}")
        if cacheable:
            if complete:
                self._prune(slot, entries, namespace)
            if self._size > self._sweep_at and self._lookup is not None:
                self._sweep(self._lookup)
        return b"".join(out)

    def _prune(
        self, slot: _ResourceRows, entries: Sequence[StoredEntry], namespace: str | None
    ) -> None:
        """Keep, in the listed scope, only the rows of ``entries`` (all that exist)."""
        namespaces = slot.namespaces
        if namespace is None:
            held = slot.count()
            if held == len(entries):
                return  # every listed entry has its row: nothing else is held
            fresh: dict[str, dict[str, CachedRow]] = {}
            for entry in entries:
                key = entry.key
                row = namespaces.get(key.namespace, {}).get(key.name)
                if row is not None:
                    fresh.setdefault(key.namespace, {})[key.name] = row
            slot.namespaces = fresh
            self._size += sum(len(rows) for rows in fresh.values()) - held
            return
        rows = namespaces.get(namespace)
        if rows is None or len(rows) == len(entries):
            return
        kept = {e.key.name: rows[e.key.name] for e in entries if e.key.name in rows}
        self._size += len(kept) - len(rows)
        if kept:
            namespaces[namespace] = kept
        else:
            del namespaces[namespace]

    def _sweep(self, lookup: Lookup) -> None:
        """Drop rows whose object is gone or changed since (they would be recomputed)."""
        for slot in self._resources.values():
            for ns in list(slot.namespaces):
                rows = slot.namespaces[ns]
                for name in list(rows):
                    row = rows[name]
                    current = lookup(row.key)
                    if current is None or current.revision != row.revision:
                        del rows[name]
                        self._size -= 1
                if not rows:
                    del slot.namespaces[ns]
        self._sweep_at = max(2 * self._size, self._min_sweep)


_CACHES: weakref.WeakKeyDictionary[Any, RowCache] = weakref.WeakKeyDictionary()


def row_cache(store: Any) -> RowCache:
    """The row cache of ``store`` (anything with ``get(key) -> entry | None``), created on
    first use and gone with the store. One per store: revisions are only unique within
    one."""
    cache = _CACHES.get(store)
    if cache is None:
        ref = weakref.ref(store)

        def lookup(key: Any) -> StoredEntry | None:
            owner = ref()
            return owner.get(key) if owner is not None else None

        cache = _CACHES[store] = RowCache(lookup)
    return cache
