"""Walking a kind's schema alongside an object, for patch and apply semantics.

Strategic merge patch and server-side apply both need to know, at each point of an
object, what the schema says about it: is this list merged by a key
(``x-kubernetes-patch-merge-key``, ``x-kubernetes-list-map-keys``), replaced whole
(``atomic``), or a set; is this map granular or atomic. :class:`SchemaNode` answers those
questions lazily, resolving ``$ref`` only when a walk reaches it. Only string-valued
``$ref`` is a reference (some CRD definitions have a property literally named ``$ref``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kctl.api import upstream


@dataclass(frozen=True)
class SchemaNode:
    """One point in a schema. ``schema`` is the raw JSON Schema dict at that point."""

    schema: dict[str, Any]
    defs: dict[str, dict[str, Any]]

    @classmethod
    def for_definition(cls, name: str, defs: dict[str, dict[str, Any]] | None = None) -> SchemaNode:
        defs = defs if defs is not None else upstream.definitions()
        return cls(defs[name], defs)

    @classmethod
    def empty(cls) -> SchemaNode:
        """A node that knows nothing: every list atomic, every map granular."""
        return cls({}, {})

    def _resolved(self) -> dict[str, Any]:
        schema = self.schema
        for _ in range(32):
            ref = schema.get("$ref")
            if isinstance(ref, str):
                schema = self.defs.get(upstream.ref_name(ref), {})
                continue
            for combinator in ("allOf", "oneOf", "anyOf"):
                options = schema.get(combinator)
                if isinstance(options, list) and len(options) == 1 and isinstance(options[0], dict):
                    schema = {**{k: v for k, v in schema.items() if k != combinator}, **options[0]}
                    break
            else:
                return schema
        return schema

    def resolved(self) -> dict[str, Any]:
        """The schema at this point with ``$ref`` and single-item combinators followed."""
        return self._resolved()

    def _child(self, schema: Any) -> SchemaNode:
        return SchemaNode(schema if isinstance(schema, dict) else {}, self.defs)

    def field(self, name: str) -> SchemaNode:
        """The schema of property ``name`` (or of map values); empty when unknown."""
        resolved = self._resolved()
        props = resolved.get("properties")
        if isinstance(props, dict) and name in props:
            return self._child(props[name])
        additional = resolved.get("additionalProperties")
        if isinstance(additional, dict):
            return self._child(additional)
        return SchemaNode.empty()

    def items(self) -> SchemaNode:
        """The schema of list items; empty when unknown."""
        return self._child(self._resolved().get("items"))

    def ext(self, name: str) -> Any:
        """An ``x-kubernetes-*`` extension at this point (e.g. ``patch-merge-key``). One
        written beside a ``$ref`` (``DeploymentSpec.strategy``'s ``retainKeys``) wins over
        the referenced definition's."""
        key = f"x-kubernetes-{name}"
        if key in self.schema:
            return self.schema[key]
        return self._resolved().get(key)

    @property
    def known(self) -> bool:
        return bool(self._resolved())

    @property
    def patch_merge_key(self) -> str | None:
        return self.ext("patch-merge-key")

    @property
    def patch_strategies(self) -> set[str]:
        raw = self.ext("patch-strategy") or ""
        return {s for s in str(raw).split(",") if s}

    @property
    def list_type(self) -> str:
        """``map``, ``set`` or ``atomic`` (the default for lists, as in Kubernetes)."""
        return str(self.ext("list-type") or "atomic")

    @property
    def list_map_keys(self) -> list[str]:
        return list(self.ext("list-map-keys") or [])

    @property
    def map_type(self) -> str:
        """``granular`` (default) or ``atomic`` for objects and maps."""
        return str(self.ext("map-type") or "granular")

    @property
    def types(self) -> set[str]:
        t = self._resolved().get("type")
        if isinstance(t, list):
            return {str(x) for x in t}
        return {str(t)} if t else set()
