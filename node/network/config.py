"""The settings of one node's pod network and the names derived from them.

Several nodes may run on one machine, so every name the network puts in a
machine-wide namespace (the bridge, the CNI network, the registry entry) is derived
from the node's identity on the machine: its name and its DATA_DIR. A bridge name must
fit IFNAMSIZ (15 characters), so it is ``kctl-`` and a hash, not the node name.
Defaults are the cluster's defaults (kctl's API server: service CIDR 10.96.0.0/12,
cluster DNS 10.96.0.10, domain cluster.local).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IFNAMSIZ = 15  # the kernel's limit is 16 bytes including the NUL
BRIDGE_PREFIX = "kctl-"
DEFAULT_CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
DEFAULT_MACHINE_DIR = Path("/run/kctl")  # tmpfs: empties on reboot, as iptables does
DEFAULT_GUARD_CHAIN = "KCTL-SERVICE-GUARD"
DEFAULT_NOMASQ_CHAIN = "KCTL-POD-NOMASQ"
# The node proxy's masquerade bit (bit 15: not kube-proxy's 0x4000, so a real kube-proxy
# on the machine is never confused with ours): traffic the proxy marked for masquerade
# (hairpin, NodePort on loopback) must not be exempted from it. The proxy uses this value.
DEFAULT_MASQUERADE_MARK = 0x8000
CONFLIST_NAME = "10-kctl.conflist"


def normalize_cidrs(cidrs: Iterable[str]) -> list[str]:
    """Sorted, de-duplicated, canonical CIDR strings ("10.96.0.1/12" -> "10.96.0.0/12")."""
    return sorted({str(ipaddress.ip_network(c, strict=False)) for c in cidrs if c})


def _identity_hash(node_name: str, data_dir: Path | str) -> str:
    """8 hex digits of (node name, data dir): two nodes of one name in different data
    dirs (tests, several clusters on a machine) never share a bridge or a network."""
    identity = f"{node_name}\0{os.path.realpath(data_dir)}".encode()
    return hashlib.sha256(identity).hexdigest()[:8]


def bridge_name(node_name: str, data_dir: Path | str) -> str:
    """``kctl-`` + 8 hex digits of the node's identity: unique per node on the machine."""
    name = BRIDGE_PREFIX + _identity_hash(node_name, data_dir)
    assert len(name) <= IFNAMSIZ
    return name


def network_name(node_name: str, data_dir: Path | str) -> str:
    """The CNI network name (libcni cache keys, host-local's directory, iptables comments)."""
    return f"kctl-{node_name}-{_identity_hash(node_name, data_dir)}"


@dataclass(frozen=True)
class NetworkSettings:
    """One node's pod network. ``pod_cidr`` is the Node's ``spec.podCIDR``."""

    node_name: str
    data_dir: Path
    pod_cidr: str
    service_cidr: str = "10.96.0.0/12"
    cluster_dns: tuple[str, ...] = ("10.96.0.10",)
    cluster_domain: str = "cluster.local"
    cni_bin_dir: Path = DEFAULT_CNI_BIN_DIR
    cni_conf_dir: Path | None = None  # default DATA_DIR/cni/net.d
    machine_dir: Path = DEFAULT_MACHINE_DIR
    guard_chain: str = DEFAULT_GUARD_CHAIN
    nomasq_chain: str = DEFAULT_NOMASQ_CHAIN
    masquerade_mark: int = DEFAULT_MASQUERADE_MARK
    mtu: int = 1500

    def __post_init__(self) -> None:
        net = ipaddress.ip_network(self.pod_cidr, strict=False)
        if net.version != 4:
            raise ValueError(f"pod CIDR {self.pod_cidr}: only IPv4 pod networks are supported")
        if net.num_addresses < 4:
            raise ValueError(f"pod CIDR {self.pod_cidr} is too small for a gateway and a pod")
        ipaddress.ip_network(self.service_cidr, strict=False)
        for address in self.cluster_dns:
            ipaddress.ip_address(address)

    @property
    def bridge(self) -> str:
        return bridge_name(self.node_name, self.data_dir)

    @property
    def network_name(self) -> str:
        return network_name(self.node_name, self.data_dir)

    @property
    def pod_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.pod_cidr, strict=False)

    @property
    def gateway(self) -> str:
        """The bridge's address: the first host of the pod CIDR (host-local's default)."""
        return str(self.pod_network.network_address + 1)

    @property
    def conf_dir(self) -> Path:
        return self.cni_conf_dir or self.data_dir / "cni" / "net.d"

    @property
    def conflist_path(self) -> Path:
        return self.conf_dir / CONFLIST_NAME

    @property
    def ipam_dir(self) -> Path:
        """host-local's dataDir: its records live here, not in the shared /var/lib/cni."""
        return self.data_dir / "cni" / "networks"

    @property
    def state_dir(self) -> Path:
        """What this node changed on the machine, for cleanup."""
        return self.data_dir / "network"
