"""Field paths, field sets and their FieldsV1 wire form.

Server-side apply reasons about sets of field paths: what a manager owns, what a request
changed, what collides. ``metadata.managedFields[].fieldsV1`` is such a set written as a
JSON tree, and kubectl, controllers and users read it, so it must come out exactly as
kube-apiserver (structured-merge-diff) writes it.

Design: a path element is kept in its FieldsV1 key form (``f:name``,
``k:{"name":"web"}``, ``v:"x"``, ``i:0``) and a path is a tuple of those strings. A
field set is then a plain Python set of tuples: union, difference and intersection are
C-speed set operations, a managedFields tree decodes to a set without parsing any key,
and encoding needs only to sort each level's keys (plain string order when they are all
fields). Keys are parsed (cached) only to sort them in upstream's order and to print a
path in a conflict message (``.spec.template.spec.containers[name="nginx"].image``).

Upstream's rules reproduced here:

* ``k:`` and ``v:`` carry compact JSON as Go's encoder writes it: map keys sorted, ``<``,
  ``>``, ``&`` escaped as ``\\u003c`` ...; associative-list keys are ordered by field name.
* Within one tree level, ``.`` (the node itself is owned, written only when the node also
  has owned children) comes first, then ``f:`` by name (bytewise), then ``k:`` by key
  (field by field, numbers numerically), then ``v:`` by value, then ``i:``. Values order
  numbers < strings < booleans < lists < maps < null.
* A member without children is ``{}``; a node that is only a prefix has no ``.``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

PathElement = str
Path = tuple[PathElement, ...]
FieldSet = set[Path]

FIELD = "f:"
KEY = "k:"
VALUE = "v:"
INDEX = "i:"
SELF = "."


class FieldsV1Error(ValueError):
    """A managedFields tree that is not valid FieldsV1."""


# --- Go-compatible compact JSON ---------------------------------------------------------

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\b": "\\u0008",
    "\f": "\\u000c",
}


def _go_number(value: float) -> Any:
    # Go writes an integral float64 without a fraction (80, not 80.0).
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _normalize(value: Any) -> Any:
    if isinstance(value, float):
        return _go_number(value)
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def go_json(value: Any) -> str:
    """Compact JSON as Go's ``encoding/json`` writes it (sorted keys, HTML-safe)."""
    text = json.dumps(_normalize(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if any(ch in text for ch in _GO_ESCAPES):
        for raw, escaped in _GO_ESCAPES.items():
            text = text.replace(raw, escaped)
    return text


# --- building path elements --------------------------------------------------------------


def field(name: str) -> PathElement:
    return FIELD + name


def key(fields: Mapping[str, Any]) -> PathElement:
    """The element of an associative-list item identified by ``fields`` (sorted by name)."""
    items = tuple(sorted(fields.items()))
    if all(type(v) is str or type(v) is int for _, v in items):  # not bool: True == 1
        return scalar_key(items)  # the usual case (names, ports): cached
    return KEY + go_json(dict(fields))


@functools.lru_cache(maxsize=16384)
def scalar_key(items: tuple[tuple[str, str | int], ...]) -> PathElement:
    """:func:`key` of string and integer fields, given sorted by name (cached)."""
    return KEY + go_json(dict(items))


def value(item: Any) -> PathElement:
    """The element of a set item (``x-kubernetes-list-type: set``)."""
    return VALUE + go_json(item)


def index(i: int) -> PathElement:
    return INDEX + str(i)


# --- ordering ------------------------------------------------------------------------------


def value_order(item: Any) -> tuple[Any, ...]:
    """A sort key giving structured-merge-diff's total order over JSON values."""
    if isinstance(item, bool):
        return (2, item)
    if isinstance(item, int | float):
        return (0, item)
    if isinstance(item, str):
        return (1, item)
    if isinstance(item, list):
        return (3, tuple(value_order(v) for v in item))
    if isinstance(item, dict):
        return (4, tuple((k, value_order(item[k])) for k in sorted(item)))
    return (5,)


@functools.lru_cache(maxsize=8192)
def element_order(pe: PathElement) -> tuple[Any, ...]:
    """Sort key of a path element: fields, then keys, then values, then indexes."""
    kind, payload = parse_element(pe)
    if kind == FIELD:
        return (0, payload)
    if kind == KEY:
        return (1, tuple((k, value_order(v)) for k, v in sorted(payload.items())))
    if kind == VALUE:
        return (2, value_order(payload))
    return (3, payload)


@functools.lru_cache(maxsize=8192)
def parse_element(pe: PathElement) -> tuple[str, Any]:
    """``(prefix, payload)``: the field name, the key map, the set value or the index."""
    prefix, body = pe[:2], pe[2:]
    if prefix == FIELD:
        return prefix, body
    try:
        if prefix == KEY:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise FieldsV1Error(f"invalid key element {pe!r}: not a map")
            return prefix, payload
        if prefix == VALUE:
            return prefix, json.loads(body)
        if prefix == INDEX:
            return prefix, int(body)
    except ValueError as err:
        raise FieldsV1Error(f"invalid path element {pe!r}: {err}") from err
    raise FieldsV1Error(f"invalid path element {pe!r}: unknown prefix")


# --- printing --------------------------------------------------------------------------------


def _to_string(item: Any) -> str:
    # structured-merge-diff's value.ToString: strings quoted, the rest as Go prints them.
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    if isinstance(item, float):
        return repr(_go_number(item))
    if isinstance(item, list):
        return "[" + ",".join(_to_string(v) for v in item) + "]"
    if isinstance(item, dict):
        return "{" + ",".join(f"{k}={_to_string(item[k])}" for k in sorted(item)) + "}"
    return str(item)


def element_string(pe: PathElement) -> str:
    kind, payload = parse_element(pe)
    if kind == FIELD:
        return "." + payload
    if kind == KEY:
        return "[" + ",".join(f"{k}={_to_string(payload[k])}" for k in sorted(payload)) + "]"
    if kind == VALUE:
        return "[=" + _to_string(payload) + "]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    """How kube-apiserver prints a path: ``.spec.ports[port=80,protocol="TCP"].name``."""
    return "".join(element_string(pe) for pe in path)


# --- FieldsV1 trees ----------------------------------------------------------------------------


def from_fields_v1(tree: Any) -> FieldSet:
    """Decode a ``fieldsV1`` tree into a field set."""
    if not isinstance(tree, dict):
        raise FieldsV1Error("fieldsV1 must be a JSON object")
    out: FieldSet = set()
    _decode(tree, (), out)
    return out


def _decode(tree: dict[str, Any], prefix: Path, out: FieldSet) -> None:
    for pe, sub in tree.items():
        if pe == SELF:
            continue
        if not isinstance(sub, dict):
            raise FieldsV1Error(f"fieldsV1 at {pe!r} must be a JSON object")
        if pe[:2] not in (FIELD, KEY, VALUE, INDEX):
            raise FieldsV1Error(f"invalid path element {pe!r}: unknown prefix")
        path = (*prefix, pe)
        if not sub or SELF in sub:
            out.add(path)
        if sub:
            _decode(sub, path, out)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a field set as a ``fieldsV1`` tree, in upstream's key order."""
    # A tree of the paths first (a member marked by "."), then each level in order.
    root: dict[str, Any] = {}
    for path in paths:
        if not path:
            continue
        node = root
        for pe in path:
            child = node.get(pe)
            if child is None:
                child = node[pe] = {}
            node = child
        node[SELF] = None
    return _emit(root, False) if root else {}


def _emit(node: dict[str, Any], member: bool) -> dict[str, Any]:
    """The FieldsV1 of a tree node that has children (``member`` marks removed)."""
    ordered = sorted(node)
    if ordered[0][0] != "f" or ordered[-1][0] != "f":
        ordered.sort(key=element_order)  # not only fields ("f:" + name sorts as names do)
    out: dict[str, Any] = {SELF: {}} if member else {}
    for pe in ordered:
        child = node[pe]
        if len(child) == 1 and SELF in child:
            out[pe] = {}  # a member without children
        else:
            is_member = child.pop(SELF, _NOT_MEMBER) is None
            out[pe] = _emit(child, is_member)
    return out


_NOT_MEMBER = object()


def iter_sorted(paths: Iterable[Path]) -> Iterator[Path]:
    """The paths in upstream's iteration order (members of a level before its children)."""
    members = {p for p in paths if p}
    yield from _walk_sorted(to_fields_v1(members), (), members)


def _walk_sorted(tree: dict[str, Any], prefix: Path, members: set[Path]) -> Iterator[Path]:
    for pe in tree:
        if pe != SELF and (*prefix, pe) in members:
            yield (*prefix, pe)
    for pe, sub in tree.items():
        if pe != SELF and sub:
            yield from _walk_sorted(sub, (*prefix, pe), members)


def prefixes(paths: Iterable[Path]) -> set[Path]:
    """Every proper, non-empty prefix of the given paths."""
    return {path[:i] for path in paths for i in range(1, len(path))}


def under(paths: Iterable[Path], roots: Iterable[Path]) -> FieldSet:
    """The paths equal to or below one of ``roots`` (a recursive filter)."""
    root_set = {r for r in roots if r}
    if not root_set:
        return set()
    depth = max(map(len, root_set))
    if depth == 1:
        heads = {r[0] for r in root_set}
        return {p for p in paths if p and p[0] in heads}
    return {p for p in paths if any(p[:i] in root_set for i in range(1, min(len(p), depth) + 1))}


# --- editing FieldsV1 trees in place of re-encoding ---------------------------------------------
#
# A write usually moves a handful of fields between managers. Editing the stored trees
# along those paths (copying only what changes) keeps every other entry's dicts as they
# were and avoids decoding and re-encoding whole sets on the hot path.


def _is_member(sub: dict[str, Any]) -> bool:
    return not sub or SELF in sub


def tree_has(tree: dict[str, Any], path: Path) -> bool:
    """Is ``path`` a member of the set ``tree`` encodes?"""
    node: Any = tree
    for pe in path:
        node = node.get(pe) if isinstance(node, dict) else None
        if node is None:
            return False
    return isinstance(node, dict) and _is_member(node)


def _group(paths: Iterable[Path]) -> dict[PathElement, list[Path]]:
    out: dict[PathElement, list[Path]] = {}
    for path in paths:
        if path:
            out.setdefault(path[0], []).append(path[1:])
    return out


def _node(member: bool, children: dict[str, Any]) -> dict[str, Any]:
    return {SELF: {}, **children} if member and children else children


def tree_remove(tree: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``tree`` without the member ``paths`` (their subtrees stay)."""
    groups = _group(paths)
    if not groups:
        return tree
    out = dict(tree)
    for pe, rests in groups.items():
        sub = out.get(pe)
        if not isinstance(sub, dict):
            continue
        member = _is_member(sub) and all(rests)
        children = {k: v for k, v in sub.items() if k != SELF}
        deeper = [r for r in rests if r]
        if deeper:
            children = tree_remove(children, deeper)
        if children or member:
            out[pe] = _node(member, children)
        else:
            del out[pe]
    return out


def tree_add(tree: dict[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``tree`` with the member ``paths`` added, keys kept in upstream's order."""
    groups = _group(paths)
    if not groups:
        return tree
    out = dict(tree)
    grew = False
    for pe, rests in groups.items():
        sub = out.get(pe)
        if not isinstance(sub, dict):
            sub, grew = None, True
        member = (sub is not None and _is_member(sub)) or not all(rests)
        children = {k: v for k, v in (sub or {}).items() if k != SELF}
        deeper = [r for r in rests if r]
        if deeper:
            children = tree_add(children, deeper)
        out[pe] = _node(member, children)
    if grew:
        out = {k: out[k] for k in sorted(out, key=element_order)}
    return out


# --- excluded paths ---------------------------------------------------------------------------


class Exclusions:
    """Paths left out of a created field set: as exact paths (``member``) or with
    everything below them (``subtree``), arranged as a tree of path elements."""

    __slots__ = ("member", "subtree", "children")

    def __init__(self) -> None:
        self.member = False
        self.subtree = False
        self.children: dict[PathElement, Exclusions] = {}

    @classmethod
    def build(cls, exact: Iterable[Path], subtrees: Iterable[Path]) -> Exclusions:
        root = cls()
        for paths, whole in ((exact, False), (subtrees, True)):
            for path in paths:
                if not path:
                    continue
                node = root
                for pe in path:
                    child = node.children.get(pe)
                    if child is None:
                        child = node.children[pe] = cls()
                    node = child
                if whole:
                    node.subtree = True
                else:
                    node.member = True
        return root

    def held_by(self, tree: dict[str, Any]) -> bool:
        """Does the set ``tree`` encodes hold an excluded path (or one below a subtree)?"""
        children = self.children
        for pe in children.keys() & tree.keys():
            sub, node = children[pe], tree[pe]
            if not isinstance(node, dict):
                continue
            if sub.subtree or (sub.member and _is_member(node)):
                return True
            if sub.children and sub.held_by(node):
                return True
        return False
