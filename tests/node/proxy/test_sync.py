"""The syncer's decisions, with iptables replaced by a recorder: full vs partial,
coalescing, failures, UDP conntrack flushes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from node.proxy import iptables
from node.proxy.model import Endpoint, ServicePort
from node.proxy.ruleset import HOOKS, Chains, RulesConfig
from node.proxy.sync import ProxySyncer, SyncSettings, changed_chains, udp_flushes


def sp(name: str, ips: list[str], protocol: str = "TCP", node_port: int = 0) -> ServicePort:
    eps = tuple(Endpoint(ip, 80) for ip in ips)
    return ServicePort("default", name, "", protocol, f"10.96.0.{len(name)}", 80, node_port, 0, eps)


class FakeKernel:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.restores: list[str] = []
        self.hooks = 0
        self.conntrack: list[tuple[str, ...]] = []
        self.fail_next = False
        self.existing: set[str] = set()

        async def restore(text: str) -> None:
            if self.fail_next:
                self.fail_next = False
                raise iptables.RestoreError(
                    "line 2 failed", iptables.offending_lines("line 2 failed", text)
                )
            self.restores.append(text)

        async def ensure_hook(hook: Any) -> bool:
            self.hooks += 1
            return False

        async def owned_chains(table: str) -> set[str]:
            return set(self.existing) if table == "nat" else set()

        async def conntrack_delete(*args: str) -> None:
            self.conntrack.append(args)

        for name, func in [
            ("restore", restore),
            ("ensure_hook", ensure_hook),
            ("owned_chains", owned_chains),
            ("conntrack_delete", conntrack_delete),
        ]:
            monkeypatch.setattr(iptables, name, func)


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeKernel:
    return FakeKernel(monkeypatch)


def test_first_sync_is_full_then_partial_then_periodic_full(kernel: FakeKernel) -> None:
    state = [sp("a", ["10.0.0.1"]), sp("b", ["10.0.0.2"])]
    now = [0.0]
    s = ProxySyncer(
        lambda: list(state), RulesConfig(), SyncSettings(full_resync_period=100), lambda: now[0]
    )
    kernel.existing = {"KCTL-SVC-AAAAAAAAAAAAAAAA"}  # a previous run's leftover

    first = asyncio.run(s.sync())
    assert first.full and first.chains_deleted == 1 and kernel.hooks == len(HOOKS)
    assert "-X KCTL-SVC-AAAAAAAAAAAAAAAA" in kernel.restores[-1]

    assert asyncio.run(s.sync()).lines == 0  # nothing changed: nothing written
    assert len(kernel.restores) == 1

    state[1] = sp("b", ["10.0.0.3"])  # one endpoint replaced
    result = asyncio.run(s.sync())
    text = kernel.restores[-1]
    assert not result.full and result.chains_written == 2 and result.chains_deleted == 1
    assert "10.0.0.3" in text and "10.0.0.1" not in text and "*filter" not in text
    assert text.count("\n-X KCTL-SEP-") == 1

    now[0] = 150.0
    assert asyncio.run(s.sync()).full and kernel.hooks == 2 * len(HOOKS)


def test_failed_restore_falls_back_to_full_sync(
    kernel: FakeKernel, caplog: pytest.LogCaptureFixture
) -> None:
    state = [sp("a", ["10.0.0.1"])]
    s = ProxySyncer(
        lambda: list(state), RulesConfig(), SyncSettings(retry_initial=0.01, min_sync_interval=0)
    )
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
    assert "line 2:" in caplog.text  # the offending line is logged
    assert "*filter" in kernel.restores[-1]  # the retry was a full restore


def test_bursts_coalesce(kernel: FakeKernel) -> None:
    calls = [0]

    def source() -> list[ServicePort]:
        calls[0] += 1
        return [sp("a", [f"10.0.0.{calls[0]}"])]

    s = ProxySyncer(source, RulesConfig(), SyncSettings(min_sync_interval=0.2))

    async def scenario() -> None:
        task = asyncio.create_task(s.run())
        await asyncio.sleep(0.05)
        for _ in range(100):
            s.request()
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert 2 <= s.syncs <= 3


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
