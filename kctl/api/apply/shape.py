"""What the schema says about one point of an object, asked once and remembered.

Every apply and every tracked write walks whole objects, and at each node needs the
same few answers from the schema: the declared fields, whether a map is atomic, how a
list is keyed, the default of a list-map key. :class:`SchemaNode` resolves ``$ref`` on
each question, which made schema lookups most of the cost of a write. A :class:`Shape`
holds the answers for one schema node, and shapes are cached per schema dict (the
upstream definitions live for the whole process), so a walk does dict lookups only.

Children are memoized for declared fields only: the values of a free-form map (labels,
annotations, ConfigMap data) share one child shape, so arbitrary keys never grow the
cache.

The typing rules themselves (atomic vs granular, list keys, key defaults) are described
in :mod:`kctl.api.apply.walk`.
"""

from __future__ import annotations

from typing import Any

from kctl.api import upstream
from kctl.api.schema_nav import SchemaNode

# Defaults of list-map key fields that the shipped schemas do not carry.
KEY_DEFAULTS: dict[tuple[str, str], Any] = {
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
}

ATOMIC = "atomic"
MAP = "map"
SET = "set"


def _list_kind(node: SchemaNode) -> tuple[str, tuple[str, ...]]:
    explicit = node.ext("list-type")
    if explicit == MAP:
        keys = tuple(node.list_map_keys)
        return (MAP, keys) if keys else (ATOMIC, ())
    if explicit == SET:
        return SET, ()
    if explicit is None and "merge" in node.patch_strategies:
        merge_key = node.patch_merge_key
        return (MAP, (merge_key,)) if merge_key else (SET, ())
    return ATOMIC, ()


class Shape:
    """The schema facts of one node (see the module docstring)."""

    __slots__ = (
        "node",
        "props",
        "map_atomic",
        "list_kind",
        "list_keys",
        "ref",
        "_fields",
        "_other",
        "_items",
        "_defaults",
    )

    def __init__(self, node: SchemaNode) -> None:
        resolved = node.resolved()  # noqa: SLF001 - schema_nav offers no public accessor
        props = resolved.get("properties")
        self.node = node
        self.props: frozenset[str] = frozenset(props) if isinstance(props, dict) else frozenset()
        self.map_atomic = node.map_type == ATOMIC
        self.list_kind, self.list_keys = _list_kind(node)
        ref = node.schema.get("$ref")
        self.ref = upstream.ref_name(ref) if isinstance(ref, str) else None
        self._fields: dict[str, Shape] = {}
        self._other: Shape | None = None
        self._items: Shape | None = None
        self._defaults: dict[str, tuple[bool, Any]] = {}

    def field(self, name: str) -> Shape:
        """The shape of a field, or of a map's values."""
        child = self._fields.get(name)
        if child is not None:
            return child
        if name in self.props:
            child = self._fields[name] = shape_of(self.node.field(name))
            return child
        if self._other is None:
            self._other = shape_of(self.node.field(name))
        return self._other

    def items(self) -> Shape:
        if self._items is None:
            self._items = shape_of(self.node.items())
        return self._items

    def key_default(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` when key field ``name`` of this item type has a default."""
        found = self._defaults.get(name)
        if found is None:
            prop = self.node.field(name).schema
            if "default" in prop:
                found = (True, prop["default"])
            elif self.ref is not None and (self.ref, name) in KEY_DEFAULTS:
                found = (True, KEY_DEFAULTS[(self.ref, name)])
            else:
                found = (False, None)
            self._defaults[name] = found
        return found


_cache: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any], Shape]] = {}
EMPTY = Shape(SchemaNode.empty())


def shape_of(node: SchemaNode | Shape) -> Shape:
    """The (cached) shape of a schema node."""
    if isinstance(node, Shape):
        return node
    if not node.schema:
        return EMPTY
    key = (id(node.schema), id(node.defs))
    hit = _cache.get(key)
    if hit is not None and hit[0] is node.schema and hit[1] is node.defs:
        return hit[2]
    shape = Shape(node)
    _cache[key] = (node.schema, node.defs, shape)
    return shape
