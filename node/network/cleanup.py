"""Undo a node's pod network (``kctl node --name N --data-dir DIR --cleanup``).

Reads what :mod:`node.network.manager` recorded in ``DATA_DIR/network/node.json``
(falling back to the names derived from the node's name and DATA_DIR), and removes,
each step tolerant of things already gone so a half-done cleanup can be re-run:
the node's routes, the veths still on its bridge (pods that were not torn down through
CRI), the bridge, leftover ``ipMasq`` chains of its CNI network, libcni cache entries
and its host-local IPAM records, its conflist; then it leaves the machine registry:
the shared chains drop its CIDRs, and when it was the last node of the machine, the
guard and no-masquerade chains go and the machine-wide sysctls are restored.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from node.network import bridge, guard, iptables, nomasq, routes, sysctls
from node.network.config import (
    CONFLIST_NAME,
    DEFAULT_GUARD_CHAIN,
    DEFAULT_MACHINE_DIR,
    DEFAULT_MASQUERADE_MARK,
    DEFAULT_NOMASQ_CHAIN,
    bridge_name,
    network_name,
)
from node.network.machine import MachineRegistry
from node.network.manager import ROUTES_FILE, STATE_FILE, SYSCTL_RECORD

log = logging.getLogger(__name__)

LIBCNI_CACHE_DIR = Path("/var/lib/cni/results")


@dataclass
class CleanupReport:
    removed: list[str] = field(default_factory=list)
    last_node: bool = False

    def add(self, what: str) -> None:
        self.removed.append(what)
        log.info("cleanup: removed %s", what)


def _state(node_name: str, data_dir: Path, machine_dir: Path | None) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((data_dir / "network" / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        state = {}
    state.setdefault("bridge", bridge_name(node_name, data_dir))
    state.setdefault("network", network_name(node_name, data_dir))
    state.setdefault("conflist", str(data_dir / "cni" / "net.d" / CONFLIST_NAME))
    state.setdefault("ipamDir", str(data_dir / "cni" / "networks"))
    state.setdefault("guardChain", DEFAULT_GUARD_CHAIN)
    state.setdefault("nomasqChain", DEFAULT_NOMASQ_CHAIN)
    state.setdefault("masqueradeMark", DEFAULT_MASQUERADE_MARK)
    if machine_dir is not None:
        state["machineDir"] = str(machine_dir)
    state.setdefault("machineDir", str(DEFAULT_MACHINE_DIR))
    return state


def _delete_ports(bridge_name_: str, ports: tuple[str, ...], report: CleanupReport) -> None:
    with IPRoute() as ipr:
        for port in ports:
            found = ipr.link_lookup(ifname=port)
            if found:
                ipr.link("del", index=found[0])
                report.add(f"veth {port} (on {bridge_name_})")


def _cni_comment_network(words: list[str]) -> str | None:
    """The network name in the bridge plugin's rule comment ``name: "NET" id: "ID"``."""
    if "--comment" not in words:
        return None
    text = words[words.index("--comment") + 1]
    if not text.startswith("name: "):
        return None
    return text[len("name: ") :].split(" id: ")[0].strip('"')


def _remove_masq_chains(network: str, report: CleanupReport) -> None:
    """The bridge plugin's per-pod ``CNI-*`` nat chains that a missed DEL left behind."""
    for line in iptables.chain_rules("nat", "POSTROUTING"):
        words = shlex.split(line)
        if _cni_comment_network(words) != network or "-j" not in words:
            continue
        target = words[words.index("-j") + 1]
        iptables.iptables("nat", "-D", "POSTROUTING", *words[2:], check=False)
        iptables.delete_chain("nat", target)
        report.add(f"nat chain {target}")


def _remove_cache_entries(network: str, cache_dir: Path, report: CleanupReport) -> None:
    if not cache_dir.is_dir():
        return
    for path in cache_dir.glob(f"{network}-*"):
        try:
            if json.loads(path.read_text()).get("networkName") != network:
                continue
        except (OSError, ValueError):
            continue
        path.unlink(missing_ok=True)
        report.add(f"libcni cache {path.name}")


def cleanup_node(
    node_name: str,
    data_dir: Path,
    machine_dir: Path | None = None,
    libcni_cache_dir: Path = LIBCNI_CACHE_DIR,
) -> CleanupReport:
    report = CleanupReport()
    state = _state(node_name, data_dir, machine_dir)
    state_dir = data_dir / "network"
    if routes.remove_recorded(state_dir / ROUTES_FILE):
        report.add("routes to other nodes' pod CIDRs")
    br = str(state["bridge"])
    current = bridge.bridge_state(br)
    if current.exists:
        _delete_ports(br, current.ports, report)
        bridge.delete_bridge(br)
        report.add(f"bridge {br}")
    _remove_masq_chains(str(state["network"]), report)
    _remove_cache_entries(str(state["network"]), libcni_cache_dir, report)
    ipam_dir = Path(state["ipamDir"])
    if ipam_dir.exists():
        shutil.rmtree(ipam_dir)
        report.add(f"IPAM records {ipam_dir}")
    conflist = Path(state["conflist"])
    if conflist.exists():
        conflist.unlink()
        report.add(f"CNI config {conflist}")
    registry = MachineRegistry(Path(state["machineDir"]))
    with registry.locked():
        registry.unregister(br)
        guard.sync(registry, str(state["guardChain"]))
        nomasq.sync(registry, str(state["nomasqChain"]), int(state["masqueradeMark"]))
        if not registry.records():
            report.last_node = True
            restored = sysctls.restore(registry.file(SYSCTL_RECORD))
            if restored:
                report.add(f"sysctls restored: {', '.join(restored)}")
    shutil.rmtree(state_dir, ignore_errors=True)
    return report
