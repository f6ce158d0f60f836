"""The nftables proxy against the real kernel: ``nft``, network namespaces, HTTP servers.

The same lab as the iptables tests (bridge, three netns "pods", the service-CIDR
guard in iptables' security table, which shares nf_tables with the proxy's table).
Afterwards the module checks that the proxy's table is gone and that every other
nftables table is still there (the lab fixture checks the iptables rules).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator

import pytest

from node.proxy import nft, nftables
from node.proxy.cleanup import cleanup_other_mode, cleanup_proxy
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import NftablesBackend, ProxySyncer, SyncSettings
from tests.node.proxy import kernel, netlab
from tests.node.proxy.test_kernel import Cluster, fetch_many, first_sync
from tests.node.proxy.test_kernel import syncer as iptables_syncer
from tests.node.proxy.test_nftables import needs_nft

pytestmark = [kernel.needs_iptables, needs_nft, pytest.mark.slow]

CIP = "10.111.223.10"  # inside 10.96.0.0/12, apart from the iptables tests' addresses


def tables() -> set[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True)
    return set(out.stdout.splitlines())


@pytest.fixture(scope="module", autouse=True)
def nft_as_found(lab: netlab.Lab) -> Iterator[None]:
    before = tables() - {f"table {nftables.QUALIFIED}"}
    yield
    cleanup_proxy()
    assert f"table {nftables.QUALIFIED}" not in tables()
    assert before <= tables()


def syncer(cluster: Cluster) -> ProxySyncer:
    config = RulesConfig(cluster_cidr=netlab.CIDR)
    settings = SyncSettings(min_sync_interval=0.05, canary_interval=0.2)
    return ProxySyncer(cluster.source, config, settings, backend=NftablesBackend(config))


def test_cluster_ip_spreads_and_follows_endpoint_changes(lab: netlab.Lab) -> None:
    pods = [p.ip for p in lab.pods]
    names = [p.name for p in lab.pods]

    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", pods, cip=CIP)
        s = syncer(cluster)
        task = asyncio.create_task(s.run())
        try:
            await first_sync(s)
            seen = await fetch_many(CIP, 80, 60)
            assert set(seen) == set(names), seen

            cluster.set("web", pods[:2], cip=CIP)  # an endpoint goes away
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
    cluster.set("idle", [], cip="10.111.223.11")
    asyncio.run(syncer(cluster).sync())
    start = time.monotonic()
    assert netlab.fetch("10.111.223.11", 80) == "refused"
    assert time.monotonic() - start < 0.5
    assert lab.pods[0].fetch("10.111.223.11", 80) == "refused"  # forwarded, too
    # No rule at all for this address: the iptables guard drops it on the machine.
    assert netlab.fetch("10.111.223.99", 80, timeout=0.5) == "timeout"


def test_node_port_on_loopback_and_node_address(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "np", [lab.pods[0].ip], cip="10.111.223.12", type_="NodePort", port={"nodePort": 30989}
    )
    cluster.set("np-idle", [], cip="10.111.223.13", type_="NodePort", port={"nodePort": 30988})
    asyncio.run(syncer(cluster).sync())
    assert netlab.fetch("127.0.0.1", 30989) == lab.pods[0].name
    assert netlab.fetch(netlab.GATEWAY, 30989) == lab.pods[0].name
    assert lab.pods[1].fetch(netlab.GATEWAY, 30989) == lab.pods[0].name  # from a pod
    assert netlab.fetch("127.0.0.1", 30988) == "refused"


def test_pod_to_service_hairpin_and_other_pod(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("self", [lab.pods[0].ip], cip="10.111.223.14")
    cluster.set("other", [lab.pods[1].ip], cip="10.111.223.15")
    asyncio.run(syncer(cluster).sync())
    assert lab.pods[0].fetch("10.111.223.14", 80) == lab.pods[0].name  # hairpin
    assert lab.pods[0].fetch("10.111.223.15", 80) == lab.pods[1].name


def test_session_affinity_pins_the_client(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("sticky", [p.ip for p in lab.pods], cip="10.111.223.16", affinity=0)
    s = syncer(cluster)
    asyncio.run(s.sync())
    seen = asyncio.run(fetch_many("10.111.223.16", 80, 20))
    assert len(seen) == 1 and "timeout" not in seen, seen
    # A full resync keeps the sets, and so the pinned clients.
    s.request_full()
    assert asyncio.run(s.sync()).full
    assert set(asyncio.run(fetch_many("10.111.223.16", 80, 5))) == set(seen)


def test_deleted_table_is_detected_and_repaired(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", [lab.pods[2].ip], cip="10.111.223.17")
        s = syncer(cluster)
        task = asyncio.create_task(s.run())
        try:
            await first_sync(s)
            assert await asyncio.to_thread(netlab.fetch, "10.111.223.17", 80) == lab.pods[2].name
            assert await asyncio.to_thread(nft.delete_table)  # someone deletes it
            assert await asyncio.to_thread(netlab.fetch, "10.111.223.17", 80, 0.3) == "timeout"
            start = time.monotonic()
            while (
                await asyncio.to_thread(netlab.fetch, "10.111.223.17", 80, 0.3) != lab.pods[2].name
            ):
                assert time.monotonic() - start < 2.0, "deleted table was not restored"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_partial_sync_removes_stale_chains_and_full_sync_removes_leftovers(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("a", [lab.pods[0].ip], cip="10.111.223.18")
        cluster.set("b", [p.ip for p in lab.pods[:2]], cip="10.111.223.19", affinity=60)
        s = syncer(cluster)
        assert (await s.sync()).full
        chains = (await nft.existing()).chains
        del cluster.services["default/b"]
        result = await s.sync()
        assert not result.full and result.chains_deleted == 3  # b's service and endpoint chains
        assert await asyncio.to_thread(netlab.fetch, "10.111.223.19", 80, 0.3) == "timeout"
        after = await nft.existing()
        assert len(chains - after.chains) == 3 and not any("affinity" in n for n in after.sets)
        # A new syncer (a restarted agent) finds leftovers and deletes them.
        await nft.load(
            f"add chain {nftables.QUALIFIED} service-AAAAAAAA-x/y/tcp/\n"
            f"add set {nftables.QUALIFIED} affinity-AAAAAAAA-x {{ type ipv4_addr; }}\n"
        )
        fresh = syncer(cluster)
        assert (await fresh.sync()).chains_deleted == 1
        assert await nft.existing() == after
        assert await asyncio.to_thread(netlab.fetch, "10.111.223.18", 80) == lab.pods[0].name

    asyncio.run(scenario())


def test_failed_load_is_reported_with_its_line_and_changes_nothing(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("a", [lab.pods[0].ip], cip="10.111.223.20")
        await syncer(cluster).sync()
        before = await nft.existing()
        text = f"add chain {nftables.QUALIFIED} extra\nadd rule {nftables.QUALIFIED} extra bogus\n"
        with pytest.raises(nft.LoadError) as failure:
            await nft.load(text)
        assert failure.value.lines == [(2, f"add rule {nftables.QUALIFIED} extra bogus")]
        assert await nft.existing() == before  # one transaction: the chain did not stay

    asyncio.run(scenario())


def test_switching_modes_removes_the_other_modes_rules(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set("a", [lab.pods[0].ip], cip="10.111.223.21")
    asyncio.run(iptables_syncer(cluster).sync())
    assert kernel.proxy_traces(kernel.save())
    assert "nat PREROUTING jump to KCTL-SERVICES" in cleanup_other_mode("nftables")
    assert kernel.proxy_traces(kernel.save()) == []
    asyncio.run(syncer(cluster).sync())
    assert cleanup_other_mode("iptables") == [f"nftables table {nftables.QUALIFIED}"]
    assert cleanup_other_mode("iptables") == []


def test_cleanup_removes_the_table_and_nothing_else(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "web", [lab.pods[0].ip], cip="10.111.223.22", type_="NodePort", port={"nodePort": 30987}
    )
    asyncio.run(syncer(cluster).sync())
    before = tables()
    iptables_before = kernel.rules(kernel.save())
    assert cleanup_proxy() == [f"nftables table {nftables.QUALIFIED}"]
    assert tables() == before - {f"table {nftables.QUALIFIED}"}
    lost = {r for r in iptables_before - kernel.rules(kernel.save()) if "CNI-" not in r}
    assert lost == set()  # the guard and everything else in iptables stays
    assert cleanup_proxy() == []
    assert netlab.fetch("10.111.223.22", 80, 0.3) == "timeout"  # the guard still drops
