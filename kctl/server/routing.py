"""Turning a Kubernetes REST path into what it addresses.

Kubernetes paths are regular enough to parse by hand, and doing so once per request is
much cheaper than a generic router:

    /api/v1/<plural>[/<name>[/<sub>]]                       cluster-scoped, or all namespaces
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]       namespaced
    /apis/<group>/<version>/...                             the same under a named group

``/api/v1/namespaces/<name>`` is the Namespace object itself, not a collection.
The verb follows kube-apiserver's RequestInfo rules: GET on a collection is ``list``
(``watch`` with ``?watch=true``), DELETE on a collection is ``deletecollection``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kctl.api import errors
from kctl.api.kinds import Registry, ResourceInfo

_METHOD_VERBS = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
    "GET": "get",
}


@dataclass(frozen=True)
class Target:
    """The resource a request addresses."""

    info: ResourceInfo
    verb: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return not self.name


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def resolve(registry: Registry, method: str, segments: list[str], query: dict[str, str]) -> Target:
    """``segments`` is the path split on ``/`` without the empty first item.

    Raises NotFound for paths that name no served resource (kubectl reads a 404 there as
    "the server could not find the requested resource").
    """
    if segments[0] == "api":
        group, version, rest = "", segments[1] if len(segments) > 1 else "", segments[2:]
    else:
        if len(segments) < 3:
            raise errors.NotFound("the server could not find the requested resource")
        group, version, rest = segments[1], segments[2], segments[3:]
    if not rest:
        raise errors.NotFound("the server could not find the requested resource")

    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and registry.by_gvr(group, version, rest[2]):
        # /namespaces/<ns>/<plural>/...; /namespaces/<name>/status is the Namespace's own
        namespace, rest = rest[1], rest[2:]

    info = registry.by_gvr(group, version, rest[0])
    if info is None:
        raise errors.NotFound("the server could not find the requested resource")
    if namespace and not info.namespaced:
        raise errors.NotFound("the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 or (subresource and info.subresource(subresource) is None):
        raise errors.NotFound("the server could not find the requested resource")

    verb = _METHOD_VERBS.get(method)
    if verb is None:
        raise errors.MethodNotAllowed(
            "the server does not allow this method on the requested resource"
        )
    if not name:
        if method == "GET":
            verb = "watch" if _truthy(query.get("watch")) else "list"
        elif method == "DELETE":
            verb = "deletecollection"
        elif method != "POST":
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
    elif method == "POST" and not subresource:
        raise errors.MethodNotAllowed(
            "the server does not allow this method on the requested resource"
        )
    return Target(info=info, verb=verb, namespace=namespace, name=name, subresource=subresource)
