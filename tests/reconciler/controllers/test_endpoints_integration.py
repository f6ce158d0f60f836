"""The Endpoints controller against a real API server: readiness within a second."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.resources import ENDPOINTS, NODES, PODS, SERVICES
from reconciler.controllers import endpoints
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.controllers.harness import eventually, make_namespace, pod_body, running

TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


def _service(name: str, selector: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"name": "web", "port": 80, "targetPort": "http"}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def _set_status(client: AsyncClient, ns: str, name: str, ip: str, ready: bool) -> None:
    pod = await client.get(PODS, name, ns)
    pod["status"] = {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        ],
    }
    await client.replace(PODS, pod, ns, subresource="status")


async def _endpoints(client: AsyncClient, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(await client.get(ENDPOINTS, name, ns))
    except errors.NotFound:
        return None


def _ips(ep: dict[str, Any] | None, field: str) -> list[str]:
    if ep is None:
        return []
    return [a["ip"] for s in ep.get("subsets") or () for a in s.get(field) or ()]


async def _bound_pod(client: AsyncClient, ns: str, name: str, labels: dict[str, str]) -> None:
    await client.create(PODS, pod_body(name, labels), ns)
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": ns},
        "target": {"kind": "Node", "name": "node-e"},
    }
    await client.create(PODS, binding, ns, name=name, subresource="binding")


def test_endpoints_follow_pod_readiness(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        async with running(apiserver.kubeconfig, endpoints.new) as run:
            client, ns = run.client, "ep-ready"
            await make_namespace(client, ns)
            await client.create(
                NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-e"}}
            )
            await client.create(SERVICES, _service("web", {"app": "web"}), ns)
            await client.create(SERVICES, _service("manual", None), ns)
            await _bound_pod(client, ns, "a", {"app": "web"})
            await _bound_pod(client, ns, "b", {"app": "web"})
            await _set_status(client, ns, "a", "10.1.0.1", ready=False)

            async def not_ready() -> dict[str, Any] | None:
                ep = await _endpoints(client, ns, "web")
                return ep if _ips(ep, "notReadyAddresses") == ["10.1.0.1"] else None

            ep = await eventually(not_ready, what="not-ready address")
            assert _ips(ep, "addresses") == []  # b has no IP yet: left out
            [subset] = ep["subsets"]
            assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
            address = subset["notReadyAddresses"][0]
            pod_a = await client.get(PODS, "a", ns)
            assert address["nodeName"] == "node-e"
            assert address["targetRef"] == {
                "kind": "Pod",
                "namespace": ns,
                "name": "a",
                "uid": pod_a["metadata"]["uid"],
            }
            assert TRIGGER in ep["metadata"]["annotations"]

            for name, ip in (("a", "10.1.0.1"), ("b", "10.1.0.2")):
                started = time.monotonic()
                await _set_status(client, ns, name, ip, ready=True)

                async def ready(ip: str = ip) -> dict[str, Any] | None:
                    ep = await _endpoints(client, ns, "web")
                    return ep if ip in _ips(ep, "addresses") else None

                await eventually(ready, timeout=1.0, what=f"{name} ready within a second")
                assert time.monotonic() - started < 1.0

            both = await _endpoints(client, ns, "web")
            assert _ips(both, "addresses") == ["10.1.0.1", "10.1.0.2"]
            assert _ips(both, "notReadyAddresses") == []

            # a terminating pod leaves at once (a bound pod stays, with deletionTimestamp)
            await client.delete(PODS, "b", ns)

            async def gone() -> bool:
                return _ips(await _endpoints(client, ns, "web"), "addresses") == ["10.1.0.1"]

            await eventually(gone, timeout=1.0, what="terminating pod removed")

            # an unchanged resync writes nothing
            before = ((await _endpoints(client, ns, "web")) or {})["metadata"]["resourceVersion"]
            await run.controllers[0].sync(f"{ns}/web")
            after = ((await _endpoints(client, ns, "web")) or {})["metadata"]["resourceVersion"]
            assert before == after

            # no selector: no Endpoints made for it
            assert await _endpoints(client, ns, "manual") is None

            await client.delete(SERVICES, "web", ns)

            async def deleted() -> bool:
                return await _endpoints(client, ns, "web") is None

            await eventually(deleted, what="endpoints deleted with the service")

    asyncio.run(scenario())
