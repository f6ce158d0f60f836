"""End to end: a real API server, ``run_proxy`` with its informers, real iptables.

Services and Endpoints are written through the API (no controllers run here, so the
test writes the Endpoints an endpoints controller would); the proxy must follow.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kctl.client.http import AsyncClient
from kctl.client.resources import ENDPOINTS, SERVICES
from node.proxy.runner import ProxySettings, run_proxy
from node.proxy.sync import SyncSettings
from tests.fixtures.apiserver import ApiServerProcess, apiserver  # noqa: F401
from tests.node.proxy import kernel, netlab
from tests.node.proxy.fixtures import endpoints, service

pytestmark = [kernel.needs_iptables, pytest.mark.slow]

CIP = "10.111.222.30"


def body(obj: dict[str, Any]) -> dict[str, Any]:
    obj = dict(obj, metadata={k: v for k, v in obj["metadata"].items() if k != "resourceVersion"})
    return obj


async def hits(n: int) -> Counter[str]:
    return Counter([await asyncio.to_thread(netlab.fetch, CIP, 80, 0.5) for _ in range(n)])


async def until(predicate: Any, timeout: float) -> float:
    start = time.monotonic()
    while not await predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reached in {timeout}s")
    return time.monotonic() - start


def test_proxy_follows_the_api(
    lab: netlab.Lab,
    apiserver: ApiServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    names = [p.name for p in lab.pods]
    port = [{"name": "http", "port": netlab.PORT}]

    async def scenario() -> None:
        client = AsyncClient.from_kubeconfig(str(apiserver.kubeconfig))
        settings = ProxySettings(lock_dir=tmp_path, sync=SyncSettings(min_sync_interval=0.05))
        svc = service("web", CIP, [{"name": "http", "port": 80, "targetPort": netlab.PORT}])
        await client.create(SERVICES, body(svc), "default")
        eps = endpoints("web", [([p.ip for p in lab.pods], [], port)])
        await client.create(ENDPOINTS, body(eps), "default")
        task = asyncio.create_task(
            run_proxy(
                client, "node-a", [netlab.GATEWAY], netlab.CIDR, "iptables", settings=settings
            )
        )
        try:

            async def all_three() -> bool:
                return set(await hits(30)) == set(names)

            await until(all_three, 10)
            # An endpoint goes (scale-down / NotReady): gone from the rules within 1 s.
            current = await client.get(ENDPOINTS, "web", "default")
            current["subsets"] = endpoints(
                "web", [([p.ip for p in lab.pods[:2]], [lab.pods[2].ip], port)]
            )["subsets"]
            await client.replace(ENDPOINTS, current, "default")

            async def third_gone() -> bool:
                return names[2] not in await hits(10)

            assert await until(third_gone, 1.0) < 1.0
            assert set(await hits(30)) == set(names[:2])
            # The Service goes: its address gets no rule and is dropped on the machine.
            await client.delete(SERVICES, "web", "default")

            async def dropped() -> bool:
                return set(await hits(3)) == {"timeout"}

            await until(dropped, 2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.aclose()

    asyncio.run(scenario())
