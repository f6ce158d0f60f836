"""Discovery documents, built once from the kinds registry and served as bytes.

kubectl reads aggregated discovery (``apidiscovery.k8s.io/v2``, with that exact
Content-Type: the same body as plain JSON is misread); the Python DynamicClient reads
the legacy documents (``/api``, ``/apis``, ``/apis/<g>/<v>``). The OpenAPI v3 documents
are minimal on purpose (wire notes, section 2): a ``patch`` operation per kind carrying
``x-kubernetes-group-version-kind`` and a ``fieldValidation`` parameter is what makes
kubectl trust the server with validation; an empty OpenAPI v2 protobuf body is accepted
as an empty document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from kctl.api.kinds import Registry, ResourceInfo

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kctl",
    "gitCommit": "kctl",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "python",
    "compiler": "kctl",
    "platform": "linux/amd64",
}
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
PATCH_MEDIA_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


def _scope(info: ResourceInfo) -> str:
    return "Namespaced" if info.namespaced else "Cluster"


def _aggregated_resource(info: ResourceInfo) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": _scope(info),
        "singularResource": info.singular,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        resource["shortNames"] = list(info.short_names)
    if info.categories:
        resource["categories"] = list(info.categories)
    if info.subresources:
        resource["subresources"] = [
            {
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                "verbs": list(s.verbs),
            }
            for s in info.subresources
        ]
    return resource


def _legacy_resources(infos: list[ResourceInfo]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for info in infos:
        entry: dict[str, Any] = {
            "name": info.plural,
            "singularName": info.singular,
            "namespaced": info.namespaced,
            "kind": info.kind,
            "verbs": list(info.verbs),
        }
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        out.append(entry)
        for sub in info.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{info.plural}/{sub.name}",
                "singularName": "",
                "namespaced": info.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if (sub.group, sub.version) != (info.group, info.version):
                sub_entry["group"], sub_entry["version"] = sub.group, sub.version
            out.append(sub_entry)
    return out


@dataclass
class Discovery:
    """Every discovery and OpenAPI document, pre-encoded."""

    registry: Registry
    server_address: str
    docs: dict[str, bytes] = field(default_factory=dict)
    openapi: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_gv: dict[tuple[str, str], list[ResourceInfo]] = {}
        for info in self.registry:
            by_gv.setdefault((info.group, info.version), []).append(info)
        groups = [g for g in self.registry.groups() if g]
        self.docs["/version"] = orjson.dumps(VERSION_INFO)
        self.docs["/api"] = orjson.dumps(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}
                ],
            }
        )
        group_docs = []
        for group in groups:
            versions = [v for (g, v) in by_gv if g == group]
            doc = {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {
                    "groupVersion": f"{group}/{versions[0]}",
                    "version": versions[0],
                },
            }
            group_docs.append(doc)
            self.docs[f"/apis/{group}"] = orjson.dumps(
                {"kind": "APIGroup", "apiVersion": "v1", **doc}
            )
        self.docs["/apis"] = orjson.dumps(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": group_docs}
        )
        for (group, version), infos in by_gv.items():
            gv = f"{group}/{version}" if group else version
            path = f"/apis/{gv}" if group else f"/api/{version}"
            self.docs[path] = orjson.dumps(
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": gv,
                    "resources": _legacy_resources(infos),
                }
            )
        for api_version in ("v2", "v2beta1"):
            self.docs[f"aggregated:/api:{api_version}"] = self._aggregated([""], by_gv, api_version)
            self.docs[f"aggregated:/apis:{api_version}"] = self._aggregated(
                groups, by_gv, api_version
            )
        self._build_openapi(by_gv)

    def _aggregated(
        self, groups: list[str], by_gv: dict[tuple[str, str], list[ResourceInfo]], api_version: str
    ) -> bytes:
        items = []
        for group in groups:
            versions = [
                {
                    "version": v,
                    "resources": [_aggregated_resource(i) for i in infos],
                    "freshness": "Current",
                }
                for (g, v), infos in by_gv.items()
                if g == group
            ]
            items.append({"metadata": {"name": group}, "versions": versions})
        return orjson.dumps(
            {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": f"apidiscovery.k8s.io/{api_version}",
                "metadata": {},
                "items": items,
            }
        )

    def aggregated(self, path: str, accept: str) -> tuple[bytes, str] | None:
        """The aggregated document when the client asks for one (by Accept), else None.
        The client's first acceptable option wins, as in content negotiation."""
        for option in accept.split(","):
            params = dict(p.strip().partition("=")[::2] for p in option.split(";")[1:])
            if (
                params.get("as") != "APIGroupDiscoveryList"
                or params.get("g") != "apidiscovery.k8s.io"
            ):
                continue
            api_version = params.get("v", "")
            body = self.docs.get(f"aggregated:{path}:{api_version}")
            if body is not None:
                return body, AGGREGATED_V2 if api_version == "v2" else AGGREGATED_V2BETA1
        return None

    def _build_openapi(self, by_gv: dict[tuple[str, str], list[ResourceInfo]]) -> None:
        paths: dict[str, Any] = {}
        for (group, version), infos in by_gv.items():
            prefix = f"apis/{group}/{version}" if group else f"api/{version}"
            doc = {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
                "paths": {self._path(prefix, i): self._path_item(i) for i in infos},
                "components": {"schemas": {}},
            }
            body = orjson.dumps(doc)
            digest = hashlib.sha512(body).hexdigest()[:64].upper()
            self.openapi[f"/openapi/v3/{prefix}"] = body
            self.openapi[f"hash:/openapi/v3/{prefix}"] = digest.encode()
            paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest}"}
        self.openapi["/openapi/v3"] = orjson.dumps({"paths": paths})

    @staticmethod
    def _path(prefix: str, info: ResourceInfo) -> str:
        if info.namespaced:
            return f"/{prefix}/namespaces/{{namespace}}/{info.plural}/{{name}}"
        return f"/{prefix}/{info.plural}/{{name}}"

    @staticmethod
    def _path_item(info: ResourceInfo) -> dict[str, Any]:
        gvk = {"group": info.group, "version": info.version, "kind": info.kind}
        return {
            "patch": {
                "operationId": f"patch{info.kind}",
                "parameters": [
                    {
                        "name": "fieldValidation",
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    },
                    {
                        "name": "fieldManager",
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    },
                    {
                        "name": "dryRun",
                        "in": "query",
                        "schema": {"type": "string", "uniqueItems": True},
                    },
                    {
                        "name": "force",
                        "in": "query",
                        "schema": {"type": "boolean", "uniqueItems": True},
                    },
                ],
                "requestBody": {
                    "content": {mt: {"schema": {"type": "object"}} for mt in PATCH_MEDIA_TYPES},
                    "required": True,
                },
                "responses": {"200": {"description": "OK"}, "201": {"description": "Created"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
