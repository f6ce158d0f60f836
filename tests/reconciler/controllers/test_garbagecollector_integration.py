"""The garbage collector against a real API server (controller in-process): the three
propagation policies, multi-owner dependents, and dependents of owners already gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from kctl.client.http import AsyncClient
from kctl.client.resources import CONFIGMAPS, REPLICASETS
from reconciler.controllers import garbagecollector
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.controllers.gcobjects import (
    HOLD,
    configmap,
    drop_finalizers,
    get_or_none,
    gone,
    owner_ref,
)
from tests.reconciler.controllers.harness import (
    eventually,
    make_namespace,
    replicaset_body,
    running,
)


def run_gc(
    server: ApiServerProcess, ns: str, scenario: Callable[[AsyncClient], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with running(server.kubeconfig, garbagecollector.new) as r:
            await make_namespace(r.client, ns)
            await scenario(r.client)

    asyncio.run(main())


def gone_probe(c: AsyncClient, name: str, ns: str) -> Callable[[], Awaitable[bool]]:
    return lambda: gone(c, CONFIGMAPS, name, ns)


def test_background_deletes_dependents_of_a_deleted_owner(apiserver: ApiServerProcess) -> None:
    ns = "gc-background"

    async def scenario(c: AsyncClient) -> None:
        owner = await configmap(c, ns, "owner")
        await configmap(c, ns, "dep", owner_ref(owner))
        mid = await configmap(c, ns, "mid", owner_ref(owner))
        await configmap(c, ns, "grandchild", owner_ref(mid))
        await configmap(c, ns, "bystander")
        await c.delete(CONFIGMAPS, "owner", ns)  # Background is the default
        for name in ("dep", "mid", "grandchild"):
            await eventually(gone_probe(c, name, ns), what=f"{name} gone")
        assert await get_or_none(c, CONFIGMAPS, "bystander", ns) is not None

    run_gc(apiserver, ns, scenario)


def test_foreground_waits_for_blocking_dependents(apiserver: ApiServerProcess) -> None:
    ns = "gc-foreground"

    async def scenario(c: AsyncClient) -> None:
        owner = await configmap(c, ns, "owner")
        await configmap(c, ns, "blocker", owner_ref(owner, block=True), finalizers=(HOLD,))
        await configmap(c, ns, "loose", owner_ref(owner))  # no blockOwnerDeletion
        await c.delete(CONFIGMAPS, "owner", ns, propagation_policy="Foreground")

        async def blocker_marked() -> bool:
            blocker = await get_or_none(c, CONFIGMAPS, "blocker", ns)
            return bool(blocker and blocker["metadata"].get("deletionTimestamp"))

        await eventually(blocker_marked, what="the blocking dependent deleted")
        await eventually(lambda: gone(c, CONFIGMAPS, "loose", ns), what="the loose dependent gone")
        # The owner waits as long as the blocking dependent exists.
        await asyncio.sleep(1.0)
        held = await get_or_none(c, CONFIGMAPS, "owner", ns)
        assert held is not None
        assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert held["metadata"].get("deletionTimestamp")

        await drop_finalizers(c, CONFIGMAPS, "blocker", ns)
        await eventually(lambda: gone(c, CONFIGMAPS, "blocker", ns), what="blocker gone")
        await eventually(lambda: gone(c, CONFIGMAPS, "owner", ns), what="owner gone")

    run_gc(apiserver, ns, scenario)


def test_foreground_cascades_through_levels(apiserver: ApiServerProcess) -> None:
    """A ReplicaSet-like chain: owner -> middle (blocking) -> leaf (blocking); the owner
    goes last."""
    ns = "gc-foreground-chain"

    async def scenario(c: AsyncClient) -> None:
        top = await configmap(c, ns, "top")
        middle = await configmap(c, ns, "middle", owner_ref(top, block=True))
        await configmap(c, ns, "leaf", owner_ref(middle, block=True), finalizers=(HOLD,))
        await c.delete(CONFIGMAPS, "top", ns, propagation_policy="Foreground")

        async def leaf_marked() -> bool:
            leaf = await get_or_none(c, CONFIGMAPS, "leaf", ns)
            return bool(leaf and leaf["metadata"].get("deletionTimestamp"))

        await eventually(leaf_marked, what="leaf deleted")
        assert await get_or_none(c, CONFIGMAPS, "top", ns) is not None
        assert await get_or_none(c, CONFIGMAPS, "middle", ns) is not None
        await drop_finalizers(c, CONFIGMAPS, "leaf", ns)
        for name in ("leaf", "middle", "top"):
            await eventually(gone_probe(c, name, ns), what=f"{name} gone")

    run_gc(apiserver, ns, scenario)


def test_orphan_strips_owner_references(apiserver: ApiServerProcess) -> None:
    ns = "gc-orphan"

    async def scenario(c: AsyncClient) -> None:
        owner = await configmap(c, ns, "owner")
        other = await configmap(c, ns, "other")
        await configmap(c, ns, "only", owner_ref(owner))
        await configmap(c, ns, "shared", owner_ref(owner), owner_ref(other))
        await c.delete(CONFIGMAPS, "owner", ns, propagation_policy="Orphan")
        await eventually(lambda: gone(c, CONFIGMAPS, "owner", ns), what="owner gone")
        only = await get_or_none(c, CONFIGMAPS, "only", ns)
        shared = await get_or_none(c, CONFIGMAPS, "shared", ns)
        assert only is not None and not only["metadata"].get("ownerReferences")
        assert shared is not None
        assert [r["uid"] for r in shared["metadata"]["ownerReferences"]] == [
            other["metadata"]["uid"]
        ]
        await asyncio.sleep(0.5)  # and they stay
        assert await get_or_none(c, CONFIGMAPS, "only", ns) is not None

    run_gc(apiserver, ns, scenario)


def test_dependent_of_an_already_gone_owner_is_deleted(apiserver: ApiServerProcess) -> None:
    ns = "gc-virtual"

    async def scenario(c: AsyncClient) -> None:
        owner = await configmap(c, ns, "owner")
        await c.delete(CONFIGMAPS, "owner", ns)
        await configmap(c, ns, "late", owner_ref(owner))  # points at a deleted uid
        never = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "no-such-uid"}
        await configmap(c, ns, "orphaned", never)
        # A namesake with another uid does not count as the owner.
        await configmap(c, ns, "owner")
        await eventually(lambda: gone(c, CONFIGMAPS, "late", ns), what="late dependent gone")
        await eventually(lambda: gone(c, CONFIGMAPS, "orphaned", ns), what="ghost's dependent gone")
        assert await get_or_none(c, CONFIGMAPS, "owner", ns) is not None

    run_gc(apiserver, ns, scenario)


def test_dependent_with_several_owners_goes_with_the_last(apiserver: ApiServerProcess) -> None:
    ns = "gc-multi"

    async def scenario(c: AsyncClient) -> None:
        a = await configmap(c, ns, "a")
        b = await configmap(c, ns, "b")
        await configmap(c, ns, "dep", owner_ref(a), owner_ref(b))
        await c.delete(CONFIGMAPS, "a", ns)

        async def reference_dropped() -> dict[str, Any] | None:
            dep = await get_or_none(c, CONFIGMAPS, "dep", ns)
            assert dep is not None, "deleted while an owner is left"
            refs = dep["metadata"].get("ownerReferences") or []
            return dep if [r["uid"] for r in refs] == [b["metadata"]["uid"]] else None

        await eventually(reference_dropped, what="the dangling reference removed")
        await c.delete(CONFIGMAPS, "b", ns)
        await eventually(lambda: gone(c, CONFIGMAPS, "dep", ns), what="dep gone")

    run_gc(apiserver, ns, scenario)


def test_cross_kind_owner(apiserver: ApiServerProcess) -> None:
    """A ReplicaSet owning a ConfigMap (apps/v1 owner, core dependent)."""
    ns = "gc-cross-kind"

    async def scenario(c: AsyncClient) -> None:
        rs = await c.create(REPLICASETS, replicaset_body("rs", 0, {"app": "x"}), ns)
        await configmap(c, ns, "cfg", owner_ref(rs))
        await c.delete(REPLICASETS, "rs", ns)
        await eventually(lambda: gone(c, CONFIGMAPS, "cfg", ns), what="cfg gone")

    run_gc(apiserver, ns, scenario)


def test_foreground_deletion_of_an_ownership_cycle_finishes(apiserver: ApiServerProcess) -> None:
    """a owns b and b owns a, both blocking: a Foreground delete must not wait forever."""
    ns = "gc-cycle"

    async def scenario(c: AsyncClient) -> None:
        a = await configmap(c, ns, "a")
        b = await configmap(c, ns, "b", owner_ref(a, block=True))
        refs = {"metadata": {"ownerReferences": [owner_ref(b, block=True)]}}
        await c.patch(CONFIGMAPS, "a", refs, ns, patch_type="merge")
        await c.delete(CONFIGMAPS, "a", ns, propagation_policy="Foreground")
        await eventually(gone_probe(c, "a", ns), what="a gone")
        await eventually(gone_probe(c, "b", ns), what="b gone")

    run_gc(apiserver, ns, scenario)
