"""The JSON Schema a kind is validated against (layer 1's input).

Why it exists: upstream publishes one big OpenAPI document; both of our schema
validators (the compiled fast path in :mod:`.compiled` and the jsonschema explainer in
:mod:`.explain`) need a *small, self-contained* schema per kind that behaves like
kube-apiserver's JSON decoder. Producing that schema is a pure transformation with no
dependency on either validator, so it lives apart from both (and both can import it
without importing each other).

Design: :func:`kind_schema` takes the definitions reachable from the kind's upstream
definition (a worklist over ``$ref`` names), rewrites the refs to local ``#/$defs``, and
:func:`_simplify` copies each definition keeping only what validation needs:

- descriptions and ``x-kubernetes-*`` annotations dropped (except
  ``x-kubernetes-preserve-unknown-fields``, which the unknown-field walk reads);
- ``int32``/``int64`` formats turned into ``minimum``/``maximum`` bounds, other formats
  dropped unless :data:`FORMATS` knows them (``date-time``, ``byte``);
- a ``oneOf`` of bare types (int-or-string, quantity) merged into a type list, since
  upstream's ``oneOf`` of two nullable types rejects ``null``.

Kinds without an upstream definition (custom resources) use their own
``openAPIV3Schema``, simplified the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kctl.api import upstream

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# The string formats both validators check, as regular expressions.
FORMATS = {"date-time": _RFC3339, "byte": _BASE64}
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DROP_KEYS = frozenset({"description", "x-kubernetes-group-version-kind"})


def _simplify(node: Any) -> Any:
    """Copy a schema, keeping only what validation needs (see module docstring)."""
    if isinstance(node, list):
        return [_simplify(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS or (
            key.startswith("x-kubernetes-") and key != "x-kubernetes-preserve-unknown-fields"
        ):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _simplify(sub) for name, sub in value.items()}
        else:
            out[key] = _simplify(value)
    fmt = out.get("format")
    types = out.get("type")
    type_set = set(types) if isinstance(types, list) else {types}
    if fmt in _INT_BOUNDS and "integer" in type_set:
        low, high = _INT_BOUNDS[fmt]
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)
        del out["format"]
    elif fmt is not None and fmt not in FORMATS:
        del out["format"]
    branches = out.get("oneOf")
    if isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"type"} for b in branches
    ):
        merged: list[str] = []
        for b in branches:
            for t in b["type"] if isinstance(b["type"], list) else [b["type"]]:
                if t not in merged:
                    merged.append(t)
        del out["oneOf"]
        out["type"] = merged
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):  # only string $ref is a reference
                found.add(upstream.ref_name(value))
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def _reachable(root: str, defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = defs[name]
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(found - seen.keys())
    return seen


def kind_schema(info: ResourceInfo) -> dict[str, Any]:
    """The self-contained schema used for ``info`` (both validators use it)."""
    definition = info.upstream_definition
    if definition:
        defs = _reachable(definition, upstream.definitions(strict=False))
        return {
            "$ref": f"#/$defs/{definition}",
            "$defs": {name: _simplify(d) for name, d in sorted(defs.items())},
        }
    own = info.schema.get("openAPIV3Schema")
    if isinstance(own, dict):
        return _simplify(own)
    return {}
