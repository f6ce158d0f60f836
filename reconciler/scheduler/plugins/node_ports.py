"""NodePorts: a pod asking for a host port fits only nodes where that (protocol, port)
is free for its host IP (0.0.0.0 conflicts with every address).

The cache indexes used ports by (protocol, port), so the work is proportional to the
nodes already using the pod's ports, not to the cluster."""

from __future__ import annotations

from reconciler.scheduler.framework import REASONS, Codes, CycleState

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
_CODE = REASONS.code(ERR_REASON)
ANY_IP = "0.0.0.0"


def conflicts(ip: str, used: list[str]) -> bool:
    if ip == ANY_IP:
        return bool(used)
    return ip in used or ANY_IP in used


def filter(state: CycleState) -> Codes | None:
    ports = state.pod.host_ports
    if not ports:
        return None
    codes = state.passing()
    slot_of = state.nodes.slot_of
    for proto, ip, port in ports:
        for node, used in (state.cache.ports.get((proto, port)) or {}).items():
            slot = slot_of.get(node)
            if slot is not None and conflicts(ip, used):
                codes[slot] = _CODE
    return codes
