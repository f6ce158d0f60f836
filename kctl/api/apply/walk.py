"""Schema-aware walks over objects: field sets, comparisons, list item identity.

Server-side apply sees an object as a tree whose shape comes from the kind's schema
(:class:`~kctl.api.schema_nav.SchemaNode`), the way structured-merge-diff types it:

* a map is granular (each key its own field) unless ``x-kubernetes-map-type: atomic``;
  where the schema knows nothing, a map is granular (labels, annotations, ConfigMap data);
* a list is atomic (owned and replaced whole) unless ``x-kubernetes-list-type`` says
  ``map`` (items identified by ``x-kubernetes-list-map-keys``) or ``set`` (items
  identified by value). As in kube-openapi, a list with only the strategic-merge
  extensions is a map keyed by its ``patch-merge-key`` (or a set without one). Lists the
  schema knows nothing about are atomic.
* a missing list-map key takes its default. Kubernetes' OpenAPI carries
  ``default: "TCP"`` for the ``protocol`` of container and service ports; the schemas
  shipped by kubernetes-validate drop ``default``, so those two are listed in
  :data:`kctl.api.apply.shape.KEY_DEFAULTS`.

The schema facts come from :mod:`.shape`, which remembers them per schema node.

Two walks are built on that, mirroring structured-merge-diff:

:func:`to_field_set` (``ToFieldSet``) is what an applier owns: every leaf it sets, every
list item (the item itself and its fields, hence the ``.`` in FieldsV1), a map field only
when its value is null or ``{}``, and a key that is not a declared field (label keys).

:func:`compare` (``Compare``) is what a write changed: leaves whose value changed go to
``modified``; nodes present on one side only go to ``added``/``removed``, including
non-leaf nodes (so a map or list item created by an update is owned with its ``.``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kctl.api import upstream
from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import FieldSet, Path, PathElement
from kctl.api.apply.shape import ATOMIC, MAP, SET, Shape, shape_of
from kctl.api.schema_nav import SchemaNode


class WalkError(ValueError):
    """An object that cannot be typed: a list-map item without its key, a duplicate."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.detail = message
        where = fp.path_string(path)
        super().__init__(f"{where}: {message}" if where else message)


class _Missing:
    """Absent (as opposed to JSON null) on one side of a comparison."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# --- list item identity ----------------------------------------------------------------------


def item_element(
    item: Any, items: Shape, kind: str, keys: tuple[str, ...], path: Path, i: int
) -> PathElement:
    """The path element of one item of an associative list."""
    if kind == SET:
        return fp.value(item)
    if not isinstance(item, dict):
        raise WalkError(
            path, f"element {i}: associative list with keys has an element that is not a map"
        )
    fields: dict[str, Any] = {}
    for name in keys:
        got = item.get(name)
        if got is not None:
            fields[name] = got
            continue
        has_default, default = items.key_default(name)
        if not has_default:
            raise WalkError(
                path,
                f"element {i}: associative list with keys has an element that omits key "
                f'field "{name}" (and doesn\'t have default value)',
            )
        fields[name] = default
    return fp.key(fields)


def index_items(items_list: list[Any], node: Shape, path: Path) -> list[PathElement]:
    """Path elements of every item of a map or set list, in order (duplicates kept)."""
    items, kind, keys = node.items(), node.list_kind, node.list_keys
    return [item_element(item, items, kind, keys, path, i) for i, item in enumerate(items_list)]


# --- ToFieldSet ---------------------------------------------------------------------------------


def to_field_set(
    obj: dict[str, Any], schema: SchemaNode | Shape, *, allow_duplicates: bool = False
) -> FieldSet:
    """The fields an applier of ``obj`` owns (structured-merge-diff's ``ToFieldSet``).

    Duplicate list items are an error unless ``allow_duplicates`` (then a duplicated
    item is owned as a whole, without its fields).
    """
    out: FieldSet = set()
    _to_set(obj, shape_of(schema), (), out, allow_duplicates)
    return out


def _to_set(val: Any, node: Shape, path: Path, out: FieldSet, dups: bool) -> None:
    if isinstance(val, dict):
        if node.map_atomic:
            out.add(path)
            return
        for k, v in val.items():
            p = (*path, fp.field(k))
            _to_set(v, node.field(k), p, out, dups)
            if v is None or (isinstance(v, dict) and not v) or k not in node.props:
                out.add(p)
        return
    if isinstance(val, list):
        kind = node.list_kind
        if kind == ATOMIC:
            out.add(path)
            return
        items = node.items()
        pes = index_items(val, node, path)
        seen: set[PathElement] = set()
        duplicated: set[PathElement] = set()
        for pe in pes:
            if pe in seen:
                if not dups:
                    raise WalkError(path, f"duplicate entries for key {fp.element_string(pe)}")
                duplicated.add(pe)
            seen.add(pe)
        for pe, item in zip(pes, val, strict=True):
            p = (*path, pe)
            out.add(p)
            if pe not in duplicated and kind == MAP:
                _to_set(item, items, p, out, dups)
        return
    if path:
        out.add(path)


# --- Compare ---------------------------------------------------------------------------------------


@dataclass
class Comparison:
    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.added or self.modified or self.removed)

    def changed(self) -> FieldSet:
        """Added or modified: what a writer takes over."""
        return self.added | self.modified

    def without(self, roots: list[Path]) -> Comparison:
        """The comparison with everything at or below ``roots`` left out."""
        if not roots:
            return self
        return Comparison(
            self.added - fp.under(self.added, roots),
            self.modified - fp.under(self.modified, roots),
            self.removed - fp.under(self.removed, roots),
        )


def same(a: Any, b: Any) -> bool:
    """JSON equality (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def compare(old: Any, new: Any, schema: SchemaNode | Shape) -> Comparison:
    """What changed from ``old`` to ``new`` (``MISSING`` for an absent side)."""
    c = Comparison()
    _compare(old, new, shape_of(schema), (), c)
    return c


def _leaf(lhs: Any, rhs: Any, path: Path, c: Comparison) -> None:
    if not path:
        return
    if lhs is MISSING:
        c.added.add(path)
    elif rhs is MISSING:
        c.removed.add(path)
    elif not same(lhs, rhs):
        c.modified.add(path)


def _node_hook(lhs: Any, rhs: Any, path: Path, c: Comparison) -> None:
    if not path:
        return
    if lhs is MISSING:
        c.added.add(path)
    elif rhs is MISSING:
        c.removed.add(path)


def _compare(lhs: Any, rhs: Any, node: Shape, path: Path, c: Comparison) -> None:
    if lhs is not MISSING and rhs is not MISSING and same(lhs, rhs):
        return
    lmap, rmap = isinstance(lhs, dict), isinstance(rhs, dict)
    if (
        (lmap or rmap)
        and (lmap or lhs is None or lhs is MISSING)
        and (rmap or rhs is None or rhs is MISSING)
    ):
        lm: dict[str, Any] = lhs if lmap else {}
        rm: dict[str, Any] = rhs if rmap else {}
        if node.map_atomic or (not lm and not rm):
            _leaf(lhs, rhs, path, c)
            return
        for k in lm:
            _compare(lm[k], rm.get(k, MISSING), node.field(k), (*path, fp.field(k)), c)
        for k in rm:
            if k not in lm:
                _compare(MISSING, rm[k], node.field(k), (*path, fp.field(k)), c)
        _node_hook(lhs, rhs, path, c)
        return
    llist, rlist = isinstance(lhs, list), isinstance(rhs, list)
    if (
        (llist or rlist)
        and (llist or lhs is None or lhs is MISSING)
        and (rlist or rhs is None or rhs is MISSING)
    ):
        ll: list[Any] = lhs if llist else []
        rl: list[Any] = rhs if rlist else []
        if node.list_kind == ATOMIC or (not ll and not rl):
            _leaf(lhs, rhs, path, c)
            return
        _compare_items(ll, rl, node, path, c)
        _node_hook(lhs, rhs, path, c)
        return
    _leaf(lhs, rhs, path, c)


def _group(items: list[Any], pes: list[PathElement]) -> dict[PathElement, list[Any]]:
    out: dict[PathElement, list[Any]] = {}
    for pe, item in zip(pes, items, strict=True):
        out.setdefault(pe, []).append(item)
    return out


def _compare_items(ll: list[Any], rl: list[Any], node: Shape, path: Path, c: Comparison) -> None:
    lg = _group(ll, index_items(ll, node, path))
    rg = _group(rl, index_items(rl, node, path))
    items = node.items()
    for pe in {**lg, **rg}:
        p = (*path, pe)
        lv, rv = lg.get(pe), rg.get(pe)
        if lv is not None and rv is not None and (len(lv) > 1 or len(rv) > 1):
            # Duplicated items are compared as a whole.
            if not same(lv, rv):
                c.modified.add(p)
            continue
        lhs = lv[0] if lv is not None else MISSING
        rhs = rv[0] if rv is not None else MISSING
        if node.list_kind == SET:
            _leaf(lhs, rhs, p, c)
        else:
            _compare(lhs, rhs, items, p, c)


# --- the zero object ------------------------------------------------------------------------------

_VALUE_STRUCT_SUFFIXES = ("Spec", "Status", "Strategy")
_zero_cache: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _value_struct(prop: Any) -> bool:
    ref = prop.get("$ref") if isinstance(prop, dict) else None
    if not isinstance(ref, str):
        return False
    short = upstream.ref_name(ref).rsplit(".", 1)[-1]
    return short == "ObjectMeta" or short.endswith(_VALUE_STRUCT_SUFFIXES)


def zero_object(schema: SchemaNode) -> dict[str, Any]:
    """The kind's empty object as a Go zero value serializes (the "old" side of a create).

    kube-apiserver compares a created object with an empty typed object, in which
    non-pointer structs (metadata, spec, status, pod templates, strategies) exist as
    ``{}`` and required lists are ``null``; those nodes are therefore never "added" and
    get no ``.`` in the creator's FieldsV1. Go types are not in the schema, so struct
    values are recognised by their definition name (``ObjectMeta``, ``*Spec``,
    ``*Status``, ``*Strategy``) and required list/map fields by ``required``. The result
    is shared: do not mutate it.
    """
    cached = _zero_cache.get(id(schema.schema))
    if cached is not None and cached[0] is schema.schema:
        return cached[1]
    out = _zero(schema, 0)
    _zero_cache[id(schema.schema)] = (schema.schema, out)
    return out


def _zero(node: SchemaNode, depth: int) -> dict[str, Any]:
    resolved = node.resolved()
    props = resolved.get("properties")
    if not isinstance(props, dict) or depth > 8:
        return {}
    required = set(resolved.get("required") or [])
    out: dict[str, Any] = {}
    for name, prop in props.items():
        if _value_struct(prop):
            out[name] = _zero(node.field(name), depth + 1)
        elif name in required and node.field(name).types & {"array", "object"}:
            out[name] = None
    return out


def with_zero(obj: dict[str, Any], zero: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with the zero object's nodes it lacks, as its typed Go form would have them."""
    out: dict[str, Any] | None = None
    for k, z in zero.items():
        v = obj.get(k, MISSING)
        if v is MISSING:
            nv = z
        elif isinstance(v, dict) and isinstance(z, dict) and z:
            nv = with_zero(v, z)
            if nv is v:
                continue
        else:
            continue
        if out is None:
            out = dict(obj)
        out[k] = nv
    return obj if out is None else out
