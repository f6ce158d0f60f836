"""Fixtures' helpers for tests that program the real iptables (and nftables) of this machine."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from node.proxy import chains
from node.proxy.lock import NetnsLock, lock_path

needs_iptables = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("iptables-restore", "ip", "conntrack")),
    reason="needs root, iptables, iproute2 and conntrack",
)
needs_nft = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft"
)


def save() -> list[str]:
    return subprocess.run(
        ["iptables-save"], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def rules(lines: list[str]) -> set[str]:
    """The rules and chain declarations of a dump (counters and comments dropped)."""
    return {line.split(" [")[0] for line in lines if line.startswith(("-A ", ":"))}


def lost_rules(before: list[str], after: list[str]) -> set[str]:
    """Rules of dump ``before`` missing from dump ``after``, KCTL-/CNI- rules aside (other
    kctl tests may add or remove their own chains meanwhile)."""
    return {r for r in rules(before) - rules(after) if "KCTL-" not in r and "CNI-" not in r}


def proxy_traces(lines: list[str]) -> list[str]:
    """Lines of a dump naming one of the proxy's chains (declared or jumped to)."""
    out = []
    for line in lines:
        words = line.replace(":", " ").split()
        if any(chains.is_owned(w) for w in words):
            out.append(line)
    return out


def machine_lock() -> NetnsLock:
    """The proxy's lock of this network namespace: tests hold it so that they never
    fight a real kctl proxy on the machine (and skip when one is running)."""
    lock = NetnsLock(lock_path())
    if not lock.try_acquire("pytest"):
        pytest.skip(f"a kctl proxy ({lock.holder()}) programs this network namespace")
    return lock
