"""The ReplicaSet controller against a real API server (in-process controller)."""

from __future__ import annotations

import asyncio
from typing import Any

from kctl.api import meta
from kctl.client.http import AsyncClient
from kctl.client.resources import EVENTS, NODES, PODS, REPLICASETS
from reconciler.controllers import replicaset
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.controllers.harness import (
    eventually,
    make_namespace,
    pod_body,
    replicaset_body,
    running,
)


async def _pods(
    client: AsyncClient, ns: str, app: str, active: bool = True
) -> list[dict[str, Any]]:
    items = (await client.list(PODS, ns, label_selector=f"app={app}"))["items"]
    if active:
        items = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    return list(items)


def _names(pods: list[dict[str, Any]]) -> set[str]:
    return {p["metadata"]["name"] for p in pods}


def _owner_uid(pod: dict[str, Any]) -> str | None:
    ref = meta.controller_of(pod)
    return None if ref is None else str(ref["uid"])


async def _scale(client: AsyncClient, ns: str, name: str, replicas: int) -> None:
    await client.patch(REPLICASETS, name, {"spec": {"replicas": replicas}}, ns)


async def _count(client: AsyncClient, ns: str, app: str, n: int) -> list[dict[str, Any]] | None:
    pods = await _pods(client, ns, app)
    return pods if len(pods) == n else None


def test_creates_replaces_and_reports(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        async with running(apiserver.kubeconfig, replicaset.new) as run:
            client, ns = run.client, "rs-create"
            await make_namespace(client, ns)
            rs = await client.create(REPLICASETS, replicaset_body("web", 3, {"app": "web"}), ns)
            pods = await eventually(lambda: _count(client, ns, "web", 3), what="3 pods")
            for pod in pods:
                assert pod["metadata"]["name"].startswith("web-")
                assert pod["metadata"]["generateName"] == "web-"
                assert pod["metadata"]["ownerReferences"] == [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": "web",
                        "uid": rs["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ]

            async def status_done() -> dict[str, Any] | None:
                st = (await client.get(REPLICASETS, "web", ns)).get("status") or {}
                return st if st.get("replicas") == 3 and st.get("observedGeneration") == 1 else None

            st = await eventually(status_done, what="status")
            assert st["fullyLabeledReplicas"] == 3 and st["readyReplicas"] == 0

            victim = pods[0]["metadata"]["name"]
            await client.delete(PODS, victim, ns)
            replaced = await eventually(lambda: _count(client, ns, "web", 3), what="replacement")
            assert victim not in _names(replaced)
            await asyncio.sleep(0.5)  # no extra pods appear once converged
            assert len(await _pods(client, ns, "web")) == 3

            async def created_events() -> list[Any] | None:
                items = (await client.list(EVENTS, ns))["items"]
                found = [e for e in items if e["reason"] == "SuccessfulCreate"]
                return found if len(found) >= 4 else None

            events = await eventually(created_events, what="events")
            assert all(e["message"].startswith("Created pod: web-") for e in events)
            assert events[0]["source"]["component"] == "replicaset-controller"

    asyncio.run(scenario())


def test_scale_down_removes_unassigned_first(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        async with running(apiserver.kubeconfig, replicaset.new) as run:
            client, ns = run.client, "rs-scale"
            await make_namespace(client, ns)
            await client.create(
                NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}
            )
            await client.create(REPLICASETS, replicaset_body("api", 4, {"app": "api"}), ns)
            pods = await eventually(lambda: _count(client, ns, "api", 4), what="4 pods")
            bound = sorted(_names(pods))[:2]
            for name in bound:
                binding = {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": name, "namespace": ns},
                    "target": {"kind": "Node", "name": "node-a"},
                }
                await client.create(PODS, binding, ns, name=name, subresource="binding")
            await _scale(client, ns, "api", 2)
            left = await eventually(lambda: _count(client, ns, "api", 2), what="scale down")
            assert _names(left) == set(bound)

            async def status_two() -> bool:
                st = (await client.get(REPLICASETS, "api", ns)).get("status") or {}
                return st.get("replicas") == 2 and st.get("observedGeneration") == 2

            await eventually(status_two, what="status after scale down")

    asyncio.run(scenario())


def test_adopts_orphans_and_releases_mismatches(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        async with running(apiserver.kubeconfig, replicaset.new) as run:
            client, ns = run.client, "rs-adopt"
            await make_namespace(client, ns)
            orphan = await client.create(PODS, pod_body("orphan", {"app": "db"}), ns)
            rs = await client.create(REPLICASETS, replicaset_body("db", 2, {"app": "db"}), ns)
            uid = rs["metadata"]["uid"]
            pods = await eventually(lambda: _count(client, ns, "db", 2), what="2 pods")
            assert "orphan" in _names(pods)  # adopted, so only one pod was created
            adopted = await client.get(PODS, "orphan", ns)
            assert _owner_uid(adopted) == uid
            assert adopted["metadata"]["uid"] == orphan["metadata"]["uid"]

            # a label change takes the pod out of the selector: released and replaced
            await client.patch(PODS, "orphan", {"metadata": {"labels": {"app": "gone"}}}, ns)

            async def released() -> bool:
                pod = await client.get(PODS, "orphan", ns)
                return not pod["metadata"].get("ownerReferences")

            await eventually(released, what="release")
            pods = await eventually(lambda: _count(client, ns, "db", 2), what="replacement")
            assert "orphan" not in _names(pods)
            assert all(_owner_uid(p) == uid for p in pods)

    asyncio.run(scenario())
