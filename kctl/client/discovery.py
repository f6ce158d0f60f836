"""Which resource types the server serves, read from its discovery documents.

The garbage collector must see every kind that can own or be owned, and the namespace
controller must empty a namespace of every namespaced kind, including kinds this
process was not built with. Both ask the server, as kube-controller-manager does:
``/api`` and ``/apis`` name the group versions (the preferred version of each group),
and each ``APIResourceList`` names its resources with their scope and verbs.
Subresources (``pods/status``) are not resources of their own and are skipped.

A group that fails to answer does not hide the others: :func:`discover` returns what
it could read together with the failures (client-go's ``ErrGroupDiscoveryFailed``),
so the namespace controller can report ``NamespaceDeletionDiscoveryFailure`` and still
delete what it knows about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.client.http import AsyncClient, ConnectionFailed


@dataclass
class Discovered:
    """The resources the server serves, and the group versions that could not be read."""

    resources: list[ResourceInfo] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # group version -> error

    def error(self) -> str:
        """client-go's wording: ``unable to retrieve the complete list of server APIs: ...``."""
        detail = ", ".join(f"{gv}: {msg}" for gv, msg in sorted(self.failed.items()))
        return f"unable to retrieve the complete list of server APIs: {detail}"

    def supporting(self, *verbs: str) -> list[ResourceInfo]:
        return [info for info in self.resources if all(v in info.verbs for v in verbs)]


def resource_infos(doc: dict[str, Any]) -> list[ResourceInfo]:
    """The top-level resources of one ``APIResourceList``."""
    group, _, version = str(doc.get("groupVersion") or "").rpartition("/")
    out = []
    for res in doc.get("resources") or []:
        name = str(res.get("name") or "")
        if not name or "/" in name:
            continue
        out.append(
            ResourceInfo(
                group=group,
                version=version,
                kind=str(res.get("kind") or ""),
                plural=name,
                singular=str(res.get("singularName") or str(res.get("kind") or "").lower()),
                namespaced=bool(res.get("namespaced")),
                verbs=tuple(res.get("verbs") or ()),
            )
        )
    return out


def preferred_group_versions(core: dict[str, Any], groups: dict[str, Any]) -> list[str]:
    """``v1`` (the core group's versions) and each named group's preferred version."""
    out = [str(v) for v in core.get("versions") or ()]
    for group in groups.get("groups") or ():
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if not preferred and group.get("versions"):
            preferred = group["versions"][0].get("groupVersion")
        if preferred:
            out.append(str(preferred))
    return out


def _path(group_version: str) -> str:
    return f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"


async def discover(client: AsyncClient) -> Discovered:
    """Every resource of every preferred group version. The root documents failing is
    an error (raised); a group version failing is recorded in :attr:`Discovered.failed`."""
    core = await client.request("GET", "/api")
    groups = await client.request("GET", "/apis")
    found = Discovered()
    for gv in preferred_group_versions(core, groups):
        try:
            doc = await client.request("GET", _path(gv))
        except (errors.ApiError, ConnectionFailed) as exc:
            found.failed[gv] = str(exc)
            continue
        found.resources.extend(resource_infos(doc))
    return found


class ResourceMap:
    """``(apiVersion, kind)`` -> resource: how an ownerReference becomes a request path.

    Like a RESTMapper, a reference in another version of a known group still maps (to
    the version this process knows): the object is the same whatever version names it.
    """

    def __init__(self, infos: Iterable[ResourceInfo] = ()) -> None:
        self._by_gvk: dict[tuple[str, str], ResourceInfo] = {}
        self._by_gk: dict[tuple[str, str], ResourceInfo] = {}
        self.update(infos)

    def update(self, infos: Iterable[ResourceInfo]) -> None:
        for info in infos:
            self._by_gvk.setdefault((info.api_version, info.kind), info)
            self._by_gk.setdefault((info.group, info.kind), info)

    def lookup(self, api_version: str, kind: str) -> ResourceInfo | None:
        found = self._by_gvk.get((api_version, kind))
        if found is None:
            group = api_version.rpartition("/")[0]
            found = self._by_gk.get((group, kind))
        return found
