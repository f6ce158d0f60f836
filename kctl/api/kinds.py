"""The kinds registry: what the API serves, built from the files in ``schemas/``.

Each ``schemas/*.yaml`` file describes one served kind: its API identity (group,
version, kind, plural, singular, short names, categories, scope, verbs), its
subresources, the field selectors it supports beyond ``metadata.name`` and
``metadata.namespace``, and its schema: either ``{upstream: <definition name>}`` for
Kubernetes' own kinds (loaded from kubernetes-validate, see :mod:`kctl.api.upstream`) or
a full JSON Schema for kctl's own kinds. Everything that needs to know about kinds
(routing, discovery, validation, patches, printing, the CLI's name resolution) asks
this registry, so adding a kind is adding one file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kctl.api.schema_nav import SchemaNode

SCHEMAS_DIR = Path(__file__).resolve().parent.parent.parent / "schemas"
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str  # status, scale, binding, log, exec
    kind: str
    group: str
    version: str
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class ResourceInfo:
    """One served kind (resource), as discovery and routing see it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    selectable_fields: tuple[str, ...] = ()
    schema: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def resource(self) -> str:
        """The store's resource name: ``pods``, ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def upstream_definition(self) -> str | None:
        name = self.schema.get("upstream")
        return str(name) if name else None

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def schema_node(self) -> SchemaNode:
        """The root of this kind's schema, for patch/apply semantics."""
        if self.upstream_definition:
            return SchemaNode.for_definition(self.upstream_definition)
        own = self.schema.get("openAPIV3Schema")
        if isinstance(own, dict):
            return SchemaNode(own, dict(own.get("$defs", {})))
        return SchemaNode.empty()


class UnknownKind(LookupError):
    """No served kind matches the name asked for."""


class Registry:
    """Lookups over the served kinds."""

    def __init__(self, infos: list[ResourceInfo]) -> None:
        self._infos = list(infos)
        self._by_gvr = {(i.group, i.version, i.plural): i for i in infos}
        self._by_gvk = {(i.group, i.version, i.kind): i for i in infos}
        self._by_resource = {i.resource: i for i in infos}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._infos)

    def groups(self) -> list[str]:
        """Group names in registration order (core ``""`` included)."""
        seen: list[str] = []
        for info in self._infos:
            if info.group not in seen:
                seen.append(info.group)
        return seen

    def by_gvr(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def by_gvk(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        return self._by_gvk.get((group, version, kind))

    def by_api_version_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk(group, version, kind)

    def by_resource(self, resource: str) -> ResourceInfo | None:
        return self._by_resource.get(resource)

    def resolve(self, name: str) -> ResourceInfo:
        """A user's word for a type (kubectl's rules): ``po``, ``pod``, ``pods``,
        ``Pod``, ``deployments.apps``, ``deploy.apps``. Raises :class:`UnknownKind`."""
        word, _, group = name.partition(".")
        lowered = word.lower()
        for info in self._infos:
            if group and info.group != group and not info.group.startswith(group + "."):
                continue
            if lowered in (info.plural, info.singular, info.kind.lower()) or lowered in info.short_names:
                return info
        raise UnknownKind(name)

    def in_category(self, category: str) -> list[ResourceInfo]:
        return [i for i in self._infos if category in i.categories]


def _info_from_doc(doc: dict[str, Any]) -> ResourceInfo:
    subs = []
    for name, spec in (doc.get("subresources") or {}).items():
        spec = spec or {}
        subs.append(
            Subresource(
                name=name,
                kind=spec.get("kind", doc["kind"]),
                group=spec.get("group", doc.get("group", "")),
                version=spec.get("version", doc["version"]),
                verbs=tuple(spec.get("verbs", ("get", "patch", "update"))),
            )
        )
    return ResourceInfo(
        group=doc.get("group", ""),
        version=doc["version"],
        kind=doc["kind"],
        plural=doc["plural"],
        singular=doc.get("singular", doc["kind"].lower()),
        namespaced=bool(doc.get("namespaced", True)),
        short_names=tuple(doc.get("shortNames") or ()),
        categories=tuple(doc.get("categories") or ()),
        verbs=tuple(doc.get("verbs") or ALL_VERBS),
        subresources=tuple(subs),
        selectable_fields=tuple(doc.get("selectableFields") or ()),
        schema=dict(doc.get("schema") or {}),
    )


def load(directory: Path = SCHEMAS_DIR) -> Registry:
    """Read every ``*.yaml`` in ``directory``; files are served in name order, which is
    also discovery order (``order`` in a file overrides it)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.load(path.read_text())
        if isinstance(doc, dict) and doc.get("kind"):
            docs.append((int(doc.get("order", 1000)), path.name, doc))
    docs.sort(key=lambda d: (d[0], d[1]))
    return Registry([_info_from_doc(d) for _, _, d in docs])


@functools.cache
def default_registry() -> Registry:
    return load()
