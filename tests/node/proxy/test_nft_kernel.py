"""The nftables proxy against the real kernel: what only the nftables mode has.

What both modes must do is in ``test_kernel_shared.py``. The same lab as the iptables
tests (bridge, three netns "pods", the service-CIDR guard in iptables' security table,
which shares nf_tables with the proxy's table). Afterwards the module checks that the
proxy's table is gone and that every other nftables table is still there (the lab
fixture checks the iptables rules).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from node.proxy import nft, nftables
from node.proxy.cleanup import cleanup_other_mode, cleanup_proxy
from tests.node.proxy import kernel, netlab
from tests.node.proxy.labcluster import IPTABLES, NFTABLES, PROXY_TABLE, Cluster, nft_tables

pytestmark = [kernel.needs_iptables, kernel.needs_nft, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def nft_as_found(lab: netlab.Lab) -> Iterator[None]:
    with NFTABLES.as_found():
        yield


def test_failed_load_is_reported_with_its_line_and_changes_nothing(lab: netlab.Lab) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("a", [lab.pods[0].ip], cip="10.111.223.20")
        await NFTABLES.syncer(cluster).sync()
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
    asyncio.run(IPTABLES.syncer(cluster).sync())
    assert kernel.proxy_traces(kernel.save())
    assert "nat PREROUTING jump to KCTL-SERVICES" in cleanup_other_mode("nftables")
    assert kernel.proxy_traces(kernel.save()) == []
    asyncio.run(NFTABLES.syncer(cluster).sync())
    assert cleanup_other_mode("iptables") == [f"nftables table {nftables.QUALIFIED}"]
    assert cleanup_other_mode("iptables") == []


def test_cleanup_removes_the_table_and_nothing_else(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "web", [lab.pods[0].ip], cip="10.111.223.22", type_="NodePort", port={"nodePort": 30987}
    )
    asyncio.run(NFTABLES.syncer(cluster).sync())
    before = nft_tables()
    iptables_before = kernel.rules(kernel.save())
    assert cleanup_proxy() == [f"nftables table {nftables.QUALIFIED}"]
    assert nft_tables() == before - {PROXY_TABLE}
    lost = {r for r in iptables_before - kernel.rules(kernel.save()) if "CNI-" not in r}
    assert lost == set()  # the guard and everything else in iptables stays
    assert cleanup_proxy() == []
    assert netlab.fetch("10.111.223.22", 80, 0.3) == "timeout"  # the guard still drops
