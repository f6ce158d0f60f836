"""The store's vocabulary: keys, stored entries, watch events and the store's own errors.

The API server talks to the store only in these terms. Objects cross the boundary as
dicts on the way in (the store stamps ``metadata.resourceVersion`` with the revision it
commits them at and encodes them once, with orjson) and as encoded bytes on the way
out, so a list or a watch event is assembled from stored bytes and never re-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Key:
    """Where an object lives: its resource (``pods``, ``deployments.apps``), namespace
    (``""`` for cluster-scoped kinds) and name."""

    resource: str
    namespace: str
    name: str


@dataclass(slots=True)
class Entry:
    """An object as stored at one revision.

    ``value`` is the object's JSON with ``metadata.resourceVersion`` already set to
    ``str(revision)``. ``labels`` and ``fields`` are extracted once at write time for
    selector matching (``fields`` holds the field-selector attributes of the kind, e.g.
    ``spec.nodeName``), so filtering a list never decodes ``value``.
    """

    key: Key
    revision: int
    value: bytes
    labels: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    _obj: dict[str, Any] | None = None

    def object(self) -> dict[str, Any]:
        """A fresh decoded copy of ``value`` (callers may mutate it)."""
        return orjson.loads(self.value)


_LINE_HEADS = {
    kind: b'{"type":"' + kind.encode() + b'","object":' for kind in ("ADDED", "MODIFIED", "DELETED")
}
_LINE_TAIL = b"}\n"


def line_parts(kind: str, value: bytes) -> tuple[bytes, bytes, bytes]:
    """The watch wire line ``{"type":..,"object":..}\\n`` as three runs to join: the
    head, the object's bytes (shared, not copied) and the tail."""
    head = _LINE_HEADS.get(kind)
    if head is None:
        head = b'{"type":"' + kind.encode() + b'","object":'
    return head, value, _LINE_TAIL


@dataclass(slots=True)
class Event:
    """One committed change, as watchers receive it.

    ``type`` is ``ADDED``, ``MODIFIED`` or ``DELETED``. For ``DELETED`` the entry is the
    object's last state stamped with the deletion revision. ``previous`` is the entry
    before this change (None for ``ADDED``), so a selector-filtered watch can turn a
    change that leaves (or enters) its selection into ``DELETED`` (or ``ADDED``), as
    Kubernetes does.

    The wire line is not kept: events stay in the feed's ring long after they were
    sent, and a second copy of every object's bytes there costs more memory than
    joining three byte runs costs time (a stream joins a whole batch at once anyway).
    """

    type: str
    entry: Entry
    previous: Entry | None = None

    @property
    def revision(self) -> int:
        return self.entry.revision

    def line_parts(self, as_type: str | None = None) -> tuple[bytes, bytes, bytes]:
        """The watch wire line of this event (as ``as_type``), see :func:`line_parts`."""
        return line_parts(as_type or self.type, self.entry.value)

    def line(self, as_type: str | None = None) -> bytes:
        """The watch wire line ``{"type":..,"object":..}\n``."""
        return b"".join(self.line_parts(as_type))


class StoreError(Exception):
    """Base of the store's errors. Driver exceptions (sqlalchemy, psycopg) never leak."""


class KeyExists(StoreError):
    """create() of a key that already exists."""


class KeyNotFound(StoreError):
    """update()/delete() of a key that does not exist."""


class RevisionConflict(StoreError):
    """The compare-and-swap failed: the object is not at the expected revision."""

    def __init__(self, current: int) -> None:
        super().__init__(f"object is at revision {current}")
        self.current = current


class Compacted(StoreError):
    """A watch or read from a revision older than the compaction point."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"too old resource version: {requested} ({compacted})")
        self.requested = requested
        self.compacted = compacted


class StoreUnavailable(StoreError):
    """The database cannot be reached or failed in a way a retry will not fix."""


class WatchOverflow(StoreError):
    """A watcher fell too far behind the feed and was ended (the client must relist)."""


@dataclass(slots=True)
class StoreStats:
    """Counters for tests and benchmarks (updated by the writer thread)."""

    transactions: int = 0  # committed write transactions
    writes: int = 0  # write operations committed (one revision each)
    rejected: int = 0  # operations refused by a precondition (exists, not found, conflict)
    events: int = 0  # events delivered by the feed (own and other servers' commits)
