"""What both proxy modes must do in the real kernel, tested once per mode.

The lab (bridge, three netns "pods" with HTTP servers, the service-CIDR guard; see
:mod:`netlab`) serves the whole module; each mode's tests run together, inside the
mode's own check that it leaves the kernel as found (:meth:`LabBackend.as_found`), and
the lab fixture checks iptables after the module. What only one mode has (restore and
load details, cleanup, switching modes) is in ``test_kernel.py`` and
``test_nft_kernel.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.node.proxy import kernel, netlab
from tests.node.proxy.labcluster import IPTABLES, NFTABLES, Cluster, LabBackend, fetch_many
from tests.node.proxy.loop import running, until

pytestmark = [kernel.needs_iptables, pytest.mark.slow]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(IPTABLES, id=IPTABLES.name),
        pytest.param(NFTABLES, id=NFTABLES.name, marks=kernel.needs_nft),
    ],
)
def backend(request: pytest.FixtureRequest, lab: netlab.Lab) -> Iterator[LabBackend]:
    with request.param.as_found():
        yield request.param


def test_cluster_ip_spreads_and_follows_endpoint_changes(
    lab: netlab.Lab, backend: LabBackend
) -> None:
    pods = [p.ip for p in lab.pods]
    names = [p.name for p in lab.pods]
    cip = backend.ip(10)

    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", pods, cip=cip)
        s = backend.syncer(cluster)
        async with running(s):
            await until(lambda: s.syncs > 0)
            seen = await fetch_many(cip, 80, 60)
            assert set(seen) == set(names), seen

            cluster.set("web", pods[:2], cip=cip)  # an endpoint goes away (scale-down, NotReady)
            s.request()
            start = time.monotonic()
            # 30 misses in a row: 10 could happen by chance (1 in 60) while the old rules still apply
            while names[2] in await fetch_many(cip, 80, 30):
                assert time.monotonic() - start < 1.0, "removed endpoint still receives traffic"
            assert set(await fetch_many(cip, 80, 30)) == set(names[:2])

    asyncio.run(scenario())


def test_without_endpoints_refuses_at_once_and_untranslated_traffic_stays(
    lab: netlab.Lab, backend: LabBackend
) -> None:
    cluster = Cluster()
    cluster.set("idle", [], cip=backend.ip(11))
    asyncio.run(backend.syncer(cluster).sync())
    start = time.monotonic()
    assert netlab.fetch(backend.ip(11), 80) == "refused"
    assert time.monotonic() - start < 0.5
    assert lab.pods[0].fetch(backend.ip(11), 80) == "refused"  # forwarded, too
    # No rule at all for this address: the iptables guard drops it on the machine (a timeout).
    assert netlab.fetch(backend.ip(99), 80, timeout=0.5) == "timeout"


def test_node_port_on_loopback_and_node_address(lab: netlab.Lab, backend: LabBackend) -> None:
    port, idle_port = backend.node_port, backend.node_port - 1
    cluster = Cluster()
    cluster.set(
        "np", [lab.pods[0].ip], cip=backend.ip(12), type_="NodePort", port={"nodePort": port}
    )
    cluster.set("np-idle", [], cip=backend.ip(13), type_="NodePort", port={"nodePort": idle_port})
    asyncio.run(backend.syncer(cluster).sync())
    assert netlab.fetch("127.0.0.1", port) == lab.pods[0].name
    assert netlab.fetch(netlab.GATEWAY, port) == lab.pods[0].name
    assert lab.pods[1].fetch(netlab.GATEWAY, port) == lab.pods[0].name  # from a pod
    assert netlab.fetch("127.0.0.1", idle_port) == "refused"


def test_pod_to_service_hairpin_and_other_pod(lab: netlab.Lab, backend: LabBackend) -> None:
    cluster = Cluster()
    cluster.set("self", [lab.pods[0].ip], cip=backend.ip(14))
    cluster.set("other", [lab.pods[1].ip], cip=backend.ip(15))
    asyncio.run(backend.syncer(cluster).sync())
    assert lab.pods[0].fetch(backend.ip(14), 80) == lab.pods[0].name  # hairpin
    assert lab.pods[0].fetch(backend.ip(15), 80) == lab.pods[1].name


def test_session_affinity_pins_the_client(lab: netlab.Lab, backend: LabBackend) -> None:
    cluster = Cluster()
    cluster.set("sticky", [p.ip for p in lab.pods], cip=backend.ip(16), affinity=0)
    s = backend.syncer(cluster)
    asyncio.run(s.sync())
    seen = asyncio.run(fetch_many(backend.ip(16), 80, 20))
    assert len(seen) == 1 and "timeout" not in seen, seen
    # A full resync keeps the affinity state, and so the pinned clients.
    s.request_full()
    assert asyncio.run(s.sync()).full
    assert set(asyncio.run(fetch_many(backend.ip(16), 80, 5))) == set(seen)


def test_damaged_rules_are_detected_and_repaired(lab: netlab.Lab, backend: LabBackend) -> None:
    cip, pod = backend.ip(17), lab.pods[2].name

    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("web", [lab.pods[2].ip], cip=cip)
        s = backend.syncer(cluster)
        async with running(s):
            await until(lambda: s.syncs > 0)
            assert await asyncio.to_thread(netlab.fetch, cip, 80) == pod
            await backend.damage()
            assert await asyncio.to_thread(netlab.fetch, cip, 80, 0.3) == "timeout"
            start = time.monotonic()
            while await asyncio.to_thread(netlab.fetch, cip, 80, 0.3) != pod:
                assert time.monotonic() - start < 2.0, "damaged rules were not restored"

    asyncio.run(scenario())


def test_partial_sync_removes_stale_chains_and_full_sync_removes_leftovers(
    lab: netlab.Lab, backend: LabBackend
) -> None:
    async def scenario() -> None:
        cluster = Cluster()
        cluster.set("a", [lab.pods[0].ip], cip=backend.ip(18))
        cluster.set("b", [p.ip for p in lab.pods[:2]], cip=backend.ip(19), affinity=60)
        s = backend.syncer(cluster)
        assert (await s.sync()).full
        before = await backend.objects()
        del cluster.services["default/b"]
        result = await s.sync()
        assert not result.full and result.chains_deleted == 3  # b's service and endpoint chains
        assert await asyncio.to_thread(netlab.fetch, backend.ip(19), 80, 0.3) == "timeout"
        after = await backend.objects()
        gone = Counter(kind for kind, _ in (o.split(" ", 1) for o in before - after))
        assert gone == {"chain": 3, "affinity": 2}  # b's two endpoints' affinity state, too
        assert not any(o.startswith("affinity ") for o in after)
        assert after - before == set()
        # A new syncer (a restarted agent) finds leftovers and deletes them.
        await backend.plant_leftovers()
        fresh = backend.syncer(cluster)
        assert (await fresh.sync()).chains_deleted == 1
        assert await backend.objects() == after
        assert await asyncio.to_thread(netlab.fetch, backend.ip(18), 80) == lab.pods[0].name

    asyncio.run(scenario())
