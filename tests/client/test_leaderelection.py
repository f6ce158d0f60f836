"""Leader election against a real API server: one holder, takeover, release, fencing."""

from __future__ import annotations

import asyncio

import pytest

from kctl.client.http import AsyncClient
from kctl.client.leaderelection import FencedClient, LeaderElector, LeaseTiming, NotLeader
from kctl.client.resources import CONFIGMAPS, LEASES
from tests.fixtures.apiserver import ApiServerProcess

FAST = LeaseTiming(lease_duration=1.0, renew_deadline=0.6, retry_period=0.1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_timing_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LeaseTiming(lease_duration=10, renew_deadline=10, retry_period=2)


def test_one_holder_then_takeover_after_lease_duration(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            a = LeaderElector(client, "a", name="le-takeover", timing=FAST)
            b = LeaderElector(client, "b", name="le-takeover", timing=FAST)
            assert await a.try_acquire_or_renew()
            assert not await b.try_acquire_or_renew()  # held, and just observed
            assert await a.try_acquire_or_renew()  # renewing
            assert not await b.try_acquire_or_renew()  # record changed: clock restarts
            await asyncio.sleep(FAST.lease_duration + 0.1)  # a stops renewing
            assert await b.try_acquire_or_renew()
            lease = await client.get(LEASES, "le-takeover", "kube-system")
            assert lease["spec"]["holderIdentity"] == "b"
            assert lease["spec"]["leaseTransitions"] == 1
            assert not await a.try_acquire_or_renew()  # a sees b's fresh record

    asyncio.run(main())


def test_release_lets_a_standby_take_over_at_once(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            a = LeaderElector(client, "a", name="le-release", timing=FAST)
            b = LeaderElector(client, "b", name="le-release", timing=FAST)
            assert await a.try_acquire_or_renew()
            await a.release()
            assert not a.may_write()
            assert await b.try_acquire_or_renew()

    asyncio.run(main())


def test_fence_closes_when_renewal_is_older_than_renew_deadline(apiserver: ApiServerProcess) -> None:
    """The SIGSTOP case: time passes without renewals; the fence closes by the monotonic
    clock alone, before anyone else may take the lease."""

    async def main() -> None:
        clock = FakeClock()
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            elector = LeaderElector(client, "a", name="le-fence", timing=FAST, monotonic=clock)
            assert await elector.try_acquire_or_renew()
            assert elector.may_write()
            clock.now += FAST.renew_deadline - 0.01
            assert elector.may_write()
            clock.now += 0.02
            assert not elector.may_write()

    asyncio.run(main())


def test_fenced_client_refuses_writes_but_not_reads(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        allowed = False
        client = FencedClient.from_kubeconfig(str(apiserver.kubeconfig))
        client.fence(lambda: allowed)
        async with client:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fenced"}}
            with pytest.raises(NotLeader):
                await client.create(CONFIGMAPS, body, "default")
            await client.list(CONFIGMAPS, "default")
            allowed = True
            await client.create(CONFIGMAPS, body, "default")
            await client.delete(CONFIGMAPS, "fenced", "default")

    asyncio.run(main())


def test_run_leads_then_stops_leading_when_lease_is_lost(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            elector = LeaderElector(client, "a", name="le-run", timing=FAST)
            started = asyncio.Event()
            stopped = asyncio.Event()

            async def lead() -> None:
                started.set()
                try:
                    await asyncio.Event().wait()
                finally:
                    stopped.set()

            runner = asyncio.create_task(elector.run(lead))
            await asyncio.wait_for(started.wait(), 5)
            # Someone else takes the lease by force (as if a's renewals had lapsed).
            lease = await client.get(LEASES, "le-run", "kube-system")
            lease["spec"]["holderIdentity"] = "intruder"
            await client.replace(LEASES, lease, "kube-system")
            await asyncio.wait_for(stopped.wait(), 5)
            assert not elector.may_write()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    asyncio.run(main())
