"""Pod-to-pod traffic between the machine's nodes keeps its source address.

The bridge plugin's ``ipMasq`` masquerades everything a pod sends outside its own
node's pod CIDR, so without an exception a pod on node A would reach a pod on node B
(on the same machine) as "10.244.2.1", B's bridge, not as itself: Kubernetes' network
model wants no NAT between pods. The exception is a chain at the top of nat
POSTROUTING, ``KCTL-POD-NOMASQ``: ``-s <pod CIDR> -d <other pod CIDR> -j ACCEPT`` for
every pair of the machine's nodes (an ACCEPT in nat ends NAT processing, so the CNI
chains appended after it never see the packet).

Packets the node proxy marked for masquerade (its own 0x8000 bit: hairpin traffic,
NodePorts reached on loopback) RETURN first, so the proxy's own masquerade still
applies to them wherever its jump sits. Shared by all nodes of the machine, derived
from the machine registry and removed with the last node, like the guard.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.network import iptables
from node.network.config import normalize_cidrs
from node.network.machine import MachineRegistry

TABLE = "nat"
HOOK = "POSTROUTING"
JUMP_COMMENT = "kctl pod-to-pod traffic is not masqueraded"


def jump_rule(chain: str) -> list[str]:
    return iptables.jump(chain, JUMP_COMMENT)


def ruleset(chain: str, pod_cidrs: Iterable[str], mark: int) -> str:
    cidrs = normalize_cidrs(pod_cidrs)
    lines = [
        "*" + TABLE,
        f":{chain} - [0:0]",
        f"-A {chain} -m mark --mark {mark:#x}/{mark:#x} -j RETURN",
    ]
    for src in cidrs:
        for dst in cidrs:
            if src != dst:  # within one pod CIDR the CNI chain already accepts
                lines.append(f"-A {chain} -s {src} -d {dst} -j ACCEPT")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def install(chain: str, pod_cidrs: Iterable[str], mark: int) -> None:
    iptables.restore(ruleset(chain, pod_cidrs, mark))
    iptables.ensure_jump(TABLE, HOOK, jump_rule(chain))


def remove(chain: str) -> bool:
    removed = iptables.delete_rule(TABLE, HOOK, jump_rule(chain))
    return iptables.delete_chain(TABLE, chain) or removed > 0


def sync(registry: MachineRegistry, chain: str, mark: int) -> list[str]:
    """Converge on the registry's pod CIDRs (call under ``registry.locked()``)."""
    cidrs = normalize_cidrs(r.get("podCIDR", "") for r in registry.records().values())
    if cidrs:
        install(chain, cidrs, mark)
    else:
        remove(chain)
    return cidrs
