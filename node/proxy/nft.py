"""The proxy's calls into ``nft``, as asyncio subprocesses (plus the blocking cleanup).

Everything goes through the ``nft`` binary: one ``nft -f -`` per sync is one kernel
transaction (all of it applies or none), and the proxy only ever names its own table,
:data:`node.proxy.nftables.TABLE`. A failed load names the input lines nft choked on
(``/dev/stdin:17:1-30: Error: ...``); :class:`NftError` carries their text so the log
shows the offending commands, not a 100,000-line file.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

import orjson

from node.proxy import iptables
from node.proxy.nftables import CANARY, FAMILY, QUALIFIED, TABLE, Existing

_LINE = re.compile(r"^[^:\n]*:(\d+):\d+(?:-\d+)?: Error", re.MULTILINE)


class NftError(Exception):
    pass


@dataclass
class LoadError(NftError):
    stderr: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def __str__(self) -> str:
        first = self.stderr.strip().splitlines()[:1]
        where = "; ".join(f"line {n}: {text}" for n, text in self.lines)
        return f"nft -f failed: {' '.join(first)}" + (f" [{where}]" if where else "")


def offending_lines(stderr: str, text: str) -> list[tuple[int, str]]:
    """The input lines an ``nft -f`` error message points at (1-based), each once."""
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    for match in _LINE.finditer(stderr):
        n = int(match.group(1))
        if 1 <= n <= len(lines) and (n, lines[n - 1]) not in out:
            out.append((n, lines[n - 1]))
    return out


async def _nft(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    try:
        return await iptables.run("nft", *args, stdin=stdin)
    except iptables.IptablesError as exc:
        raise NftError("nft not found: install the nftables package") from exc


async def load(text: str) -> None:
    """``nft -f -`` of ``text``: one transaction."""
    rc, _, err = await _nft("-f", "-", stdin=text)
    if rc != 0:
        raise LoadError(err, offending_lines(err, text))


def _names(listing: str, kind: str) -> frozenset[str]:
    items = orjson.loads(listing or b"{}").get("nftables", [])
    return frozenset(
        item[kind]["name"] for item in items if kind in item and item[kind].get("table") == TABLE
    )


async def _list(kind: str) -> frozenset[str]:
    # -t: no set elements (listing sets with their elements costs seconds at scale)
    rc, out, err = await _nft("-j", "-t", "list", kind + "s", FAMILY)
    if rc != 0:
        raise NftError(f"nft list {kind}s {FAMILY}: {err.strip()}")
    return _names(out, kind)


async def existing() -> Existing:
    """The chains and sets of the proxy's table now in the kernel (none without it)."""
    return Existing(chains=await _list("chain"), sets=await _list("set"))


async def canary_intact() -> bool:
    """True while the table's canary chain exists.

    Only the chain, not its rule: listing one chain's rules makes nft 1.0.6 fetch every
    anonymous map of the table (1.5 s at 5,000 services), while the chain list costs
    tens of milliseconds. So ``nft flush ruleset`` and a deleted table are seen here,
    and a flush of the table's rules alone waits for the periodic full resync.
    """
    return CANARY in await _list("chain")


async def table_exists() -> bool:
    rc, _, _ = await _nft("list", "table", QUALIFIED)
    return rc == 0


def delete_table() -> bool:
    """Remove the proxy's table (blocking; for cleanup): True if it was there."""
    try:
        done = subprocess.run(
            ["nft", "delete", "table", *QUALIFIED.split()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except FileNotFoundError:
        return False  # no nft: no nftables table of ours either
    return done.returncode == 0
