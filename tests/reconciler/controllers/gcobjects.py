"""Objects and probes for the garbage collector and namespace controller integration
tests (the running of controllers is :mod:`.harness`'s)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.client.http import AsyncClient
from kctl.client.resources import CONFIGMAPS

HOLD = "test.kctl.io/hold"  # a finalizer no controller owns: the test removes it


async def get_or_none(
    client: AsyncClient, info: ResourceInfo, name: str, ns: str | None = None
) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = await client.get(info, name, ns)
    except errors.NotFound:
        return None
    return obj


async def gone(client: AsyncClient, info: ResourceInfo, name: str, ns: str | None = None) -> bool:
    return await get_or_none(client, info, name, ns) is None


def owner_ref(owner: Mapping[str, Any], *, block: bool = False) -> dict[str, Any]:
    md = owner["metadata"]
    ref = {
        "apiVersion": owner.get("apiVersion", "v1"),
        "kind": owner.get("kind", "ConfigMap"),
        "name": md["name"],
        "uid": md["uid"],
    }
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


async def configmap(
    client: AsyncClient,
    ns: str,
    name: str,
    *owners: dict[str, Any],
    finalizers: tuple[str, ...] = (),
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": ns}
    if owners:
        md["ownerReferences"] = list(owners)
    if finalizers:
        md["finalizers"] = list(finalizers)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"k": name}}
    created: dict[str, Any] = await client.create(CONFIGMAPS, body, ns)
    return created


async def drop_finalizers(client: AsyncClient, info: ResourceInfo, name: str, ns: str) -> None:
    await client.patch(info, name, {"metadata": {"finalizers": None}}, ns, patch_type="merge")
