"""The syncer's loop with either backend, its kernel replaced by a recorder
(:mod:`fakes`): a failed write is logged and retried in full, a missing canary brings a
full sync, and bursts of requests coalesce."""

from __future__ import annotations

import asyncio

import pytest

from tests.node.proxy.fakes import Fake, FakeIptables, FakeNft, sp
from tests.node.proxy.loop import running, until


@pytest.fixture(params=[FakeIptables, FakeNft], ids=["iptables", "nftables"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Fake:
    return request.param(monkeypatch)


def test_failed_write_is_logged_and_retried_in_full(
    fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    state = [sp("a", ["10.0.0.1"])]
    s = fake.syncer(state, retry_initial=0.01, min_sync_interval=0)
    asyncio.run(s.sync())
    state[0] = sp("a", ["10.0.0.2"])
    fake.fail_next = True

    async def scenario() -> None:
        async with running(s):
            await until(lambda: s.syncs >= 2, timeout=5)

    asyncio.run(scenario())
    assert f"line {fake.failing_line}:" in caplog.text  # the offending line is logged
    assert fake.is_full(fake.writes[-1])  # the retry was full


def test_canary_gone_requests_a_full_sync(fake: Fake) -> None:
    s = fake.syncer([sp("a", ["10.0.0.1"])], canary_interval=0.02, min_sync_interval=0)

    async def scenario() -> None:
        async with running(s):
            await until(lambda: s.syncs >= 1, timeout=5)
            fake.canary = False
            await until(lambda: len(fake.writes) >= 2, timeout=5)

    asyncio.run(scenario())
    assert all(fake.is_full(text) for text in fake.writes)


def test_bursts_coalesce(fake: Fake) -> None:
    state = [sp("a", ["10.0.0.1"])]
    s = fake.syncer(state, min_sync_interval=0.2)

    async def scenario() -> None:
        async with running(s):
            await asyncio.sleep(0.05)
            for i in range(100):
                state[0] = sp("a", [f"10.0.1.{i}"])
                s.request()
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.3)

    asyncio.run(scenario())
    assert 2 <= s.syncs <= 3
