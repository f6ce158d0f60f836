"""The service-CIDR guard: nothing addressed to a ClusterIP leaves the machine untranslated.

A ClusterIP is virtual: the proxy's DNAT turns it into a pod address. A packet still
addressed to the service CIDR after NAT (a service with no endpoints yet, a proxy not
synced) would follow the default route off the machine. The guard drops it.

Where: the ``security`` table's OUTPUT and FORWARD chains, which run after nat and
filter, so DNATed service traffic already carries its pod address there and passes.
Not a blackhole route: for a locally generated packet the route lookup comes before nat
OUTPUT, so such a route makes connect() to every ClusterIP fail with EINVAL and the DNAT
never runs (measured on these machines; see the notes).

How: one chain, ``KCTL-SERVICE-GUARD``, holding a DROP per service CIDR of the
machine's nodes (clusters on one machine may differ), rewritten as a whole with
``iptables-restore --noflush``, and one jump to it at the top of each hook. Shared by
all nodes of the machine: :func:`sync` derives the CIDRs from the machine registry and
removes the chain when no node is left.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.network import iptables
from node.network.config import normalize_cidrs
from node.network.machine import MachineRegistry

TABLE = "security"
HOOKS = ("OUTPUT", "FORWARD")
JUMP_COMMENT = "kctl service-CIDR guard"
DROP_COMMENT = "kctl: untranslated ClusterIP traffic never leaves the machine"


def jump_rule(chain: str) -> list[str]:
    return iptables.jump(chain, JUMP_COMMENT)


def ruleset(chain: str, cidrs: Iterable[str]) -> str:
    lines = ["*" + TABLE, f":{chain} - [0:0]"]
    for cidr in normalize_cidrs(cidrs):
        lines.append(f'-A {chain} -d {cidr} -m comment --comment "{DROP_COMMENT}" -j DROP')
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def install(chain: str, cidrs: Iterable[str]) -> None:
    """Make the chain hold exactly the DROPs for ``cidrs`` and be jumped to from each hook."""
    iptables.restore(ruleset(chain, cidrs))
    for hook in HOOKS:
        iptables.ensure_jump(TABLE, hook, jump_rule(chain))


def remove(chain: str) -> bool:
    """Remove the jumps and the chain; True if anything was there."""
    removed = sum(iptables.delete_rule(TABLE, hook, jump_rule(chain)) for hook in HOOKS)
    return iptables.delete_chain(TABLE, chain) or removed > 0


def installed_cidrs(chain: str) -> list[str] | None:
    """The CIDRs the guard drops, or None unless the chain and both jumps are in place."""
    for hook in HOOKS:
        if not iptables.iptables(TABLE, "-C", hook, *jump_rule(chain), check=False):
            return None
    if not iptables.chain_exists(TABLE, chain):
        return None
    out = []
    for line in iptables.chain_rules(TABLE, chain):
        words = line.split()
        if "-d" in words and words[-2:] == ["-j", "DROP"]:
            out.append(words[words.index("-d") + 1])
    return normalize_cidrs(out)


def machine_cidrs(registry: MachineRegistry) -> list[str]:
    return normalize_cidrs(r.get("serviceCIDR", "") for r in registry.records().values())


def sync(registry: MachineRegistry, chain: str) -> list[str]:
    """Converge the guard on the registry (call under ``registry.locked()``).

    Returns the CIDRs guarded; with no node left the guard is removed.
    """
    cidrs = machine_cidrs(registry)
    if cidrs:
        install(chain, cidrs)
    else:
        remove(chain)
    return cidrs
