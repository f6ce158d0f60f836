"""The syncer with the nftables backend, nft replaced by a recorder: full then partial
transactions, leftovers, failures, the canary, and the mode -> backend choice."""

from __future__ import annotations

import asyncio

import pytest

from node.proxy import nft, nftables
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import (
    IptablesBackend,
    NftablesBackend,
    ProxySyncer,
    SyncSettings,
    new_backend,
)
from tests.node.proxy.nftcheck import dangling_references
from tests.node.proxy.test_sync import sp

T = nftables.QUALIFIED


class FakeNft:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loads: list[str] = []
        self.found = nftables.Existing()
        self.fail_next = False
        self.canary = True

        async def load(text: str) -> None:
            if self.fail_next:
                self.fail_next = False
                raise nft.LoadError("/dev/stdin:1:1-3: Error: no", [(1, text.splitlines()[0])])
            self.loads.append(text)

        async def existing() -> nftables.Existing:
            return self.found

        async def canary_intact() -> bool:
            return self.canary

        for name, func in [
            ("load", load),
            ("existing", existing),
            ("canary_intact", canary_intact),
        ]:
            monkeypatch.setattr(nft, name, func)


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeNft:
    return FakeNft(monkeypatch)


def syncer(state: list, **settings: float) -> ProxySyncer:
    return ProxySyncer(
        lambda: list(state),
        RulesConfig(),
        SyncSettings(**settings),
        backend=NftablesBackend(RulesConfig()),
    )


def test_full_then_partial_transactions(kernel: FakeNft) -> None:
    state = [sp("a", ["10.0.0.1"]), sp("b", ["10.0.0.2"])]
    kernel.found = nftables.Existing(chains=frozenset({"service-AAAAAAAA-x/y/tcp/"}))
    s = syncer(state)

    first = asyncio.run(s.sync())
    assert first.full and first.chains_deleted == 1
    assert kernel.loads[-1].startswith(f"add table {T}\n")
    assert f"delete chain {T} service-AAAAAAAA-x/y/tcp/\n" in kernel.loads[-1]

    assert asyncio.run(s.sync()).lines == 0 and len(kernel.loads) == 1

    state[1] = sp("b", ["10.0.0.3"])
    result = asyncio.run(s.sync())
    text = kernel.loads[-1]
    assert not result.full and result.chains_written == 1 and result.chains_deleted == 0
    assert "10.0.0.3" in text and "10.0.0.1" not in text and "add table" not in text
    assert f"delete element {T} {nftables.HAIRPIN} {{ 10.0.0.2 . 10.0.0.2 }}" in text
    known = [*nftables.fixed_chains(RulesConfig()), *nftables.COLLECTIONS]
    known.append(nftables.service_chain(state[0]))
    assert dangling_references(text, known) == []


def test_failed_load_is_logged_and_retried_in_full(
    kernel: FakeNft, caplog: pytest.LogCaptureFixture
) -> None:
    state = [sp("a", ["10.0.0.1"])]
    s = syncer(state, retry_initial=0.01, min_sync_interval=0)
    asyncio.run(s.sync())
    state[0] = sp("a", ["10.0.0.2"])
    kernel.fail_next = True

    async def scenario() -> None:
        task = asyncio.create_task(s.run())
        try:
            while s.syncs < 2:
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), 5))
    assert "line 1:" in caplog.text
    assert kernel.loads[-1].startswith(f"add table {T}\n")  # the retry was full


def test_canary_gone_requests_a_full_sync(kernel: FakeNft) -> None:
    state = [sp("a", ["10.0.0.1"])]
    s = syncer(state, canary_interval=0.02, min_sync_interval=0)

    async def scenario() -> None:
        task = asyncio.create_task(s.run())
        try:
            while s.syncs < 1:
                await asyncio.sleep(0.01)
            kernel.canary = False
            while len(kernel.loads) < 2:
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), 5))
    assert all(text.startswith(f"add table {T}\n") for text in kernel.loads)


@pytest.mark.parametrize(
    ("mode", "kind"), [("iptables", IptablesBackend), ("nftables", NftablesBackend)]
)
def test_new_backend(mode: str, kind: type) -> None:
    assert isinstance(new_backend(mode, RulesConfig()), kind)


def test_new_backend_rejects_other_modes() -> None:
    with pytest.raises(ValueError, match="none"):
        new_backend("none", RulesConfig())
