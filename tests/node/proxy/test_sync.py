"""The syncer's decisions with the iptables backend, iptables replaced by a recorder:
full vs partial restores, hooks, UDP conntrack flushes. What both backends share
(failures, the canary, coalescing) is in ``test_sync_shared.py``."""

from __future__ import annotations

import asyncio

import pytest

from node.proxy.model import ServicePort
from node.proxy.ruleset import HOOKS, Chains, RulesConfig
from node.proxy.sync import ProxySyncer, SyncSettings, changed_chains, udp_flushes
from tests.node.proxy.fakes import FakeIptables, sp


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeIptables:
    return FakeIptables(monkeypatch)


def test_first_sync_is_full_then_partial_then_periodic_full(kernel: FakeIptables) -> None:
    state = [sp("a", ["10.0.0.1"]), sp("b", ["10.0.0.2"])]
    now = [0.0]
    s = ProxySyncer(
        lambda: list(state), RulesConfig(), SyncSettings(full_resync_period=100), lambda: now[0]
    )
    kernel.existing = {"KCTL-SVC-AAAAAAAAAAAAAAAA"}  # a previous run's leftover

    first = asyncio.run(s.sync())
    assert first.full and first.chains_deleted == 1 and kernel.hooks == len(HOOKS)
    assert "-X KCTL-SVC-AAAAAAAAAAAAAAAA" in kernel.writes[-1]

    assert asyncio.run(s.sync()).lines == 0  # nothing changed: nothing written
    assert len(kernel.writes) == 1

    state[1] = sp("b", ["10.0.0.3"])  # one endpoint replaced
    result = asyncio.run(s.sync())
    text = kernel.writes[-1]
    assert not result.full and result.chains_written == 2 and result.chains_deleted == 1
    assert "10.0.0.3" in text and "10.0.0.1" not in text and "*filter" not in text
    assert text.count("\n-X KCTL-SEP-") == 1

    now[0] = 150.0
    assert asyncio.run(s.sync()).full and kernel.hooks == 2 * len(HOOKS)


def test_changed_chains() -> None:
    applied: dict[str, Chains] = {"nat": {"A": ("1",), "B": ("2",)}, "filter": {}}
    desired: dict[str, Chains] = {"nat": {"A": ("1",), "C": ("3",)}, "filter": {"F": ()}}
    write, delete = changed_chains(applied, desired)
    assert write == {"nat": {"C"}, "filter": {"F"}} and delete == {"nat": {"B"}, "filter": set()}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            [sp("dns", ["10.0.0.1", "10.0.0.2"], "UDP")],
            [sp("dns", ["10.0.0.2"], "UDP")],
            [("--orig-dst", "10.96.0.3", "-p", "udp", "--dst-nat", "10.0.0.1")],
        ),
        (
            [sp("dns", [], "UDP", 30053)],
            [sp("dns", ["10.0.0.2"], "UDP", 30053)],
            [("--orig-dst", "10.96.0.3", "-p", "udp"), ("-p", "udp", "--dport", "30053")],
        ),
        (
            [sp("dns", ["10.0.0.1"], "UDP")],
            [],
            [("--orig-dst", "10.96.0.3", "-p", "udp", "--dst-nat", "10.0.0.1")],
        ),
        ([sp("web", ["10.0.0.1"])], [sp("web", [])], []),  # TCP: conntrack needs no help
        (
            [sp("dns", ["10.0.0.1"], "UDP")],
            [sp("dns", [], "UDP")],  # REJECT is for new flows
            [("--orig-dst", "10.96.0.3", "-p", "udp", "--dst-nat", "10.0.0.1")],
        ),
        ([sp("dns", [], "UDP")], [sp("dns", [], "UDP")], []),
    ],
)
def test_udp_flushes(
    old: list[ServicePort], new: list[ServicePort], expected: list[tuple[str, ...]]
) -> None:
    assert udp_flushes(old, new) == expected
