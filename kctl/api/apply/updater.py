"""Server-side apply and update tracking: what kube-apiserver's field manager does.

Two entry points, both pure functions over dicts that the API server calls on a write:

:func:`apply` handles ``application/apply-patch+yaml``. The configuration is merged into
the live object; the applier's entry becomes exactly the configuration's field set;
what the applier owned before and no longer applies is removed unless another manager
(or the new configuration) still owns it; other managers' fields that the apply changes
are conflicts (409) unless ``force``, which takes them over. Fields the apply removes
leave every manager's set.

:func:`track_update` runs on every other write (create, update, patch, subresources):
the fields the write added or changed become its manager's, and leave every other
manager's set (an update never conflicts); removed fields leave every set.

Both follow upstream's pipeline, in this order of concerns:

* ``metadata.name``, ``namespace``, ``uid``, ``resourceVersion``, ``generation``,
  ``creationTimestamp``, ``managedFields`` ... and ``apiVersion``/``kind`` are never owned;
* reset fields are neither owned nor changed: ``status`` for writes to the main
  resource, ``spec`` for ``/status`` (kube's ``GetResetFields``); callers may pass
  their own list for a kind;
* an object that exists without managedFields is first attributed, whole, to the
  ``Update`` manager ``before-first-apply`` when applied to; updates to such an object
  are not tracked (kube's ``skipNonApplied``), which is what a request carrying
  ``managedFields: [{}]`` (or ``[]``) asks for;
* a request body with non-empty ``managedFields`` (not to a subresource) replaces the
  history, and the write is tracked on top of it: kubectl's client-side to server-side
  migration is a JSON patch doing exactly that;
* for ``fieldManager=kubectl`` conflicts covered by the last-applied annotation are
  forgiven and that annotation is kept in sync (:mod:`.lastapplied`);
* ``Update`` entries are capped at 10 (:func:`.managed.cap_updates`).

The caller applies defaults before :func:`track_update` (the creator of an object owns
its defaulted fields, as in Kubernetes) and after :func:`apply` (defaults are then owned
by nobody, and are not removed when an applier stops applying a field next to them).
The server also keeps its own duties: the ``fieldManager`` query parameter,
``resourceVersion`` preconditions, name/namespace checks, generation, validation.

An apply that changes nothing returns an object equal to ``live`` (same managedFields,
same times), so the server can skip the write and keep the resourceVersion.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson

from kctl.api.apply import conflicts as conflict_mod
from kctl.api.apply import fieldpath as fp
from kctl.api.apply import lastapplied, managed
from kctl.api.apply.fieldpath import FieldSet, Path
from kctl.api.apply.managed import ManagedEntry, Managers
from kctl.api.apply.merge import merge, prune
from kctl.api.apply.walk import (
    Comparison,
    WalkError,
    compare,
    compare_objects,
    created_fields_v1,
    to_field_set,
    with_zero,
    zero_object,
)
from kctl.api.errors import BadRequest, InternalError
from kctl.api.schema_nav import SchemaNode

log = logging.getLogger(__name__)

# Never owned by anyone (kube's stripMeta): exact paths, not subtrees.
STRIPPED: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata",),
        *(
            ("f:metadata", fp.field(name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)

# Kept from the live object whatever the configuration says; the server owns them.
LIVE_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def default_reset_fields(subresource: str) -> tuple[str, ...]:
    """Fields a write through ``subresource`` neither changes nor owns."""
    if subresource == "":
        return ("status",)
    if subresource == "status":
        return ("spec",)
    return ()


def _reset_paths(fields: Iterable[str]) -> list[Path]:
    return [tuple(fp.field(part) for part in name.split(".")) for name in fields if name]


_STRIPPED_TREE = fp.Exclusions.build(STRIPPED, ())
# Per list of reset fields: the paths and what a create leaves out of its field set.
_reset_cache: dict[tuple[str, ...], tuple[list[Path], fp.Exclusions]] = {}


def _reset_for(fields: Iterable[str]) -> tuple[list[Path], fp.Exclusions]:
    names = tuple(fields)
    found = _reset_cache.get(names)
    if found is None:
        paths = _reset_paths(names)
        found = (paths, fp.Exclusions.build(STRIPPED, paths))
        if len(_reset_cache) < 256:  # callers pass a few lists per kind
            _reset_cache[names] = found
    return (list(found[0]), found[1])


def _clone(obj: dict[str, Any]) -> dict[str, Any]:
    out = orjson.loads(orjson.dumps(obj))
    assert isinstance(out, dict)
    return out


def _meta(obj: dict[str, Any] | None) -> dict[str, Any]:
    meta = obj.get("metadata") if obj else None
    return meta if isinstance(meta, dict) else {}


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = _meta(obj)
    if "managedFields" not in meta:
        return obj
    meta = dict(meta)
    del meta["managedFields"]
    return {**obj, "metadata": meta}


def _with_managed_fields(obj: dict[str, Any], managers: Managers) -> dict[str, Any]:
    entries = managed.encode(managers.values())
    meta = dict(_meta(obj))
    meta.pop("managedFields", None)
    if entries:
        meta["managedFields"] = entries
    return {**obj, "metadata": meta}


def _get(obj: Any, path: Path) -> tuple[bool, Any]:
    for pe in path:
        if not isinstance(obj, dict) or pe[2:] not in obj:
            return False, None
        obj = obj[pe[2:]]
    return True, obj


def _set(obj: dict[str, Any], path: Path, present: bool, val: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``path`` set to ``val`` (or removed), copying along the path."""
    name = path[0][2:]
    out = dict(obj)
    if len(path) == 1:
        if present:
            out[name] = val
        else:
            out.pop(name, None)
        return out
    child = obj.get(name)
    if not isinstance(child, dict):
        if not present:
            return obj
        child = {}
    out[name] = _set(child, path[1:], present, val)
    return out


def _restore(
    obj: dict[str, Any], source: dict[str, Any] | None, paths: list[Path]
) -> dict[str, Any]:
    """``obj`` with the values at ``paths`` taken from ``source`` (absent when it lacks them)."""
    for path in paths:
        present, val = _get(source, path) if source is not None else (False, None)
        here, current = _get(obj, path)
        if present != here or (present and current is not val and current != val):
            obj = _set(obj, path, present, val)
    return obj


def _owned(fields: FieldSet, reset: list[Path]) -> FieldSet:
    return fields - STRIPPED - fp.under(fields, reset)


def _strip_all(managers: Managers) -> Managers:
    out: Managers = {}
    for ident, entry in managers.items():
        kept = entry.minus(STRIPPED) if entry.may_hold(_STRIPPED_TREE) else entry
        if not kept.empty():
            out[ident] = kept
    return out


def _describe_object(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    gvk = f"{group}/{version}, Kind={obj.get('kind') or ''}"
    ns, name = meta.get("namespace"), meta.get("name")
    return f"({gvk}) {ns}/{name}" if ns else f"({gvk}) {name}"


# --- apply -------------------------------------------------------------------------------------


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    api_version: str,
    schema: SchemaNode,
    force: bool,
    now: str,
    *,
    subresource: str = "",
    reset_fields: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Apply ``config`` as ``manager`` to ``live`` (``None``: create); the new object.

    Raises :class:`~kctl.api.errors.Conflict` (409) on conflicts with other managers
    unless ``force``, :class:`~kctl.api.errors.BadRequest` on a configuration that
    cannot be applied.
    """
    if not manager:
        raise BadRequest("fieldManager is required for apply requests")
    if not isinstance(config, dict):
        raise BadRequest("apply patch must be a JSON or YAML object")
    if config.get("apiVersion") != api_version:
        raise BadRequest(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{config.get('apiVersion') or ''}, expected: {api_version}"
        )
    if _meta(config).get("managedFields") is not None:
        raise BadRequest("metadata.managedFields must be nil")

    reset = _reset_paths(
        default_reset_fields(subresource) if reset_fields is None else reset_fields
    )
    body = _restore(config, None, reset)
    current = _without_managed_fields(live) if live is not None else {}
    try:
        stored = _meta(live).get("managedFields") if live is not None else None
        managers = managed.decode(stored, trusted=True)
    except managed.ManagedFieldsError as err:
        raise InternalError(f"failed to decode managed fields: {err}") from err

    try:
        if live is not None and not managers:
            managers = _before_first_apply(current, schema, api_version, subresource, reset, now)
        applied = _owned(to_field_set(body, schema), reset)
        merged = merge(current, body, schema)
    except WalkError as err:
        raise BadRequest(
            f"failed to create typed patch object {_describe_object(config)}: {err}"
        ) from err

    key = managed.identity(manager, managed.APPLY, api_version, subresource)
    previous = managers.get(key)
    if previous is not None and previous.api_version == api_version:
        managers[key] = previous.with_fields(applied)  # unchanged: the stored entry as is
    else:
        managers[key] = ManagedEntry(
            manager,
            managed.APPLY,
            api_version,
            fields=applied,
            time=previous.time if previous else None,
            subresource=subresource,
        )
    if previous is not None and not previous.fields <= applied:
        # Something applied before is not applied now: remove what nobody else owns.
        everyone: FieldSet = set().union(*(e.fields for e in managers.values()))
        merged = prune(merged, schema, set(previous.fields), everyone)
    if live is not None:
        merged = _restore(merged, live, [("f:metadata", fp.field(k)) for k in LIVE_METADATA])
        merged = _restore(merged, current, reset)
        managers = _settle_apply(current, merged, schema, managers, key, manager, force, reset)

    unchanged = live is not None and merged == current
    entry = managers.get(key)
    if entry is not None:
        time = entry.time if unchanged and entry.time else now
        managers[key] = entry.touched(time=time, api_version=api_version)
    managers = managed.cap_updates(_strip_all(managers))
    result = _with_managed_fields(merged, managers)
    if manager == lastapplied.KUBECTL_MANAGER:
        lastapplied.sync_annotation(result, config)
    if live is not None and result == live:
        return _clone(live)
    return _clone(result)


def _before_first_apply(
    current: dict[str, Any],
    schema: SchemaNode,
    api_version: str,
    subresource: str,
    reset: list[Path],
    now: str,
) -> Managers:
    """Attribute an untracked object's fields to ``before-first-apply`` (kube does)."""
    zero = zero_object(schema)
    fields = _owned(compare(zero, with_zero(current, zero), schema).changed(), reset)
    if not fields:
        return {}
    entry = ManagedEntry(
        managed.BEFORE_FIRST_APPLY,
        managed.UPDATE,
        api_version,
        fields=fields,
        time=now,
        subresource=subresource,
    )
    return {entry.identity: entry}


def _settle_apply(
    current: dict[str, Any],
    merged: dict[str, Any],
    schema: SchemaNode,
    managers: Managers,
    key: managed.Identity,
    manager: str,
    force: bool,
    reset: list[Path],
) -> Managers:
    """Conflicts and ownership moves for an apply over an existing object."""
    zero = zero_object(schema)
    diff = compare(with_zero(current, zero), with_zero(merged, zero), schema).without(reset)
    found = conflict_mod.find(managers, key, diff.changed())
    if found and not force:
        allowed = None
        if manager == lastapplied.KUBECTL_MANAGER:
            allowed = lastapplied.allowed_conflicts(current, schema, managers[key].api_version)
        if allowed is None:
            raise conflict_mod.conflict_error(found, managers)
        remaining = {i: s - allowed for i, s in found.items() if s - allowed}
        if remaining:
            raise conflict_mod.conflict_error(remaining, managers)
    out: Managers = {}
    for ident, entry in managers.items():
        if ident != key:
            entry = entry.minus(found.get(ident, set()) | diff.removed)
        if not entry.empty():
            out[ident] = entry
    return out


# --- update tracking ----------------------------------------------------------------------------


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    schema: SchemaNode,
    now: str,
    operation: str = managed.UPDATE,
    subresource: str = "",
    *,
    reset_fields: Iterable[str] | None = None,
) -> dict[str, Any]:
    """``new`` with ``metadata.managedFields`` updated for a non-apply write by ``manager``.

    ``old`` is the stored object (``None`` on create). The result is a new top-level
    dict and ``metadata``; other subtrees are shared with ``new``.
    """
    reset, excluded = _reset_for(
        default_reset_fields(subresource) if reset_fields is None else reset_fields
    )
    try:
        managers = _base_managers(old, new, subresource)
    except managed.ManagedFieldsError:
        managers = {}
    target = _without_managed_fields(new)
    if not managers and old is not None:
        return target  # untracked object: stays untracked until applied to
    # Both sides as typed objects: zero structs present (see walk.zero_object).
    zero = zero_object(schema)
    if old is None and not managers:
        # A create: the creator's entry is built directly (walk.created_fields_v1).
        try:
            tree = created_fields_v1(target, zero, schema, excluded)
        except WalkError:
            pass  # reported below, as the comparison raises it
        else:
            if not tree:
                return _with_managed_fields(target, {})
            entry = ManagedEntry(
                manager, operation, api_version, tree=tree, time=now, subresource=subresource
            )
            return _with_managed_fields(target, {entry.identity: entry})
    stored = _without_managed_fields(old) if old is not None else None
    try:
        diff = _update_diff(stored, target, zero, schema, reset)
    except WalkError as err:
        # kube drops managedFields rather than store garbage (UpdateNoErrors).
        log.warning("cannot track fields of %s: %s", _describe_object(new), err)
        return target
    changed = diff.changed() - STRIPPED
    key = managed.identity(manager, operation, api_version, subresource)
    gone = changed | diff.removed
    out: Managers = {}
    for ident, entry in managers.items():
        if ident == key and changed:
            out[ident] = entry  # replaced below (keeping its place)
            continue
        kept = entry.minus(gone) if gone else entry
        if not kept.empty():
            out[ident] = kept
    if changed:
        previous = managers.get(key)
        if previous is not None:
            mine = (
                previous.minus(diff.removed)
                .plus(changed)
                .touched(time=now, api_version=api_version)
            )
        else:
            mine = ManagedEntry(
                manager, operation, api_version, fields=changed, time=now, subresource=subresource
            )
        out[key] = mine
    return _with_managed_fields(target, managed.cap_updates(_strip_all(out)))


def _update_diff(
    stored: dict[str, Any] | None,
    target: dict[str, Any],
    zero: dict[str, Any],
    schema: SchemaNode,
    reset: list[Path],
) -> Comparison:
    """What a write changed, both sides typed (with the zero object), reset fields left out."""
    if stored is not None:
        try:
            return compare_objects(stored, target, zero, schema, reset)
        except WalkError:
            pass  # compared again below, which reports the fault kube would
    before = with_zero(stored, zero) if stored is not None else zero
    return compare(before, with_zero(target, zero), schema).without(reset)


def _base_managers(old: dict[str, Any] | None, new: dict[str, Any], subresource: str) -> Managers:
    """The history a write starts from: the request's own, or the stored one."""
    live_entries = _meta(old).get("managedFields") if old is not None else None
    if subresource:
        return _decode_or_empty(live_entries)
    requested = _meta(new).get("managedFields")
    if managed.is_reset(requested):
        return {}
    if requested is not None and requested != live_entries:
        try:
            mine = managed.decode(requested)
        except managed.ManagedFieldsError:
            mine = {}
        if mine:
            return mine
    return _decode_or_empty(live_entries)


def _decode_or_empty(entries: Any) -> Managers:
    try:
        return managed.decode(entries, trusted=True)
    except managed.ManagedFieldsError:
        return {}
