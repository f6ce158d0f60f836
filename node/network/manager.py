"""A node's pod network, put together: set up, keep routes in sync, say whether it is ready.

Order of :meth:`NodeNetwork.setup` (each step idempotent, so an agent restart re-runs
it all safely): join the machine registry and, under its lock, set the machine-wide
sysctls (recording what they were) and converge the shared chains (service-CIDR
guard, pod no-masquerade); then the node's bridge with its gateway address and
``route_localnet``; then the conflist, last, because containerd treats the appearance
of a conflist as "network ready" and starts pods on it. What was set up is written to
``DATA_DIR/network/node.json`` so that ``kctl node --cleanup`` can undo it even with
different flags.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from node.network import bridge, cni, guard, nomasq, routes, sysctls
from node.network.config import NetworkSettings, normalize_cidrs
from node.network.machine import MachineRegistry

log = logging.getLogger(__name__)

NOT_READY_REASON = "NetworkPluginNotReady"
SYSCTL_RECORD = "sysctls.json"
STATE_FILE = "node.json"
ROUTES_FILE = "routes.json"


@dataclass(frozen=True)
class NetworkStatus:
    ready: bool
    reason: str = ""
    message: str = ""

    def runtime_message(self) -> str:
        """The kubelet's wording for the node's Ready condition when the network is not ready."""
        return (
            "container runtime network not ready: NetworkReady=false "
            f"reason:{self.reason} message:Network plugin returns error: {self.message}"
        )


def not_ready(message: str) -> NetworkStatus:
    return NetworkStatus(False, NOT_READY_REASON, message)


def state_record(settings: NetworkSettings) -> dict[str, Any]:
    return {
        "node": settings.node_name,
        "dataDir": str(settings.data_dir),
        "bridge": settings.bridge,
        "network": settings.network_name,
        "podCIDR": str(settings.pod_network),
        "serviceCIDR": settings.service_cidr,
        "conflist": str(settings.conflist_path),
        "ipamDir": str(settings.ipam_dir),
        "machineDir": str(settings.machine_dir),
        "guardChain": settings.guard_chain,
        "nomasqChain": settings.nomasq_chain,
        "masqueradeMark": settings.masquerade_mark,
        "pid": os.getpid(),
    }


class NodeNetwork:
    def __init__(self, settings: NetworkSettings) -> None:
        self.settings = settings
        self.registry = MachineRegistry(settings.machine_dir)

    def sync_shared(self) -> None:
        """Converge the machine-wide pieces on the registry (under its lock)."""
        s = self.settings
        guard.sync(self.registry, s.guard_chain)
        nomasq.sync(self.registry, s.nomasq_chain, s.masquerade_mark)

    def setup(self) -> None:
        s = self.settings
        missing = cni.missing_plugins(s.cni_bin_dir)
        if missing:
            raise FileNotFoundError(f"CNI plugins missing in {s.cni_bin_dir}: {', '.join(missing)}")
        sysctls.ensure_br_netfilter()
        record = state_record(s)
        s.state_dir.mkdir(parents=True, exist_ok=True)
        (s.state_dir / STATE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
        with self.registry.locked():
            if self.registry.register(s.bridge, record):
                log.info(
                    "node %s joined the machine's kctl network (bridge %s)", s.node_name, s.bridge
                )
            sysctls.apply(sysctls.MACHINE_SYSCTLS, self.registry.file(SYSCTL_RECORD))
            self.sync_shared()
        prefix = s.pod_network.prefixlen
        if bridge.ensure_bridge(s.bridge, s.gateway, prefix, s.mtu):
            log.info("bridge %s created with %s/%d", s.bridge, s.gateway, prefix)
        sysctls.apply(sysctls.bridge_sysctls(s.bridge))
        s.ipam_dir.mkdir(parents=True, exist_ok=True)
        if cni.write_conflist(s):
            log.info("CNI config written: %s", s.conflist_path)

    def sync_routes(self, nodes: list[dict[str, Any]]) -> list[routes.RouteSpec]:
        """Routes to the other nodes' pod CIDRs (call on Node changes and periodically)."""
        return routes.sync(self.settings.node_name, nodes, self.settings.state_dir / ROUTES_FILE)

    def status(self) -> NetworkStatus:
        """Whether pods can be networked now; the reason and message when not."""
        s = self.settings
        missing = cni.missing_plugins(s.cni_bin_dir)
        if missing:
            return not_ready(
                f"cni plugin not initialized: {', '.join(missing)} not found in {s.cni_bin_dir}"
            )
        try:
            written = cni.load_conflist(s.conflist_path)
        except (OSError, ValueError):
            return not_ready(f"cni config uninitialized: no network config found in {s.conf_dir}")
        if written != cni.build_conflist(s):
            return not_ready(f"cni config {s.conflist_path} does not match the node's network")
        state = bridge.bridge_state(s.bridge)
        want = f"{s.gateway}/{s.pod_network.prefixlen}"
        if not state.exists or not state.up or want not in state.addresses:
            return not_ready(f"bridge {s.bridge} is not up with {want}")
        wrong = [k for k, v in sysctls.MACHINE_SYSCTLS.items() if sysctls.read(k) != v]
        if wrong:
            return not_ready(f"sysctl not set: {', '.join(wrong)}")
        guarded = guard.installed_cidrs(s.guard_chain) or []
        if normalize_cidrs([s.service_cidr])[0] not in guarded:
            return not_ready(f"service-CIDR guard for {s.service_cidr} is not installed")
        return NetworkStatus(True)
