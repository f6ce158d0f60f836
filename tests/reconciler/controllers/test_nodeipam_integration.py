"""The node IPAM controller against a real API server."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from kctl.client.http import AsyncClient
from kctl.client.resources import CONFIGMAPS, EVENTS, NODES
from reconciler.controller import ControllerContext
from reconciler.controllers import nodeipam
from tests.fixtures.apiserver import ApiServerProcess
from tests.reconciler.controllers.harness import eventually, running


def _node(name: str, pod_cidr: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    if pod_cidr:
        body["spec"] = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]}
    return body


async def _cidr(client: AsyncClient, name: str) -> str | None:
    node = await client.get(NODES, name)
    spec = node.get("spec") or {}
    if spec.get("podCIDR"):
        assert spec["podCIDRs"] == [spec["podCIDR"]]
    return spec.get("podCIDR")


def test_nodes_get_distinct_cidrs_from_the_cluster_config(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        async with running(apiserver.kubeconfig, nodeipam.new) as run:
            client = run.client
            config = await client.get(CONFIGMAPS, "kctl-config", "kube-system")
            assert config["data"]["clusterCIDR"] == "10.244.0.0/16"
            names = [f"ipam-{i}" for i in range(4)]
            for name in names:
                await client.create(NODES, _node(name))
            cidrs = [await eventually(lambda n=n: _cidr(client, n), what=f"{n} podCIDR") for n in names]
            assert len(set(cidrs)) == 4
            assert all(c.startswith("10.244.") and c.endswith(".0/24") for c in cidrs)
            for name in names:
                await client.delete(NODES, name)

    asyncio.run(scenario())


OPTIONS = {"nodeipam.cluster-cidr": "10.250.0.0/22"}  # four /24 blocks


def _small(ctx: ControllerContext) -> nodeipam.NodeIpam:
    return nodeipam.new(dataclasses.replace(ctx, options=OPTIONS))


def test_existing_cidrs_are_kept_exhaustion_and_release(apiserver: ApiServerProcess) -> None:
    async def scenario() -> None:
        client = AsyncClient.from_kubeconfig(str(apiserver.kubeconfig))
        try:
            # Present before the controller starts: its block must never be handed out.
            await client.create(NODES, _node("small-pre", "10.250.0.0/24"))
        finally:
            await client.aclose()
        async with running(apiserver.kubeconfig, _small) as run:
            client = run.client
            names = ["small-a", "small-b", "small-c"]
            for name in names:
                await client.create(NODES, _node(name))
            cidrs = {await eventually(lambda n=n: _cidr(client, n), what=f"{n} podCIDR") for n in names}
            assert cidrs == {"10.250.1.0/24", "10.250.2.0/24", "10.250.3.0/24"}

            await client.create(NODES, _node("small-full"))

            async def not_available() -> bool:
                events = await client.list(EVENTS, "default")
                return any(e["reason"] == "CIDRNotAvailable"
                           and e["involvedObject"]["name"] == "small-full" for e in events["items"])

            await eventually(not_available, what="the CIDRNotAvailable event")
            assert await _cidr(client, "small-full") is None

            await client.delete(NODES, "small-pre")  # its block is free again
            assert await eventually(lambda: _cidr(client, "small-full"), what="the freed block") == "10.250.0.0/24"
            for name in [*names, "small-full"]:
                await client.delete(NODES, name)

    asyncio.run(scenario())
