"""The scheduler against a real ``kctl apiserver``: binding, events, the aggregated
FailedScheduling message with the PodScheduled condition, and a parked pod bound
within a second of a fitting node being added."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.resources import EVENTS, NODES, PODS
from reconciler.controller import ControllerContext
from reconciler.scheduler import new
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.scheduler.helpers import node, pod

pytestmark = pytest.mark.slow

NS = "default"


async def _create_node(client: AsyncClient, body: dict[str, Any]) -> None:
    created = await client.create(NODES, body)
    created["status"] = body["status"]
    await client.replace(NODES, created, subresource="status")


async def _wait(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def _scenario(server: ApiServerProcess) -> None:
    client = AsyncClient.from_kubeconfig(str(server.kubeconfig))
    informers = InformerFactory(client)
    ctx = ControllerContext(client=client, informers=informers)
    unreachable = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
    for i in range(3):
        await _create_node(client, node(f"small-{i}", cpu="1", memory="4Gi"))
    for i in range(2):
        await _create_node(client, node(f"gone-{i}", cpu="8", taints=[unreachable]))
    # A pod for another scheduler must be left alone.
    await client.create(PODS, pod("other", cpu="100m", schedulerName="my-scheduler"), NS)
    for i in range(4):
        await client.create(PODS, pod(f"web-{i}", cpu="200m", labels={"app": "web"}), NS)
    await client.create(PODS, pod("big", cpu="2"), NS)

    controller = new(ctx)
    assert controller.name == "scheduler"
    await informers.start()
    task = asyncio.create_task(controller.run())
    try:

        async def all_web_bound() -> bool:
            pods = (await client.list(PODS, NS, label_selector="app=web"))["items"]
            return all(p["spec"].get("nodeName", "").startswith("small-") for p in pods)

        await _wait(all_web_bound)

        async def failed_condition() -> dict[str, Any] | None:
            p = await client.get(PODS, "big", NS)
            for c in (p.get("status") or {}).get("conditions") or ():
                if c["type"] == "PodScheduled" and c["status"] == "False":
                    return c  # type: ignore[no-any-return]
            return None

        cond = await _wait(failed_condition)
        expected = (
            "0/5 nodes are available: 2 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, 3 Insufficient cpu. preemption: 0/5 nodes "
            "are available: 5 Preemption is not helpful for scheduling."
        )
        assert cond["reason"] == "Unschedulable"
        assert cond["message"] == expected

        async def events_by_reason() -> dict[str, list[dict[str, Any]]]:
            items = (await client.list(EVENTS, NS))["items"]
            out: dict[str, list[dict[str, Any]]] = {}
            for e in items:
                out.setdefault(e["reason"], []).append(e)
            return out if "FailedScheduling" in out and len(out.get("Scheduled", [])) == 4 else {}

        events = await _wait(events_by_reason)
        failed = events["FailedScheduling"][0]
        assert failed["involvedObject"]["name"] == "big" and failed["message"] == expected
        assert failed["type"] == "Warning" and failed["source"]["component"] == "default-scheduler"
        web0 = await client.get(PODS, "web-0", NS)
        messages = {e["message"] for e in events["Scheduled"]}
        assert f"Successfully assigned default/web-0 to {web0['spec']['nodeName']}" in messages

        # A fitting node appears: the parked pod is bound within a second.
        await asyncio.sleep(1.2)  # let the first backoff expire, as a pod parked a while would
        added = time.monotonic()
        await _create_node(client, node("large", cpu="4"))

        async def big_bound() -> str:
            return str((await client.get(PODS, "big", NS))["spec"].get("nodeName") or "")

        assert await _wait(big_bound, timeout=5.0, step=0.01) == "large"
        assert time.monotonic() - added < 1.0

        other = await client.get(PODS, "other", NS)
        assert not other["spec"].get("nodeName")
        assert not (other.get("status") or {}).get("conditions")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await informers.stop()
        await ctx.recorder("default-scheduler").aclose()
        await client.aclose()


def test_scheduler_against_apiserver(apiserver: ApiServerProcess) -> None:
    asyncio.run(_scenario(apiserver))
