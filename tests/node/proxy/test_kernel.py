"""The iptables proxy against the real kernel: what only the iptables mode has.

What both modes must do (ClusterIP spread, NodePort, hairpin, affinity, repair, partial
syncs) is in ``test_kernel_shared.py``. One lab (bridge + three netns "pods" with HTTP
servers, see :mod:`netlab`) for the module; afterwards the lab fixture checks that
iptables holds none of the proxy's chains or jumps and every rule that was there before
is still there.
"""

from __future__ import annotations

import asyncio

import pytest

from node.proxy.cleanup import cleanup_proxy
from tests.node.proxy import kernel, netlab
from tests.node.proxy.labcluster import IPTABLES, Cluster

pytestmark = [kernel.needs_iptables, pytest.mark.slow]


def test_cleanup_removes_the_proxys_state_and_nothing_else(lab: netlab.Lab) -> None:
    cluster = Cluster()
    cluster.set(
        "web", [lab.pods[0].ip], cip="10.111.222.20", type_="NodePort", port={"nodePort": 30996}
    )
    asyncio.run(IPTABLES.syncer(cluster).sync())
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
