"""The syncer with the nftables backend, nft replaced by a recorder: full then partial
transactions, leftovers, and the mode -> backend choice. What both backends share
(failures, the canary, coalescing) is in ``test_sync_shared.py``."""

from __future__ import annotations

import asyncio

import pytest

from node.proxy import nftables
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import IptablesBackend, NftablesBackend, new_backend
from tests.node.proxy.fakes import FakeNft, sp
from tests.node.proxy.nftcheck import dangling_references

T = nftables.QUALIFIED


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeNft:
    return FakeNft(monkeypatch)


def test_full_then_partial_transactions(kernel: FakeNft) -> None:
    state = [sp("a", ["10.0.0.1"]), sp("b", ["10.0.0.2"])]
    kernel.found = nftables.Existing(chains=frozenset({"service-AAAAAAAA-x/y/tcp/"}))
    s = kernel.syncer(state)

    first = asyncio.run(s.sync())
    assert first.full and first.chains_deleted == 1
    assert kernel.writes[-1].startswith(f"add table {T}\n")
    assert f"delete chain {T} service-AAAAAAAA-x/y/tcp/\n" in kernel.writes[-1]

    assert asyncio.run(s.sync()).lines == 0 and len(kernel.writes) == 1

    state[1] = sp("b", ["10.0.0.3"])
    result = asyncio.run(s.sync())
    text = kernel.writes[-1]
    assert not result.full and result.chains_written == 1 and result.chains_deleted == 0
    assert "10.0.0.3" in text and "10.0.0.1" not in text and "add table" not in text
    assert f"delete element {T} {nftables.HAIRPIN} {{ 10.0.0.2 . 10.0.0.2 }}" in text
    known = [*nftables.fixed_chains(RulesConfig()), *nftables.COLLECTIONS]
    known.append(nftables.service_chain(state[0]))
    assert dangling_references(text, known) == []


@pytest.mark.parametrize(
    ("mode", "kind"), [("iptables", IptablesBackend), ("nftables", NftablesBackend)]
)
def test_new_backend(mode: str, kind: type) -> None:
    assert isinstance(new_backend(mode, RulesConfig()), kind)


def test_new_backend_rejects_other_modes() -> None:
    with pytest.raises(ValueError, match="none"):
        new_backend("none", RulesConfig())
