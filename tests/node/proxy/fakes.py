"""Recorders in place of iptables and nft for the syncer's unit tests, with one interface.

Each fake replaces its mode's kernel calls (monkeypatched, so nothing reaches the
machine) and keeps what would have been written in ``writes``; ``fail_next`` makes the
next write fail the way the real tool does, ``canary`` is what the canary check finds.
``is_full`` tells a full write from a partial one, so tests of behaviour both modes
share (``test_sync_shared.py``) can be written once.
"""

from __future__ import annotations

from typing import Any

import pytest

from node.proxy import iptables, nft, nftables
from node.proxy.model import Endpoint, ServicePort
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import NftablesBackend, ProxySyncer, SyncSettings

NFT_TABLE = nftables.QUALIFIED


def sp(name: str, ips: list[str], protocol: str = "TCP", node_port: int = 0) -> ServicePort:
    eps = tuple(Endpoint(ip, 80) for ip in ips)
    return ServicePort("default", name, "", protocol, f"10.96.0.{len(name)}", 80, node_port, 0, eps)


class FakeIptables:
    """iptables-restore, the hooks, the proxy's chains, the canary and conntrack."""

    failing_line = 2  # the line a failed restore reports

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writes: list[str] = []
        self.hooks = 0
        self.conntrack: list[tuple[str, ...]] = []
        self.fail_next = False
        self.canary = True
        self.existing: set[str] = set()

        async def restore(text: str) -> None:
            if self.fail_next:
                self.fail_next = False
                raise iptables.RestoreError(
                    "line 2 failed", iptables.offending_lines("line 2 failed", text)
                )
            self.writes.append(text)

        async def ensure_hook(hook: Any) -> bool:
            self.hooks += 1
            return False

        async def owned_chains(table: str) -> set[str]:
            return set(self.existing) if table == "nat" else set()

        async def canary_intact() -> bool:
            return self.canary

        async def conntrack_delete(*args: str) -> None:
            self.conntrack.append(args)

        for name, func in [
            ("restore", restore),
            ("ensure_hook", ensure_hook),
            ("owned_chains", owned_chains),
            ("canary_intact", canary_intact),
            ("conntrack_delete", conntrack_delete),
        ]:
            monkeypatch.setattr(iptables, name, func)

    def syncer(self, state: list[ServicePort], **settings: Any) -> ProxySyncer:
        return ProxySyncer(lambda: list(state), RulesConfig(), SyncSettings(**settings))

    @staticmethod
    def is_full(text: str) -> bool:
        return "*filter" in text  # a partial restore touches nat alone


class FakeNft:
    """``nft -f``, the table's chains and sets, and the canary."""

    failing_line = 1  # the line a failed load reports

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.writes: list[str] = []
        self.found = nftables.Existing()
        self.fail_next = False
        self.canary = True

        async def load(text: str) -> None:
            if self.fail_next:
                self.fail_next = False
                raise nft.LoadError("/dev/stdin:1:1-3: Error: no", [(1, text.splitlines()[0])])
            self.writes.append(text)

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

    def syncer(self, state: list[ServicePort], **settings: Any) -> ProxySyncer:
        return ProxySyncer(
            lambda: list(state),
            RulesConfig(),
            SyncSettings(**settings),
            backend=NftablesBackend(RulesConfig()),
        )

    @staticmethod
    def is_full(text: str) -> bool:
        return text.startswith(f"add table {NFT_TABLE}\n")


Fake = FakeIptables | FakeNft
