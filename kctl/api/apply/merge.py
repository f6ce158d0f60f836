"""The apply merge and the removal of fields an applier stopped applying.

:func:`merge` combines the live object with an applied configuration the way
structured-merge-diff's ``Merge`` does: the configuration wins on every leaf it sets,
maps merge key by key, list-map items merge by key, set items by value, atomic lists
and maps are replaced whole. Unlike strategic merge patch there are no directives and
no deletions: what the applier stops applying is removed separately, by ownership.

List order follows upstream's algorithm, so the result is stable and matches what
kube-apiserver stores: items in both lists keep the configuration's order; items only
in the live list stay where they were relative to their neighbours; new items come
where the configuration puts them.

``null`` in a configuration means "unset": a null leaf (or atomic value) is removed from
the result (a typed Go object cannot hold it), a null granular map or list leaves the
live content as it is.

:func:`prune` removes what an applier owned before and owns no longer, unless some
manager (another one, or this one's new configuration) still owns it. A struct field
counts as owned by whoever owns anything below it (upstream's
``EnsureNamedFieldsAreMembers``), so dropping the last owned field of a struct drops the
struct; list items and map keys must be owned themselves. Fields nobody owns (defaults
the server filled in) are removed only with a removed parent. Containers emptied by a
removal disappear, as a nil Go map or slice would; a list item that stays keeps its key
fields (upstream could leave a null item there).

Inputs are never mutated; the result may share unchanged subtrees with them, and the
caller copies it before handing it out.
"""

from __future__ import annotations

from typing import Any

from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import FieldSet, Path, PathElement
from kctl.api.apply.shape import ATOMIC, MAP, Shape, shape_of
from kctl.api.apply.walk import MISSING, WalkError, index_items
from kctl.api.schema_nav import SchemaNode


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


def merge(
    live: dict[str, Any], config: dict[str, Any], schema: SchemaNode | Shape
) -> dict[str, Any]:
    """``live`` with ``config`` applied on top (no ownership involved)."""
    out = _merge(live, config, shape_of(schema), ())
    return out if isinstance(out, dict) else {}


def _merge(lhs: Any, rhs: Any, node: Shape, path: Path) -> Any:
    if rhs is None:
        if isinstance(lhs, dict) and lhs and not node.map_atomic:
            return lhs
        if isinstance(lhs, list) and lhs and node.list_kind != ATOMIC:
            return lhs
        return DELETE
    if isinstance(rhs, dict):
        if node.map_atomic or not isinstance(lhs, dict):
            return _strip_nulls(rhs)
        out: dict[str, Any] = {}
        for k, v in lhs.items():
            if k in rhs:
                merged = _merge(v, rhs[k], node.field(k), (*path, fp.field(k)))
                if merged is not DELETE:
                    out[k] = merged
            else:
                out[k] = v
        for k, v in rhs.items():
            if k not in lhs:
                merged = _merge(MISSING, v, node.field(k), (*path, fp.field(k)))
                if merged is not DELETE:
                    out[k] = merged
        return out
    if isinstance(rhs, list):
        if node.list_kind == ATOMIC or not isinstance(lhs, list):
            return _strip_nulls(rhs)
        return _merge_items(lhs, rhs, node, path)
    return rhs


def _strip_nulls(val: Any) -> Any:
    # A value the configuration sets whole: its null map entries mean "unset".
    if isinstance(val, dict):
        return {k: _strip_nulls(v) for k, v in val.items() if v is not None}
    if isinstance(val, list):
        return [_strip_nulls(v) for v in val]
    return val


def _merge_items(lhs: list[Any], rhs: list[Any], node: Shape, path: Path) -> list[Any]:
    lpes = index_items(lhs, node, path)
    rpes = index_items(rhs, node, path)
    if len(set(rpes)) != len(rpes):
        dup = next(pe for i, pe in enumerate(rpes) if pe in rpes[:i])
        raise WalkError(path, f"duplicate entries for key {fp.element_string(dup)}")
    items = node.items()
    rmap = dict(zip(rpes, rhs, strict=True))
    lcount: dict[PathElement, int] = {}
    for pe in lpes:
        lcount[pe] = lcount.get(pe, 0) + 1
    # A duplicated live item is not merged: the configuration's item replaces them all.
    lmap = {pe: item for pe, item in zip(lpes, lhs, strict=True) if lcount[pe] == 1}

    def merged_item(pe: PathElement) -> Any:
        item = _merge(lmap.get(pe, MISSING), rmap[pe], items, (*path, pe))
        return None if item is DELETE else item

    shared = [pe for pe in rpes if pe in lcount]
    next_shared = 0
    done: set[PathElement] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            lpe = lpes[li]
            if lpe == rpes[ri]:
                done.add(lpe)
                out.append(merged_item(lpe))
                li += 1
                ri += 1
                next_shared += 1
                continue
            if lpe in rmap and next_shared < len(shared) and shared[next_shared] != lpe:
                # A shared item whose turn has not come: the configuration places it.
                li += 1
                continue
        if li < len(lpes):
            lpe = lpes[li]
            if lpe not in rmap:
                out.append(lhs[li])
                li += 1
                continue
            if lpe in done:
                li += 1
                continue
        if ri < len(rpes):
            rpe = rpes[ri]
            done.add(rpe)
            out.append(merged_item(rpe))
            ri += 1
            if next_shared < len(shared) and shared[next_shared] == rpe:
                next_shared += 1
    return out


# --- prune -------------------------------------------------------------------------------------


class _Owned:
    """Membership in a field set, with struct fields owned through their children."""

    def __init__(self, paths: FieldSet) -> None:
        self.paths = paths
        self.prefixes = fp.prefixes(paths)

    def owns(self, path: Path, named: bool) -> bool:
        return path in self.paths or (named and path in self.prefixes)

    def touches(self, path: Path) -> bool:
        return path in self.paths or path in self.prefixes


def prune(
    obj: dict[str, Any], schema: SchemaNode | Shape, last: FieldSet, managed: FieldSet
) -> dict[str, Any]:
    """Remove from ``obj`` what ``last`` owned and ``managed`` does not."""
    if not last:
        return obj
    out = _prune_map(obj, shape_of(schema), (), _Owned(last), _Owned(managed))
    return out if isinstance(out, dict) else {}


def _prune(val: Any, node: Shape, path: Path, last: _Owned, managed: _Owned) -> Any:
    if isinstance(val, dict) and val and not node.map_atomic:
        return _prune_map(val, node, path, last, managed)
    if isinstance(val, list) and val and node.list_kind != ATOMIC:
        return _prune_list(val, node, path, last, managed)
    return val


def _prune_map(val: dict[str, Any], node: Shape, path: Path, last: _Owned, managed: _Owned) -> Any:
    out: dict[str, Any] = {}
    changed = False
    for k, v in val.items():
        p = (*path, fp.field(k))
        if not last.touches(p):
            out[k] = v
            continue
        named = k in node.props
        if last.owns(p, named) and not managed.owns(p, named):
            changed = True
            continue
        nv = _prune(v, node.field(k), p, last, managed)
        if nv is DELETE:
            changed = True
            continue
        changed = changed or nv is not v
        out[k] = nv
    if not changed:
        return val
    return out if out else DELETE


def _prune_list(val: list[Any], node: Shape, path: Path, last: _Owned, managed: _Owned) -> Any:
    pes = index_items(val, node, path)
    kind, keys = node.list_kind, node.list_keys
    items = node.items()
    out: list[Any] = []
    changed = False
    for pe, item in zip(pes, val, strict=True):
        p = (*path, pe)
        if not last.touches(p):
            out.append(item)
            continue
        if last.owns(p, False) and not managed.owns(p, False):
            changed = True
            continue
        ni = _prune(item, items, p, last, managed) if kind == MAP else item
        if ni is not item and isinstance(item, dict):
            # A kept item keeps what identifies it, whoever owned its key fields.
            kept = {} if ni is DELETE else ni
            ni = {**{k: item[k] for k in keys if k in item and k not in kept}, **kept}
        changed = changed or ni is not item
        out.append(ni)
    if not changed:
        return val
    return out if out else DELETE
