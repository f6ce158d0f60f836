"""The proxy's calls into iptables and conntrack, as asyncio subprocesses.

The proxy runs as a task inside the node agent's event loop, so it never blocks it:
every binary runs with ``asyncio.create_subprocess_exec``. All iptables calls wait for
the xtables lock (``-w``), which several agents and kube-proxy-like tools share.

A failed ``iptables-restore`` names the input line it choked on ("line 17 failed",
"line 17: RULE_APPEND failed ..."); :class:`RestoreError` carries that line's text so
the log shows the offending rule rather than a 40,000-line dump.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

from node.proxy import chains
from node.proxy.ruleset import TABLES, Hook

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = "5"
_LINE = re.compile(r"line (\d+)")


class IptablesError(Exception):
    pass


@dataclass
class RestoreError(IptablesError):
    stderr: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def __str__(self) -> str:
        where = "; ".join(f"line {n}: {text}" for n, text in self.lines)
        return f"iptables-restore failed: {self.stderr.strip()}" + (f" [{where}]" if where else "")


def offending_lines(stderr: str, text: str) -> list[tuple[int, str]]:
    """The input lines an iptables-restore error message points at (1-based)."""
    lines = text.splitlines()
    out = []
    for match in _LINE.finditer(stderr):
        n = int(match.group(1))
        if 1 <= n <= len(lines) and (n, lines[n - 1]) not in out:
            out.append((n, lines[n - 1]))
    return out


async def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise IptablesError(f"{argv[0]} not found") from exc
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def restore(text: str) -> None:
    """``iptables-restore --noflush`` of ``text``: the chains it declares are replaced."""
    rc, _, err = await run("iptables-restore", "-w", LOCK_WAIT_SECONDS, "--noflush", stdin=text)
    if rc != 0:
        raise RestoreError(err, offending_lines(err, text))


async def iptables(table: str, *args: str) -> tuple[int, str]:
    rc, out, _ = await run("iptables", "-w", LOCK_WAIT_SECONDS, "-t", table, *args)
    return rc, out


async def ensure_hook(hook: Hook) -> bool:
    """Insert the hook rule at the top of its built-in chain unless present."""
    rc, _ = await iptables(hook.table, "-C", hook.chain, *hook.rule)
    if rc == 0:
        return False
    rc, _, err = await run(
        "iptables", "-w", LOCK_WAIT_SECONDS, "-t", hook.table, "-I", hook.chain, "1", *hook.rule
    )
    if rc != 0:
        raise IptablesError(
            f"cannot add the jump to {hook.rule[-1]} in {hook.table} {hook.chain}: {err.strip()}"
        )
    return True


async def owned_chains(table: str) -> set[str]:
    """The proxy's chains present in ``table`` (from ``iptables-save``'s declarations)."""
    rc, out, err = await run("iptables-save", "-t", table)
    if rc != 0:
        raise IptablesError(f"iptables-save -t {table}: {err.strip()}")
    names = (line[1:].split(" ", 1)[0] for line in out.splitlines() if line.startswith(":KCTL-"))
    return {name for name in names if chains.is_owned(name)}


async def canary_intact() -> bool:
    """True while the canary chain and its rule are in every table the proxy writes."""
    for table in TABLES:
        rc, out = await iptables(table, "-S", chains.CANARY)
        if rc != 0 or f"-A {chains.CANARY} -j RETURN" not in out:
            return False
    return True


async def conntrack_delete(*args: str) -> None:
    """``conntrack -D ARGS``; "nothing matched" (exit 1) is not an error."""
    try:
        rc, _, err = await run("conntrack", "-D", *args)
    except IptablesError:
        log.warning("conntrack not found: stale UDP flows to removed endpoints are kept")
        return
    if rc not in (0, 1):
        log.warning("conntrack -D %s: %s", " ".join(args), err.strip())
