"""Turning objects into stored bytes and stored rows back into entries and events.

An object is encoded exactly once, by the writer, at the moment its revision is known:
``metadata.resourceVersion`` is stamped into a shallow copy (the caller's dict is never
mutated) and orjson produces the bytes that then go, unchanged, into the ``objects`` and
``log`` rows, the cache, and every watcher's event line. Rows read back (on open, when
replaying the log, when tailing other API servers' commits) are decoded once to compute
labels and selector fields, and keep their stored bytes as the value.
"""

from __future__ import annotations

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
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def stamp(obj: Mapping[str, Any], revision: int) -> bytes:
    """Encode ``obj`` with ``metadata.resourceVersion`` set to ``revision``."""
    out = dict(obj)
    out["metadata"] = {**(obj.get("metadata") or {}), "resourceVersion": str(revision)}
    return orjson.dumps(out)


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
