"""``metadata.managedFields`` bookkeeping: entries, identities, order, caps.

Each entry records one manager's field set. kube-apiserver identifies an entry by
(manager, operation, apiVersion, subresource), except that an ``Apply`` entry ignores
``apiVersion``: an applier keeps one entry whatever version it applies at, while an
updater gets one entry per version it writes. The entries are written in upstream's
order (``Apply`` before ``Update``, then by time, manager, apiVersion, subresource), and
at most :data:`MAX_UPDATE_MANAGERS` ``Update`` entries are kept: the oldest are folded,
per apiVersion, into an ``ancient-changes`` entry, so an object written by many clients
does not grow without bound.

An entry that an operation left alone keeps the exact dict it was read from, so
re-encoding an unchanged object gives back an equal object (the server's no-op test).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import Path

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"

# (manager, operation, apiVersion or "" for Apply, subresource)
Identity = tuple[str, str, str, str]


class ManagedFieldsError(ValueError):
    """``metadata.managedFields`` that cannot be decoded."""


def identity(manager: str, operation: str, api_version: str, subresource: str = "") -> Identity:
    return (manager, operation, "" if operation == APPLY else api_version, subresource)


class ManagedEntry:
    """One manager's entry. The field set and its FieldsV1 tree are each computed from
    the other on demand; edits go to the tree when one is at hand, so entries read from
    the store are decoded only when a whole set is needed (an apply)."""

    __slots__ = (
        "manager",
        "operation",
        "api_version",
        "time",
        "subresource",
        "raw",
        "_fields",
        "_tree",
    )

    def __init__(
        self,
        manager: str,
        operation: str,
        api_version: str,
        *,
        fields: Iterable[Path] | None = None,
        tree: dict[str, Any] | None = None,
        time: str | None = None,
        subresource: str = "",
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.manager = manager
        self.operation = operation
        self.api_version = api_version
        self.time = time
        self.subresource = subresource
        self.raw = raw  # the entry as read, reused while nothing changes
        self._fields = frozenset(fields) if fields is not None else None
        self._tree = tree
        if fields is None and tree is None:
            self._fields = frozenset()

    def _copy(self, **changes: Any) -> ManagedEntry:
        out = ManagedEntry.__new__(ManagedEntry)
        out.manager = self.manager
        out.operation = self.operation
        out.api_version = self.api_version
        out.time = self.time
        out.subresource = self.subresource
        out.raw = None
        out._fields = self._fields
        out._tree = self._tree
        for name, val in changes.items():
            setattr(out, name, val)
        return out

    @property
    def identity(self) -> Identity:
        return identity(self.manager, self.operation, self.api_version, self.subresource)

    @property
    def fields(self) -> frozenset[Path]:
        if self._fields is None:
            assert self._tree is not None
            self._fields = frozenset(fp.from_fields_v1(self._tree))
        return self._fields

    @property
    def tree(self) -> dict[str, Any]:
        if self._tree is None:
            self._tree = fp.to_fields_v1(self.fields)
        return self._tree

    def empty(self) -> bool:
        return not self._fields if self._fields is not None else not self._tree

    def may_hold(self, excluded: fp.Exclusions) -> bool:
        """Might this entry own an ``excluded`` path? (``False`` is certain.)"""
        if self._fields is not None or self._tree is None:
            return True
        return excluded.held_by(self._tree)

    def members(self, paths: Iterable[Path]) -> set[Path]:
        """Those of ``paths`` this entry owns."""
        if self._fields is not None:
            return set(self._fields.intersection(paths))
        tree = self.tree
        return {p for p in paths if (not p or p[0] in tree) and fp.tree_has(tree, p)}

    def minus(self, paths: Iterable[Path]) -> ManagedEntry:
        hit = self.members(paths)
        if not hit:
            return self
        fields = self._fields - hit if self._fields is not None else None
        tree = fp.tree_remove(self._tree, hit) if self._tree is not None else None
        return self._copy(_fields=fields, _tree=tree)

    def plus(self, paths: Iterable[Path]) -> ManagedEntry:
        wanted = set(paths)
        new = wanted - self.members(wanted)
        if not new:
            return self
        fields = self._fields | new if self._fields is not None else None
        tree = fp.tree_add(self._tree, new) if self._tree is not None else None
        return self._copy(_fields=fields, _tree=tree)

    def with_fields(self, fields: Iterable[Path]) -> ManagedEntry:
        frozen = frozenset(fields)
        if frozen == self.fields:
            return self
        return self._copy(_fields=frozen, _tree=None)

    def touched(self, *, time: str | None, api_version: str) -> ManagedEntry:
        if time == self.time and api_version == self.api_version:
            return self
        return self._copy(time=time, api_version=api_version)

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = self.tree
        if self.subresource:
            out["subresource"] = self.subresource
        return out

    def describe(self) -> str:
        """How kube-apiserver names the manager in a conflict message."""
        name = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            name += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == UPDATE:
            return f"{name} using {self.api_version}"
        return name

    def sort_name(self) -> str:
        """Upstream sorts conflicting managers by their JSON identifier."""
        ident: dict[str, str] = {"manager": self.manager, "operation": self.operation}
        if self.operation != APPLY and self.api_version:
            ident["apiVersion"] = self.api_version
        if self.subresource:
            ident["subresource"] = self.subresource
        return json.dumps(ident, separators=(",", ":"), ensure_ascii=False)


Managers = dict[Identity, ManagedEntry]


def is_reset(entries: Any) -> bool:
    """``managedFields: []`` or ``[{}]`` in a request: wipe the history."""
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def decode(entries: Any, *, trusted: bool = False) -> Managers:
    """Decode ``metadata.managedFields`` (``None`` is no entries).

    ``trusted`` entries (written by this package, read back from the store) keep their
    trees undecoded until a whole set is needed; others are validated now.
    """
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ManagedFieldsError("managedFields must be a list")
    out: Managers = {}
    for raw in entries:
        if not isinstance(raw, dict):
            raise ManagedFieldsError("managedFields entries must be objects")
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        if raw.get("fieldsType") != FIELDS_V1:
            raise ManagedFieldsError(f"invalid fieldsType {raw.get('fieldsType')!r}")
        tree = raw.get("fieldsV1") or {}
        if not isinstance(tree, dict):
            raise ManagedFieldsError("fieldsV1 must be a JSON object")
        fields = None
        if not trusted:
            try:
                fields = fp.from_fields_v1(tree)
            except fp.FieldsV1Error as err:
                raise ManagedFieldsError(str(err)) from err
        time = raw.get("time")
        entry = ManagedEntry(
            str(raw.get("manager") or ""),
            operation,
            str(raw.get("apiVersion") or ""),
            fields=fields,
            tree=tree,
            time=time if isinstance(time, str) else None,
            subresource=str(raw.get("subresource") or ""),
            raw=raw,
        )
        previous = out.get(entry.identity)
        if previous is not None:
            entry = entry.plus(previous.fields)
        out[entry.identity] = entry
    return out


def seconds(time: str | None) -> int:
    if not time:
        return 0
    return _seconds(time)


@functools.lru_cache(maxsize=1024)
def _seconds(time: str) -> int:
    try:
        return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _order(entry: ManagedEntry) -> tuple[Any, ...]:
    return (
        entry.operation,
        seconds(entry.time),
        entry.manager,
        entry.api_version,
        entry.subresource,
    )


def encode(managers: Iterable[ManagedEntry]) -> list[dict[str, Any]]:
    """The entries as ``metadata.managedFields``, in upstream's order; empty sets dropped."""
    entries = [e for e in managers if not e.empty()]
    if len(entries) > 1:
        entries.sort(key=_order)
    return [e.to_dict() for e in entries]


def without_empty(managers: Mapping[Identity, ManagedEntry]) -> Managers:
    return {k: v for k, v in managers.items() if not v.empty()}


def cap_updates(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> Managers:
    """Fold the oldest ``Update`` entries into per-version ``ancient-changes`` entries."""
    updaters = [e for e in managers.values() if e.operation == UPDATE]
    if len(updaters) <= limit:
        return managers
    out = dict(managers)
    updaters.sort(key=lambda e: (seconds(e.time), e.sort_name()))
    first_of_version: dict[str, Identity] = {}
    count = len(updaters)
    for entry in updaters:
        if count <= limit:
            break
        version = entry.api_version
        bucket = identity(ANCIENT_CHANGES, UPDATE, version)
        first = first_of_version.get(version)
        if first is None:
            first_of_version[version] = entry.identity
            continue
        if bucket not in out:
            seed = out.pop(first)
            out[bucket] = ManagedEntry(
                ANCIENT_CHANGES, UPDATE, version, fields=seed.fields, time=seed.time
            )
        out[bucket] = out[bucket].plus(entry.fields).touched(time=entry.time, api_version=version)
        if entry.identity != bucket:
            del out[entry.identity]
        count -= 1
    return out
