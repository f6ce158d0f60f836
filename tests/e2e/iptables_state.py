"""What a cluster left in iptables: snapshots of ``iptables-save`` and their comparison.

The acceptance check of the service proxy's cleanup: after the last node's ``kctl node
--cleanup``, no chain or rule mentions the project's ``KCTL-`` prefix, and every rule
that was there before the cluster started is still there.

A snapshot is a set of ``(table, line)`` entries: chain declarations without their
counters (``:INPUT ACCEPT``) and ``-A`` rules, as ``iptables-save`` prints them. The
machine is shared, so entries that others changed meanwhile are told apart only when
they are clearly not ours: the CNI bridge plugin's masquerade chains and rules of a
*different* CNI network (their comments say ``name: "<network>"``).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "KCTL-"
_CNI_NETWORK = re.compile(r'name: \\?"([^"\\]+)\\?"')
_CNI_CHAIN = re.compile(r"\bCNI-[0-9a-f]+\b")

Entry = tuple[str, str]  # (table, line)


@dataclass(frozen=True)
class Snapshot:
    entries: frozenset[Entry]

    def ours(self) -> list[Entry]:
        """Entries with the project's prefix: a chain of ours, a rule in or to one."""
        return sorted(e for e in self.entries if PREFIX in e[1])


def parse(text: str) -> Snapshot:
    entries: set[Entry] = set()
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            entries.add((table, " ".join(line.split()[:2])))
        elif line.startswith("-A "):
            entries.add((table, line))
    return Snapshot(frozenset(entries))


def capture() -> Snapshot:
    done = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=60, check=True)
    return parse(done.stdout)


def foreign_cni_chains(snapshot: Snapshot, our_network: str) -> set[str]:
    """CNI chains whose rules name a CNI network other than ours."""
    out: set[str] = set()
    for _table, line in snapshot.entries:
        found = _CNI_NETWORK.search(line)
        if found and found.group(1) != our_network:
            out.update(_CNI_CHAIN.findall(line))
    return out


def is_foreign(entry: Entry, foreign_chains: set[str], our_network: str) -> bool:
    line = entry[1]
    found = _CNI_NETWORK.search(line)
    if found:
        return found.group(1) != our_network
    return any(chain in foreign_chains for chain in _CNI_CHAIN.findall(line))


def missing(before: Snapshot, after: Snapshot, our_network: str = "") -> list[Entry]:
    """Entries of ``before`` (not ours) that are gone, except other CNI networks' entries."""
    foreign = foreign_cni_chains(before, our_network)
    gone = before.entries - after.entries
    return sorted(
        e for e in gone if PREFIX not in e[1] and not is_foreign(e, foreign, our_network)
    )


def leftovers(after: Snapshot, allowed_chains: Iterable[str] = ()) -> list[Entry]:
    """Our entries still there, except those about ``allowed_chains`` (someone else's)."""
    allowed = tuple(allowed_chains)
    return [e for e in after.ours() if not any(name in e[1] for name in allowed)]
