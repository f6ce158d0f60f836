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

Every write to the API server runs these walks, so two shortcuts serve
:func:`~kctl.api.apply.track_update` with the same results:

* :func:`created_fields_v1`: a create compares the object with the kind's zero object,
  where nearly everything is "added"; the creator's FieldsV1 tree is built during that
  one walk, in upstream's order, without path tuples, sets or a sort;
* :func:`compare_objects`: an update compares the stored and the new object, both typed
  (:func:`with_zero`); equal subtrees are skipped with one C-speed ``==`` and the zero
  object is filled in only along the maps that differ.

The walks dispatch on a value's exact type (one dict lookup) and record leaves without
looking up their schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kctl.api import upstream
from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import FIELD, SELF, Exclusions, FieldSet, Path, PathElement
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
    if kind == MAP and len(keys) == 1:
        # The usual list map (containers by name, conditions by type): one key, a
        # string or number, as fp.key encodes it.
        name = keys[0]
        out: list[PathElement] = []
        for i, item in enumerate(items_list):
            got = item.get(name) if type(item) is dict else None
            if type(got) is str or type(got) is int:
                out.append(fp.scalar_key(((name, got),)))
            else:
                out.append(item_element(item, items, kind, keys, path, i))
        return out
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
    return bool(a == b) and (type(a) is bool) is (type(b) is bool)


# A value's kind by its exact type, one dict lookup; other types (subclasses of dict or
# list) go through isinstance.
_SCALAR, _MAP, _LIST = 0, 1, 2
_KINDS: dict[type, int] = {
    str: _SCALAR,
    int: _SCALAR,
    bool: _SCALAR,
    float: _SCALAR,
    type(None): _SCALAR,
    dict: _MAP,
    list: _LIST,
}


# Values without children: a walk records them without looking up their schema.
_LEAF = frozenset({str, int, bool, float, type(None)})


def _kind_of(val: Any) -> int:
    return _MAP if isinstance(val, dict) else _LIST if isinstance(val, list) else _SCALAR


def compare(old: Any, new: Any, schema: SchemaNode | Shape) -> Comparison:
    """What changed from ``old`` to ``new`` (``MISSING`` for an absent side)."""
    c = Comparison()
    if old is MISSING or new is MISSING or not same(old, new):
        _compare(old, new, shape_of(schema), (), c)
    return c


def _compare(lhs: Any, rhs: Any, node: Shape, path: Path, c: Comparison) -> None:
    """Compare two values that differ (not both present and ``same``)."""
    if lhs is MISSING:
        _one_side(rhs, node, path, c.added)
        return
    if rhs is MISSING:
        _one_side(lhs, node, path, c.removed)
        return
    lk = _KINDS.get(type(lhs))
    if lk is None:
        lk = _kind_of(lhs)
    rk = _KINDS.get(type(rhs))
    if rk is None:
        rk = _kind_of(rhs)
    if lk == _MAP or rk == _MAP:
        if (lk == _MAP or lhs is None) and (rk == _MAP or rhs is None):
            lm: dict[str, Any] = lhs if lk == _MAP else {}
            rm: dict[str, Any] = rhs if rk == _MAP else {}
            if node.map_atomic or (not lm and not rm):
                if path:
                    c.modified.add(path)
                return
            for k, lv in lm.items():
                rv = rm.get(k, MISSING)
                if rv is MISSING:
                    if type(lv) in _LEAF:
                        c.removed.add((*path, FIELD + k))
                    else:
                        _one_side(lv, node.field(k), (*path, FIELD + k), c.removed)
                elif not (lv == rv and (type(lv) is bool) is (type(rv) is bool)):
                    if type(lv) in _LEAF and type(rv) in _LEAF:
                        c.modified.add((*path, FIELD + k))
                    else:
                        _compare(lv, rv, node.field(k), (*path, FIELD + k), c)
            for k, rv in rm.items():
                if k not in lm:
                    if type(rv) in _LEAF:
                        c.added.add((*path, FIELD + k))
                    else:
                        _one_side(rv, node.field(k), (*path, FIELD + k), c.added)
            return
    elif lk == _LIST or rk == _LIST:
        if (lk == _LIST or lhs is None) and (rk == _LIST or rhs is None):
            ll: list[Any] = lhs if lk == _LIST else []
            rl: list[Any] = rhs if rk == _LIST else []
            if node.list_kind == ATOMIC or (not ll and not rl):
                if path:
                    c.modified.add(path)
                return
            _compare_items(ll, rl, node, path, c)
            return
    if path:
        c.modified.add(path)


def _one_side(val: Any, node: Shape, path: Path, out: FieldSet) -> None:
    """A value present on one side only: it and everything below it are added (removed)."""
    if path:
        out.add(path)
    kind = _KINDS.get(type(val))
    if kind is None:
        kind = _kind_of(val)
    if kind == _MAP:
        if val and not node.map_atomic:
            for k, v in val.items():
                if type(v) in _LEAF:
                    out.add((*path, FIELD + k))
                else:
                    _one_side(v, node.field(k), (*path, FIELD + k), out)
    elif kind == _LIST and val and node.list_kind != ATOMIC:
        pes = index_items(val, node, path)
        if node.list_kind == SET:
            out.update([(*path, pe) for pe in pes])
            return
        items = node.items()
        seen: set[PathElement] = set()
        for pe, item in zip(pes, val, strict=True):
            if pe not in seen:  # a duplicated item counts by its first occurrence
                seen.add(pe)
                _one_side(item, items, (*path, pe), out)


def _group(items: list[Any], pes: list[PathElement]) -> dict[PathElement, list[Any]]:
    out: dict[PathElement, list[Any]] = {}
    for pe, item in zip(pes, items, strict=True):
        out.setdefault(pe, []).append(item)
    return out


def _compare_items(ll: list[Any], rl: list[Any], node: Shape, path: Path, c: Comparison) -> None:
    lpes = index_items(ll, node, path)
    rpes = index_items(rl, node, path)
    items = node.items()
    is_set = node.list_kind == SET
    if lpes == rpes and len(set(lpes)) == len(lpes):
        # The same items in the same order (the usual update): compared pairwise.
        for pe, lhs, rhs in zip(lpes, ll, rl, strict=True):
            if not (lhs == rhs and (type(lhs) is bool) is (type(rhs) is bool)):
                if is_set:
                    c.modified.add((*path, pe))
                else:
                    _compare(lhs, rhs, items, (*path, pe), c)
        return
    lg = _group(ll, lpes)
    rg = _group(rl, rpes)
    for pe in {**lg, **rg}:
        p = (*path, pe)
        lv, rv = lg.get(pe), rg.get(pe)
        if lv is None:
            assert rv is not None
            if is_set:
                c.added.add(p)
            else:
                _one_side(rv[0], items, p, c.added)
        elif rv is None:
            if is_set:
                c.removed.add(p)
            else:
                _one_side(lv[0], items, p, c.removed)
        elif len(lv) > 1 or len(rv) > 1:
            # Duplicated items are compared as a whole.
            if not same(lv, rv):
                c.modified.add(p)
        else:
            lhs, rhs = lv[0], rv[0]
            if not same(lhs, rhs):
                if is_set:
                    c.modified.add(p)
                else:
                    _compare(lhs, rhs, items, p, c)


# --- the fields of a create, as FieldsV1 ------------------------------------------------------------
#
# A create compares the object with the kind's zero object (see zero_object): nearly
# everything is "added", and the creator's entry is that set encoded. Building the
# FieldsV1 tree during the walk, level by level in upstream's order, skips the path
# tuples, the set and the sort of its encoding. The result equals
# ``to_fields_v1(compare(zero, with_zero(obj, zero)).changed() - exclusions)``; an
# object the walk cannot type raises WalkError, and the caller runs that compare to
# report it as before.


def created_fields_v1(
    obj: dict[str, Any], zero: dict[str, Any], schema: SchemaNode | Shape, excluded: Exclusions
) -> dict[str, Any]:
    """The FieldsV1 tree of what creating ``obj`` sets (see above)."""
    tree = _created(obj, zero, shape_of(schema), excluded)
    if not tree:
        return {}
    tree.pop(SELF, None)  # the root is never a member
    return tree


def _added_tree(val: Any, node: Shape) -> dict[str, Any]:
    """The FieldsV1 subtree of a value that is added whole (it is a member)."""
    kind = _KINDS.get(type(val))
    if kind is None:
        kind = _kind_of(val)
    if kind == _MAP:
        if not val or node.map_atomic:
            return {}
        out: dict[str, Any] = {SELF: {}}
        field_shape = node.field
        for k in sorted(val):
            v = val[k]
            out[FIELD + k] = {} if type(v) in _LEAF else _added_tree(v, field_shape(k))
        return out
    if kind == _LIST and val and node.list_kind != ATOMIC:
        return {SELF: {}, **_items_tree(val, node)}
    return {}


def _items_tree(val: list[Any], node: Shape) -> dict[str, Any]:
    """The FieldsV1 children of a map or set list whose items are all added."""
    pes = index_items(val, node, ())
    if node.list_kind == SET:
        if len(pes) == 1:
            return {pes[0]: {}}
        return {pe: {} for pe in sorted(set(pes), key=fp.element_order)}
    items = node.items()
    if len(pes) == 1:
        return {pes[0]: _added_tree(val[0], items)}
    first: dict[PathElement, Any] = {}
    for pe, item in zip(pes, val, strict=True):
        if pe not in first:  # a duplicated item counts by its first occurrence
            first[pe] = item
    return {pe: _added_tree(first[pe], items) for pe in sorted(first, key=fp.element_order)}


def _created(
    val: Any, zero: Any, node: Shape, excluded: Exclusions | None
) -> dict[str, Any] | None:
    """The FieldsV1 subtree of ``val`` compared with the zero value ``zero`` (``MISSING``,
    ``None`` or a map: all a zero object holds), exclusions applied; ``None`` when
    nothing is set."""
    if zero is MISSING and excluded is None:
        return _added_tree(val, node)
    kind = _KINDS.get(type(val))
    if kind is None:
        kind = _kind_of(val)
    children: dict[str, Any] | None = None
    member = True  # added, or a leaf that differs: modified
    if zero is MISSING:
        if kind == _MAP:
            if val and not node.map_atomic:
                children = _created_fields(val, None, node, excluded)
        elif kind == _LIST and val and node.list_kind != ATOMIC:
            children = _items_tree(val, node)
    elif zero is None:
        if val is None:
            return None
        if kind == _MAP:
            if val and not node.map_atomic:
                member, children = False, _created_fields(val, None, node, excluded)
        elif kind == _LIST and val and node.list_kind != ATOMIC:
            member, children = False, _items_tree(val, node)
    elif kind == _MAP:  # a zero map: an object the Go type always has
        if val == zero:
            return None
        if not node.map_atomic:
            member, children = False, _created_fields(val, zero, node, excluded)
    elif val is None and zero and not node.map_atomic:
        return None  # only removals, which a create does not record
    if excluded is not None:
        if excluded.subtree:
            return None
        if excluded.member:
            member = False
    if children:
        return {SELF: {}, **children} if member else children
    return {} if member else None


def _created_fields(
    val: dict[str, Any], zero: dict[str, Any] | None, node: Shape, excluded: Exclusions | None
) -> dict[str, Any]:
    subs = excluded.children if excluded is not None else None
    field_shape = node.field
    out: dict[str, Any] = {}
    for k in sorted(val):
        pe = FIELD + k
        v = val[k]
        z = zero.get(k, MISSING) if zero else MISSING
        excl = subs.get(pe) if subs else None
        if type(v) in _LEAF and (z is MISSING or z is None):
            if (excl is None or not (excl.member or excl.subtree)) and (
                v is not None or z is MISSING
            ):
                out[pe] = {}  # set or changed, and not excluded
            continue
        if z is MISSING and excl is None:
            out[pe] = _added_tree(v, field_shape(k))
            continue
        sub = _created(v, z, field_shape(k), excl)
        if sub is not None:
            out[pe] = sub
    return out


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


def compare_objects(
    old: dict[str, Any],
    new: dict[str, Any],
    zero: dict[str, Any],
    schema: SchemaNode | Shape,
    reset: list[Path],
) -> Comparison:
    """What an update changed, the objects typed (``with_zero``) and ``reset`` left out.

    Equals ``compare(with_zero(old, zero), with_zero(new, zero), schema).without(reset)``
    while filling in the zero object only along the maps that differ, and comparing a
    top-level reset field only to find an object that cannot be typed. Which WalkError
    is raised, when an object has several faults, may differ: for the message, run the
    comparison above.
    """
    c = Comparison()
    if old == new:
        return c
    heads = {path[0] for path in reset if len(path) == 1}
    deep = [path for path in reset if len(path) > 1]
    _compare_zeroed(old, new, zero, shape_of(schema), (), c, heads)
    return c.without(deep)


def _compare_zeroed(
    lhs: dict[str, Any],
    rhs: dict[str, Any],
    zero: dict[str, Any],
    node: Shape,
    path: Path,
    c: Comparison,
    reset: set[PathElement] | None = None,
) -> None:
    """``_compare(with_zero(lhs, zero), with_zero(rhs, zero), ...)`` for two maps; what is
    below an element of ``reset`` is compared into a comparison thrown away."""
    if node.map_atomic:
        lz, rz = with_zero(lhs, zero), with_zero(rhs, zero)
        if not same(lz, rz):
            _compare(lz, rz, node, path, c)
        return
    # A zero field both sides lack is the zero value on both: equal.
    for k, lv in lhs.items():
        rv = rhs.get(k, MISSING)
        if rv is not MISSING and lv == rv and (type(lv) is bool) is (type(rv) is bool):
            continue  # equal, and equal typed
        _compare_field(k, lv, rv, zero, node, path, c, reset)
    for k, rv in rhs.items():
        if k not in lhs:
            _compare_field(k, MISSING, rv, zero, node, path, c, reset)


def _compare_field(
    k: str,
    lv: Any,
    rv: Any,
    zero: dict[str, Any],
    node: Shape,
    path: Path,
    c: Comparison,
    reset: set[PathElement] | None,
) -> None:
    pe = FIELD + k
    if reset and pe in reset:
        c = Comparison()  # compared for its errors only
    z = zero.get(k, MISSING)
    if z is not MISSING:
        if lv is MISSING:
            lv = z
        if rv is MISSING:
            rv = z
        if z and isinstance(z, dict):
            if isinstance(lv, dict) and isinstance(rv, dict):
                _compare_zeroed(lv, rv, z, node.field(k), (*path, pe), c)
                return
            if isinstance(lv, dict):
                lv = with_zero(lv, z)
            if isinstance(rv, dict):
                rv = with_zero(rv, z)
        if same(lv, rv):
            return
    _compare(lv, rv, node.field(k), (*path, pe), c)
