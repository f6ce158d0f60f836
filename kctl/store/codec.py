"""Turning objects into stored bytes and stored rows back into entries and events.

An object is encoded exactly once, by the writer, at the moment its revision is known:
``metadata.resourceVersion`` is stamped into a shallow copy (the caller's dict is never
mutated) and orjson produces the bytes that then go, unchanged, into the ``objects`` and
``log`` rows, the cache, and every watcher's event line (copied once to an exact-size
allocation first: see :func:`exact`). Rows read back (on open, when replaying the log,
when tailing other API servers' commits) are decoded once to compute labels and
selector fields, and keep their stored bytes as the value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from kctl.store.types import Entry, Event, Key

FieldExtractor = Callable[[str, dict[str, Any]], dict[str, str]]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def default_fields(resource: str, obj: dict[str, Any]) -> dict[str, str]:
    """The field-selector attributes every kind supports."""
    meta = obj.get("metadata") or {}
    return {
        "metadata.name": str(meta.get("name", "")),
        "metadata.namespace": str(meta.get("namespace", "")),
    }


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's labels, keys and values interned (see :func:`shared_fields`)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if not isinstance(labels, dict):
        return {}
    intern = sys.intern
    return {intern(str(k)): intern(str(v)) for k, v in labels.items()}


def shared_fields(extract: FieldExtractor) -> FieldExtractor:
    """``extract`` with its values interned.

    Labels and selector fields stay in the cache as long as their entry, and most of
    their values repeat (``default``, ``Running``, a node's name, ``Normal``): 10,000
    pods and 20,000 Events would otherwise hold a string per value each. The interned
    table drops a string once no entry uses it."""

    def extract_shared(resource: str, obj: dict[str, Any]) -> dict[str, str]:
        intern = sys.intern
        return {k: intern(v) for k, v in extract(resource, obj).items()}

    return extract_shared


def stamp(obj: Mapping[str, Any], revision: int) -> bytes:
    """Encode ``obj`` with ``metadata.resourceVersion`` set to ``revision``."""
    out = dict(obj)
    out["metadata"] = {**(obj.get("metadata") or {}), "resourceVersion": str(revision)}
    return exact(orjson.dumps(out))


def exact(data: bytes) -> bytes:
    """``data`` in an allocation of its own size.

    orjson returns its output in the buffer it encoded into, at least 4 KB and never
    shrunk: a 2.3 KB pod holds 8 KB. Stored values live on in the cache and the ring of
    recent events (tens of thousands of them), so they are copied once into an exact
    allocation (0.2 µs for a pod)."""
    return memoryview(data).tobytes()


def entry_from_value(key: Key, revision: int, value: bytes, extract: FieldExtractor) -> Entry:
    """An Entry for stored bytes (decodes once for labels and fields)."""
    obj = orjson.loads(value)
    return Entry(key, revision, value, labels_of(obj), extract(key.resource, obj))


def event_from_row(
    revision: int,
    resource: str,
    namespace: str,
    name: str,
    type_: str,
    value: bytes,
    extract: FieldExtractor,
) -> Event:
    """An Event for a ``log`` row (``previous`` is filled in by whoever delivers it)."""
    key = Key(resource, namespace, name)
    return Event(type_, entry_from_value(key, revision, bytes(value), extract))
