"""The namespace controller against a real API server (controller in-process):
deleting a namespace empties it and then removes it; content held by a finalizer
keeps it Terminating, with Kubernetes' conditions saying why."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from kctl.client.resources import CONFIGMAPS, NAMESPACES, PODS, REPLICASETS, SECRETS
from reconciler.controller import ControllerContext
from reconciler.controllers import garbagecollector, namespace
from reconciler.controllers.namespace.controller import NamespaceController
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
    pod_body,
    replicaset_body,
    running,
)


def fast_namespace_controller(ctx: ControllerContext) -> NamespaceController:
    """Rechecks finalizer-held content after 1 s instead of 8 s."""
    options = {**ctx.options, "namespace-finalizer-estimate-seconds": "1"}
    return namespace.new(dataclasses.replace(ctx, options=options))


def conditions(ns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or ()}


def test_deleting_a_namespace_empties_and_removes_it(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        async with running(
            apiserver.kubeconfig, fast_namespace_controller, garbagecollector.new
        ) as r:
            c = r.client
            for ns in ("doomed", "bystander"):
                await make_namespace(c, ns)
                await configmap(c, ns, "cfg")
            owner = await configmap(c, "doomed", "owner")
            await configmap(c, "doomed", "owned", owner_ref(owner, block=True))
            await c.create(
                SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, "doomed"
            )
            await c.create(PODS, pod_body("p", {"app": "x"}), "doomed")
            await c.create(REPLICASETS, replicaset_body("rs", 0, {"app": "x"}), "doomed")

            await c.delete(NAMESPACES, "doomed")
            await eventually(
                lambda: gone(c, NAMESPACES, "doomed"), timeout=20, what="namespace gone"
            )
            for info in (CONFIGMAPS, SECRETS, PODS, REPLICASETS):
                assert (await c.list(info, "doomed"))["items"] == []
            # A namespace that is not terminating is never touched.
            await asyncio.sleep(0.3)
            assert await get_or_none(c, CONFIGMAPS, "cfg", "bystander") is not None
            bystander = await c.get(NAMESPACES, "bystander")
            assert bystander["status"]["phase"] == "Active"
            assert "conditions" not in bystander["status"]

    asyncio.run(main())


def test_content_held_by_a_finalizer_keeps_the_namespace_terminating(
    apiserver: ApiServerProcess,
) -> None:
    ns = "held"

    async def main() -> None:
        async with running(apiserver.kubeconfig, fast_namespace_controller) as r:
            c = r.client
            await make_namespace(c, ns)
            await configmap(c, ns, "stuck", finalizers=(HOLD,))
            await configmap(c, ns, "free")
            await c.delete(NAMESPACES, ns)

            async def reported() -> dict[str, Any] | None:
                current = await get_or_none(c, NAMESPACES, ns)
                assert current is not None, "removed while content remains"
                conds = conditions(current)
                held = conds.get("NamespaceFinalizersRemaining", {})
                return current if held.get("status") == "True" else None

            current = await eventually(reported, what="the finalizer condition")
            assert current["status"]["phase"] == "Terminating"
            assert current["spec"]["finalizers"] == ["kubernetes"]
            conds = conditions(current)
            assert conds["NamespaceFinalizersRemaining"]["reason"] == "SomeFinalizersRemain"
            assert conds["NamespaceFinalizersRemaining"]["message"] == (
                f"Some content in the namespace has finalizers remaining: {HOLD} in 1 resource instances"
            )
            assert conds["NamespaceContentRemaining"] == {
                **conds["NamespaceContentRemaining"],
                "status": "True",
                "reason": "SomeResourcesRemain",
                "message": "Some resources are remaining: configmaps. has 1 resource instances",
            }
            for ok_type, reason in (
                ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered"),
                ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions"),
                ("NamespaceDeletionContentFailure", "ContentDeleted"),
            ):
                assert conds[ok_type]["status"] == "False"
                assert conds[ok_type]["reason"] == reason
                assert conds[ok_type]["lastTransitionTime"]
            assert await gone(c, CONFIGMAPS, "free", ns)

            await drop_finalizers(c, CONFIGMAPS, "stuck", ns)
            await eventually(lambda: gone(c, NAMESPACES, ns), what="namespace gone")

    asyncio.run(main())
