"""Remove everything the proxy put in iptables and nftables (``kctl node --cleanup`` of
the last node).

Only the proxy's own state goes: the jumps listed in :data:`node.proxy.ruleset.HOOKS`
(matched exactly, comment included, so nobody else's rule matches) and the chains
:func:`node.proxy.chains.is_owned` recognises. Other ``KCTL-`` chains (the node
network's guard and no-masquerade chains) are the network cleanup's. The chains are
flushed and deleted in one ``iptables-restore --noflush`` per table, after the jumps
into them are gone. The nftables mode's state is its table, ``ip kctl-proxy``, deleted
whole. Safe to run again: what is already gone is skipped.
"""

from __future__ import annotations

import logging
import os
import subprocess

from node.network import iptables as ipt
from node.proxy import chains, nft
from node.proxy.lock import NetnsLock, lock_path
from node.proxy.nftables import QUALIFIED
from node.proxy.ruleset import HOOKS, TABLES

log = logging.getLogger(__name__)


def owned_chains(table: str) -> list[str]:
    done = subprocess.run(
        ["iptables-save", "-t", table], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        return []  # the table does not exist: nothing of ours in it
    names = (
        line[1:].split(" ", 1)[0] for line in done.stdout.splitlines() if line.startswith(":KCTL-")
    )
    return sorted(name for name in names if chains.is_owned(name))


def removal_text(table: str, names: list[str]) -> str:
    if not names:
        return ""
    lines = [f"*{table}", *(f":{n} - [0:0]" for n in names), *(f"-X {n}" for n in names), "COMMIT"]
    return "\n".join(lines) + "\n"


def cleanup_iptables() -> list[str]:
    """Remove the iptables mode's jumps and chains; returns what was removed."""
    removed = []
    for hook in HOOKS:
        if ipt.delete_rule(hook.table, hook.chain, list(hook.rule)):
            removed.append(f"{hook.table} {hook.chain} jump to {hook.rule[-1]}")
    for table in TABLES:
        names = owned_chains(table)
        if names:
            ipt.restore(removal_text(table, names))
            removed.extend(f"{table} chain {n}" for n in names)
    return removed


def cleanup_nftables() -> list[str]:
    """Remove the nftables mode's table; returns what was removed."""
    return [f"nftables table {QUALIFIED}"] if nft.delete_table() else []


def cleanup_other_mode(mode: str) -> list[str]:
    """What a proxy starting in ``mode`` removes: the other mode's leftovers."""
    if mode == "iptables":
        return cleanup_nftables()
    if mode == "nftables":
        return cleanup_iptables()
    return []


def cleanup_proxy(lock: NetnsLock | None = None) -> list[str]:
    """Remove the proxy's state of both modes; returns what was removed, for the report.

    Only while this process holds the network namespace's proxy lock (taking it if
    free): a proxy still running here in another process (another cluster's node, a
    benchmark) owns the rules, and they are left to it."""
    lock = lock or NetnsLock(lock_path())
    ours = lock.held or lock.holder().split(" ", 1)[0] == str(os.getpid())
    if not ours and not lock.try_acquire("cleanup"):
        log.info("proxy cleanup: a running proxy (%s) owns the rules; leaving them", lock.holder())
        return []
    try:
        removed = cleanup_iptables() + cleanup_nftables()
    finally:
        if not ours:
            lock.release()
    for what in removed:
        log.info("proxy cleanup: removed %s", what)
    return removed
