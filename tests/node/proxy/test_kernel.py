"""The proxy against the real kernel: iptables rules, network namespaces, HTTP servers.

One lab (bridge + three netns "pods" with HTTP servers, see :mod:`netlab`) for the
module; the syncer is driven with Service/Endpoints objects directly. Afterwards the
module checks that iptables holds none of the proxy's chains or jumps and every rule
that was there before is still there.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from node.proxy import iptables as ipt
from node.proxy.cleanup import cleanup_proxy
from node.proxy.model import ModelCache, ServicePort
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import ProxySyncer, SyncSettings
from tests.node.proxy import kernel, netlab
from tests.node.proxy.fixtures import endpoints, service

pytestmark = [kernel.needs_iptables, pytest.mark.slow]

PORT = {"name": "http", "port": 80, "targetPort": netlab.PORT}
EP_PORT = [{"name": "http", "port": netlab.PORT}]
CIP = "10.111.222.10"  # inside 10.96.0.0/12, which no real service of this machine uses


class Cluster:
    """Services and Endpoints by key, as the informer caches would hold them."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.cache = ModelCache()
        self._rv = 0

    def rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def set(self, name: str, ips: list[str], cip: str = CIP, **kw: Any) -> None:
        self.services[f"default/{name}"] = service(
            name, cip, [{**PORT, **kw.pop("port", {})}], rv=self.rv(), **kw
        )
        self.endpoints[f"default/{name}"] = endpoints(name, [(ips, [], EP_PORT)], rv=self.rv())

    def source(self) -> list[ServicePort]:
        return self.cache.build(self.services.items(), self.endpoints.get)


def syncer(cluster: Cluster) -> ProxySyncer:
    settings = SyncSettings(min_sync_interval=0.05, canary_interval=0.2)
    return ProxySyncer(cluster.source, RulesConfig(cluster_cidr=netlab.CIDR), settings)


async def first_sync(s: ProxySyncer) -> None:
    async def wait() -> None:
        while s.syncs == 0:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), 10)


async def fetch_many(ip: str, port: int, n: int) -> Counter[str]:
    return Counter([await asyncio.to_thread(netlab.fetch, ip, port) for _ in range(n)])


def test_cluster_ip_spreads_and_follows_endpoint_changes(lab: netlab.Lab) -> None:
    pods = [p.ip for p in lab.pods]
    names = [p.name for p in lab.pods]

    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", pods)
        s = syncer(cluster)
        task = asyncio.create_task(s.run())
        try:
            await first_sync(s)
            seen = await fetch_many(CIP, 80, 60)
            assert set(seen) == set(names), seen

            cluster.set("web", pods[:2])  # an endpoint goes away (scale-down, NotReady)
            s.request()
            start = time.monotonic()
            # 30 misses in a row: 10 could happen by chance (1 in 60) while the old rules still apply
            while names[2] in await fetch_many(CIP, 80, 30):
                assert time.monotonic() - start < 1.0, "removed endpoint still receives traffic"
            assert set(await fetch_many(CIP, 80, 30)) == set(names[:2])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_without_endpoints_refuses_at_once_and_untranslated_traffic_stays(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("idle", [], cip="10.111.222.11")
    asyncio.run(syncer(cluster).sync())
    start = time.monotonic()
    assert netlab.fetch("10.111.222.11", 80) == "refused"
    assert time.monotonic() - start < 0.5
    # No rule at all for this address: the guard drops it on the machine (a timeout).
    assert netlab.fetch("10.111.222.99", 80, timeout=0.5) == "timeout"


def test_node_port_on_loopback_and_node_address(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "np", [lab.pods[0].ip], cip="10.111.222.12", type_="NodePort", port={"nodePort": 30999}
    )
    cluster.set("np-idle", [], cip="10.111.222.13", type_="NodePort", port={"nodePort": 30998})
    asyncio.run(syncer(cluster).sync())
    assert netlab.fetch("127.0.0.1", 30999) == lab.pods[0].name
    assert netlab.fetch(netlab.GATEWAY, 30999) == lab.pods[0].name
    assert netlab.fetch("127.0.0.1", 30998) == "refused"


def test_pod_to_service_hairpin_and_other_pod(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("self", [lab.pods[0].ip], cip="10.111.222.14")
    cluster.set("other", [lab.pods[1].ip], cip="10.111.222.15")
    asyncio.run(syncer(cluster).sync())
    assert lab.pods[0].fetch("10.111.222.14", 80) == lab.pods[0].name  # hairpin
    assert lab.pods[0].fetch("10.111.222.15", 80) == lab.pods[1].name


def test_session_affinity_pins_the_client(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("sticky", [p.ip for p in lab.pods], cip="10.111.222.16", affinity=0)
    asyncio.run(syncer(cluster).sync())
    seen = asyncio.run(fetch_many("10.111.222.16", 80, 20))
    assert len(seen) == 1 and "timeout" not in seen, seen


def test_external_flush_is_detected_and_repaired(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", [lab.pods[2].ip], cip="10.111.222.17")
        s = syncer(cluster)
        task = asyncio.create_task(s.run())
        try:
            await first_sync(s)
            assert await asyncio.to_thread(netlab.fetch, "10.111.222.17", 80) == lab.pods[2].name
            for chain in ("KCTL-SERVICES", "KCTL-PROXY-CANARY"):  # someone flushes nat
                await ipt.iptables("nat", "-F", chain)
            assert await asyncio.to_thread(netlab.fetch, "10.111.222.17", 80, 0.3) == "timeout"
            start = time.monotonic()
            while (
                await asyncio.to_thread(netlab.fetch, "10.111.222.17", 80, 0.3) != lab.pods[2].name
            ):
                assert time.monotonic() - start < 2.0, "flushed rules were not restored"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_partial_sync_removes_stale_chains_and_full_sync_removes_leftovers(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("a", [lab.pods[0].ip], cip="10.111.222.18")
        cluster.set("b", [lab.pods[1].ip], cip="10.111.222.19")
        s = syncer(cluster)
        assert (await s.sync()).full
        del cluster.services["default/b"]
        result = await s.sync()
        assert not result.full and result.chains_deleted == 2  # b's SVC and SEP chains
        assert await asyncio.to_thread(netlab.fetch, "10.111.222.19", 80, 0.3) == "timeout"
        nat = await ipt.owned_chains("nat")
        # A new syncer (a restarted agent) finds a leftover chain and deletes it.
        await ipt.restore("*nat\n:KCTL-SEP-AAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n")
        fresh = syncer(cluster)
        assert (await fresh.sync()).chains_deleted == 1
        assert await ipt.owned_chains("nat") == nat
        assert await asyncio.to_thread(netlab.fetch, "10.111.222.18", 80) == lab.pods[0].name

    asyncio.run(scenario())


def test_cleanup_removes_the_proxys_state_and_nothing_else(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "web", [lab.pods[0].ip], cip="10.111.222.20", type_="NodePort", port={"nodePort": 30996}
    )
    asyncio.run(syncer(cluster).sync())
    before = kernel.save()
    assert kernel.proxy_traces(before)
    removed = cleanup_proxy()
    assert "nat PREROUTING jump to KCTL-SERVICES" in removed
    after = kernel.save()
    assert kernel.proxy_traces(after) == []
    assert any(netlab.GUARD_CHAIN in line for line in after)  # the node network's chain stays
    assert {r for r in kernel.rules(before) - kernel.rules(after) if "CNI-" not in r} == {
        r for r in kernel.rules(before) if kernel.proxy_traces([r])
    }
    assert cleanup_proxy() == []  # again: nothing left to do
    assert netlab.fetch("10.111.222.20", 80, 0.3) == "timeout"  # the guard still drops
