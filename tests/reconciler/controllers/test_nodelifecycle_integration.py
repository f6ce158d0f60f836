"""The node lifecycle controller against a real API server, with short settings.

Two nodes renew their Leases from the test (a single-node cluster whose only node dies
is "all zones fully disrupted", where Kubernetes -- and kctl -- stop evicting); then one
stops: its conditions go Unknown, it is tainted unreachable, its pods are evicted by
their tolerations, and it recovers when it renews again and reports Ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.resources import EVENTS, LEASES, NODES, PODS
from reconciler.controller import ControllerContext
from reconciler.controllers import nodelifecycle
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.controllers.harness import eventually, make_namespace, running

OPTIONS = {
    "nodelifecycle.node-monitor-grace-period": "2s",
    "nodelifecycle.node-monitor-period": "0.2",
    "nodelifecycle.node-startup-grace-period": "2s",
}
UNREACHABLE = "node.kubernetes.io/unreachable"


def _factory(ctx: ControllerContext) -> nodelifecycle.NodeLifecycle:
    return nodelifecycle.new(dataclasses.replace(ctx, options=OPTIONS))


def _now(micro: bool = False) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.now(UTC).strftime(fmt)


def _ready(status: str) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": "KubeletReady", "message": "ok",
            "lastHeartbeatTime": _now(), "lastTransitionTime": _now()}


async def _make_node(client: AsyncClient, name: str) -> None:
    await client.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                "status": {"conditions": [_ready("True")]}})
    await client.create(LEASES, {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": _now(micro=True)},
    }, "kube-node-lease")


async def _renew(client: AsyncClient, name: str) -> None:
    lease = await client.get(LEASES, name, "kube-node-lease")
    lease["spec"]["renewTime"] = _now(micro=True)
    await client.replace(LEASES, lease, "kube-node-lease")


@contextlib.asynccontextmanager
async def _renewing(client: AsyncClient, names: set[str]) -> AsyncIterator[set[str]]:
    """Renew the Leases of ``names`` (a live set: remove a name to stop) every 0.3 s."""
    async def loop() -> None:
        while True:
            for name in list(names):
                with contextlib.suppress(errors.Conflict):
                    await _renew(client, name)
            await asyncio.sleep(0.3)

    task = asyncio.create_task(loop())
    try:
        yield names
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _pod(name: str, node: str, tolerations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "tolerations": tolerations,
                     "containers": [{"name": "c", "image": "nginx"}]}}


def _tolerate_unreachable(**extra: Any) -> dict[str, Any]:
    return {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", **extra}


def _taint(node: dict[str, Any], key: str, effect: str) -> dict[str, Any] | None:
    return next((t for t in node.get("spec", {}).get("taints") or []
                 if t["key"] == key and t["effect"] == effect), None)


def _condition(node: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == kind)


async def _terminating(client: AsyncClient, ns: str, name: str) -> dict[str, Any] | None:
    try:
        pod = await client.get(PODS, name, ns)
    except errors.NotFound:
        return {"gone": True}
    return pod if pod["metadata"].get("deletionTimestamp") else None


def test_lost_node_is_tainted_and_its_pods_evicted(apiserver: ApiServerProcess) -> None:
    ns = "lifecycle"

    async def scenario() -> None:
        async with running(apiserver.kubeconfig, _factory) as run:
            client = run.client
            await make_namespace(client, ns)
            for name in ("lc-alive", "lc-lost"):
                await _make_node(client, name)
            # Through admission: the unreachable toleration with a value stops the default
            # 300 s one from being added, yet does not match the (value-less) taint.
            await client.create(PODS, _pod("p-none", "lc-lost", [
                {"key": UNREACHABLE, "operator": "Equal", "value": "x", "effect": "NoExecute"}]), ns)
            await client.create(PODS, _pod("p-2s", "lc-lost", [_tolerate_unreachable(tolerationSeconds=2)]), ns)
            await client.create(PODS, _pod("p-forever", "lc-lost", [_tolerate_unreachable()]), ns)
            await client.create(PODS, _pod("p-alive", "lc-alive", []), ns)

            async with _renewing(client, {"lc-alive", "lc-lost"}) as renewed:
                await asyncio.sleep(3)  # longer than the grace period: renewals keep them healthy
                lost = await client.get(NODES, "lc-lost")
                assert _condition(lost, "Ready")["status"] == "True"
                assert not lost.get("spec", {}).get("taints")

                renewed.discard("lc-lost")

                async def tainted() -> dict[str, Any] | None:
                    node = await client.get(NODES, "lc-lost")
                    return node if _taint(node, UNREACHABLE, "NoExecute") else None

                node = await eventually(tainted, timeout=10, what="the unreachable taint")
                seen_at = time.monotonic()
                assert _taint(node, UNREACHABLE, "NoExecute")["timeAdded"]
                ready = _condition(node, "Ready")
                assert (ready["status"], ready["reason"], ready["message"]) == (
                    "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
                assert _condition(node, "MemoryPressure")["status"] == "Unknown"
                assert await eventually(
                    lambda: _noschedule(client), timeout=5, what="the unreachable NoSchedule taint")

                # No matching toleration: evicted at once (a graceful deletion).
                pod = await eventually(lambda: _terminating(client, ns, "p-none"), timeout=3,
                                       what="p-none evicted")
                if "gone" not in pod:
                    target = [c for c in pod["status"].get("conditions") or []
                              if c["type"] == "DisruptionTarget"]
                    assert target and target[0]["reason"] == "DeletionByTaintManager"
                # tolerationSeconds 2 (timeAdded has whole seconds): not at once, within 3 s.
                assert await _terminating(client, ns, "p-2s") is None
                await eventually(lambda: _terminating(client, ns, "p-2s"), timeout=4, what="p-2s evicted")
                assert time.monotonic() - seen_at > 0.8
                assert await _terminating(client, ns, "p-forever") is None
                assert await _terminating(client, ns, "p-alive") is None
                alive = await client.get(NODES, "lc-alive")
                assert not alive.get("spec", {}).get("taints")
                events = await client.list(EVENTS, ns)
                reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events["items"]}
                assert ("p-none", "TaintManagerEviction") in reasons

                # The node renews its Lease again: the Ready condition is left to its agent.
                renewed.add("lc-lost")
                await asyncio.sleep(1.0)
                node = await client.get(NODES, "lc-lost")
                assert _condition(node, "Ready")["status"] == "Unknown"
                assert _taint(node, UNREACHABLE, "NoExecute")
                # ... which reports Ready: every controller taint goes.
                node["status"]["conditions"] = [_ready("True")]
                await client.replace(NODES, node, subresource="status")

                async def untainted() -> bool:
                    node = await client.get(NODES, "lc-lost")
                    return not node.get("spec", {}).get("taints")

                await eventually(untainted, timeout=5, what="taints removed")
                node = await client.get(NODES, "lc-lost")
                assert _condition(node, "Ready")["status"] == "True"

    asyncio.run(scenario())


async def _noschedule(client: AsyncClient) -> bool:
    node = await client.get(NODES, "lc-lost")
    return _taint(node, UNREACHABLE, "NoSchedule") is not None


def test_pods_of_deleted_nodes_are_force_deleted(apiserver: ApiServerProcess) -> None:
    ns = "orphans"

    async def scenario() -> None:
        async with running(apiserver.kubeconfig, _factory) as run:
            client = run.client
            await make_namespace(client, ns)
            await _make_node(client, "lc-doomed")
            async with _renewing(client, {"lc-doomed"}):
                await client.create(PODS, _pod("orphan", "lc-doomed", []), ns)
                await asyncio.sleep(0.5)
                assert (await client.get(PODS, "orphan", ns))["metadata"].get("deletionTimestamp") is None
                await client.delete(NODES, "lc-doomed")

                async def gone() -> bool:
                    try:
                        await client.get(PODS, "orphan", ns)
                    except errors.NotFound:
                        return True
                    return False

                await eventually(gone, timeout=5, what="the orphaned pod force-deleted")

    asyncio.run(scenario())
