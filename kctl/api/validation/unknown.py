"""Unknown fields (layer 2): what ``fieldValidation=Strict`` rejects, and pruning.

Why it exists: the schemas are open where kube-apiserver's decoder is not (upstream's
OpenAPI does not say ``additionalProperties: false``), so the schema layer cannot see
unknown fields. kube-apiserver reports them under ``Strict``, warns under ``Warn``, and
never stores them; this module finds them (and drops them, for the modes that do not
reject).

Design: :func:`build_shape` turns a kind's schema (once, when the kind is compiled) into
a tree of :class:`Shape` nodes: ``props`` for a closed struct, ``values`` for a map,
``items`` for a list. Recursive definitions share one node (memoised by ``$ref`` name
before recursing). Leaves and free-form nodes (``x-kubernetes-preserve-unknown-fields``)
collapse to a shared leaf, so :func:`walk_unknown` never descends into scalars or
free-form values. The walk reports paths like ``spec.template.spec.containers[0].bogus``
and, with ``prune``, deletes the unknown keys in place.
"""

from __future__ import annotations

from typing import Any

from kctl.api import upstream


class Shape:
    """What may appear at one point: ``props`` for a struct (closed), ``values`` for a
    map, ``items`` for a list; a shape with none of them is a leaf or free-form."""

    __slots__ = ("items", "props", "values")

    def __init__(self) -> None:
        self.props: dict[str, Shape] | None = None
        self.values: Shape | None = None
        self.items: Shape | None = None


_LEAF = Shape()


def build_shape(schema: dict[str, Any]) -> Shape:
    defs = schema.get("$defs") or {}
    memo: dict[str, Shape] = {}

    def build(node: Any) -> Shape:
        if not isinstance(node, dict):
            return _LEAF
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = upstream.ref_name(ref)
            if name in memo:
                return memo[name]
            target = defs.get(name)
            if not isinstance(target, dict):
                return _LEAF
            shape = Shape()
            memo[name] = shape  # before recursing: recursive definitions share it
            _fill(shape, target)
            return shape if (shape.props is not None or shape.values or shape.items) else _LEAF
        shape = Shape()
        _fill(shape, node)
        return shape if (shape.props is not None or shape.values or shape.items) else _LEAF

    def _fill(shape: Shape, node: dict[str, Any]) -> None:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return
        props = node.get("properties")
        additional = node.get("additionalProperties")
        if isinstance(props, dict):
            if additional in (None, False):
                shape.props = {name: build(sub) for name, sub in props.items()}
        elif isinstance(additional, dict):
            values = build(additional)
            shape.values = values if values is not _LEAF else None
        items = node.get("items")
        if isinstance(items, dict):
            item_shape = build(items)
            shape.items = item_shape if item_shape is not _LEAF else None

    return build(schema)


def walk_unknown(obj: Any, shape: Shape, path: str, found: list[str], prune: bool = False) -> None:
    if isinstance(obj, dict):
        props = shape.props
        if props is not None:
            unknown: list[str] = []
            for key, value in obj.items():
                child = props.get(key)
                if child is None:
                    unknown.append(key)
                    found.append(f"{path}{key}")
                elif child is not _LEAF and value is not None:
                    walk_unknown(value, child, f"{path}{key}.", found, prune)
            if prune:
                for key in unknown:
                    del obj[key]
        elif shape.values is not None:
            for key, value in obj.items():
                walk_unknown(value, shape.values, f"{path}{key}.", found, prune)
    elif isinstance(obj, list) and shape.items is not None:
        base = path[:-1] if path.endswith(".") else path
        for i, item in enumerate(obj):
            walk_unknown(item, shape.items, f"{base}[{i}].", found, prune)
