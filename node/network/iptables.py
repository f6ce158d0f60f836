"""The few iptables operations the node network needs, run through the iptables binaries.

Rule bodies go in with one ``iptables-restore --noflush`` (declaring a chain there
flushes it, so a chain's rules are replaced as a whole and never duplicated); the jumps
from the built-in chains, which restore cannot add idempotently, use ``-C`` before
``-I``. Every call waits for the xtables lock (``-w``), as kube-proxy does, because
several agents and the proxy share it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

LOCK_WAIT_SECONDS = "5"


class IptablesError(Exception):
    pass


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise IptablesError(f"{argv[0]} not found: install iptables") from exc


def iptables(table: str, *args: str, check: bool = True) -> bool:
    """Run ``iptables -t TABLE ARGS``; False on failure when ``check`` is off."""
    done = _run(["iptables", "-w", LOCK_WAIT_SECONDS, "-t", table, *args])
    if done.returncode != 0 and check:
        raise IptablesError(f"iptables -t {table} {' '.join(args)}: {done.stderr.strip()}")
    return done.returncode == 0


def restore(text: str) -> None:
    done = _run(["iptables-restore", "-w", LOCK_WAIT_SECONDS, "--noflush"], stdin=text)
    if done.returncode != 0:
        raise IptablesError(f"iptables-restore: {done.stderr.strip()}\n--- input ---\n{text}")


def chain_exists(table: str, chain: str) -> bool:
    return iptables(table, "-S", chain, check=False)


def chain_rules(table: str, chain: str) -> list[str]:
    """The chain's ``-A`` lines as ``iptables -S`` prints them (empty if no chain)."""
    done = _run(["iptables", "-w", LOCK_WAIT_SECONDS, "-t", table, "-S", chain])
    if done.returncode != 0:
        return []
    return [line for line in done.stdout.splitlines() if line.startswith("-A ")]


def ensure_jump(table: str, chain: str, rule: Sequence[str]) -> bool:
    """Insert ``rule`` at the top of ``chain`` unless present; True if it was added."""
    if iptables(table, "-C", chain, *rule, check=False):
        return False
    iptables(table, "-I", chain, "1", *rule)
    return True


def delete_rule(table: str, chain: str, rule: Sequence[str]) -> int:
    """Delete every copy of ``rule`` from ``chain``; how many were deleted."""
    count = 0
    while iptables(table, "-D", chain, *rule, check=False):
        count += 1
    return count


def delete_chain(table: str, chain: str) -> bool:
    """Flush and delete a chain (no jumps may point at it); False if it did not exist."""
    if not chain_exists(table, chain):
        return False
    iptables(table, "-F", chain)
    iptables(table, "-X", chain)
    return True


def comment(text: str) -> list[str]:
    return ["-m", "comment", "--comment", text]


def jump(chain: str, why: str) -> list[str]:
    """A commented jump rule body (the comment makes ``-C``/``-D`` match only ours)."""
    return [*comment(why), "-j", chain]
