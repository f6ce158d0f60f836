"""The node agent's settings: one typed dataclass, its command line, and the nodes it implies.

``kctl node`` and ``python -m node`` share this parser (``kctl node`` hands it the
arguments it got), so every option is declared once. Defaults are the kubelet's where
it has one (lease 40 s renewed every 10 s, status reported every 5 minutes, 110 pods,
port 10250). Capacity defaults differ by runtime: a containerd node reports the
machine (cpus, memory, the data dir's filesystem), hollow nodes a fixed 4 cpu / 16Gi.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path

from kctl.api import quantity
from node.apilimit import DEFAULT_LIMIT
from node.lease import LEASE_DURATION_SECONDS, RENEW_INTERVAL_SECONDS

RUNTIMES = ("hollow", "containerd")
DEFAULT_HOLLOW_PREFIX = "hollow-"
HOLLOW_CAPACITY = {"cpu": "4", "memory": "16Gi", "ephemeral-storage": "100Gi"}
DEFAULT_AGENT_PORT = 10250


@dataclass
class AgentSettings:
    kubeconfig: str | None = None
    context: str | None = None
    runtime: str = "hollow"
    count: int = 1
    name: str | None = None  # the node name (count 1); default: the host name
    name_prefix: str | None = None  # names <prefix><i>; default "hollow-" when count > 1
    cpu: str | None = None  # default: the machine's (containerd) or 4 (hollow)
    memory: str | None = None
    pods: str = "110"
    ephemeral_storage: str | None = None
    node_ip: str | None = None  # InternalIP; hollow: a fake loopback address, else 127.0.0.1
    # containerd nodes
    data_dir: str | None = None
    containerd_socket: str | None = None  # an existing containerd instead of our own
    cni_conf_dir: str | None = None
    pod_cidr: str | None = None
    agent_port: int = DEFAULT_AGENT_PORT
    registry: str = ""
    service_cidr: str = "10.96.0.0/12"
    cluster_dns: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    cleanup: bool = False
    # the logs/exec endpoint (containerd nodes): kubelet's flag names
    tls_cert_file: str | None = None  # default DATA_DIR/kubelet.crt
    tls_private_key_file: str | None = None  # default DATA_DIR/kubelet.key
    client_ca_file: str | None = None  # default: the kubeconfig's CA
    # the service proxy: iptables for containerd nodes; none for hollow ones, whose pod
    # addresses are not real (rules must never send traffic to them)
    proxy_mode: str | None = None
    cluster_cidr: str = "10.244.0.0/16"
    node_labels: dict[str, str] = field(default_factory=dict)
    lease_duration: int = LEASE_DURATION_SECONDS
    lease_renew_interval: float = RENEW_INTERVAL_SECONDS
    status_report_interval: float = 300.0  # kubelet's nodeStatusReportFrequency
    pod_cidr_wait: float = 5.0  # how long to wait for spec.podCIDR before using a fake range
    pod_workers: int = 32  # concurrent pod syncs
    api_concurrency: int = DEFAULT_LIMIT  # API requests in flight (below the keep-alive pool)
    hollow_start_delay: float = 0.0
    hollow_stop_delay: float = 0.2
    verbosity: int = 0

    def effective_proxy_mode(self) -> str:
        if self.proxy_mode:
            return self.proxy_mode
        return "iptables" if self.runtime == "containerd" else "none"

    def node_names(self) -> list[str]:
        if self.count < 1:
            raise ValueError("--count must be at least 1")
        if self.name:
            if self.count != 1:
                raise ValueError("--name names one node; use --name-prefix with --count")
            return [self.name]
        if self.count == 1 and self.name_prefix is None:
            return [socket.gethostname().lower()]
        prefix = DEFAULT_HOLLOW_PREFIX if self.name_prefix is None else self.name_prefix
        return [f"{prefix}{i}" for i in range(self.count)]

    def capacity(self) -> dict[str, str]:
        """Capacity as canonical quantities (what the server stores, so no diff loops)."""
        defaults = HOLLOW_CAPACITY if self.runtime == "hollow" else machine_capacity(self.data_dir)
        raw = {
            "cpu": self.cpu or defaults["cpu"],
            "memory": self.memory or defaults["memory"],
            "pods": self.pods,
            "ephemeral-storage": self.ephemeral_storage or defaults["ephemeral-storage"],
        }
        out = {}
        for key, value in raw.items():
            try:
                out[key] = quantity.parse(value).canonical()
            except quantity.QuantityError:
                raise ValueError(f"--{key} {value!r} is not a quantity") from None
        return out


def machine_capacity(data_dir: str | None = None) -> dict[str, str]:
    """This machine's cpus, memory (MemTotal) and the data dir's filesystem size."""
    memory = "0"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1])}Ki"
                break
    except (OSError, ValueError, IndexError):
        pass
    path = data_dir or "/"
    while not os.path.exists(path):
        path = os.path.dirname(path) or "/"
    stat = os.statvfs(path)
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": memory,
        "ephemeral-storage": str(stat.f_blocks * stat.f_frsize),
    }


def _labels(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        for pair in item.split(","):
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise argparse.ArgumentTypeError(f"--node-labels wants key=value, not {pair!r}")
            out[key.strip()] = value.strip()
    return out


def parser(prog: str = "kctl node") -> argparse.ArgumentParser:
    defaults = AgentSettings()
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run a node agent: register nodes, renew their Leases, run their pods.",
    )
    add = p.add_argument
    add("--kubeconfig", help="Kubeconfig of the agent (default: $KUBECONFIG, ~/.kube/config).")
    add("--context", help="Kubeconfig context to use.")
    add("--runtime", choices=RUNTIMES, default=defaults.runtime, help="Container runtime.")
    add("--count", type=int, default=defaults.count, help="Number of nodes to run (hollow).")
    add("--name", help="Node name (one node; default: the host name).")
    add(
        "--name-prefix",
        help=f"Node names are PREFIX0..PREFIXn-1 (default {DEFAULT_HOLLOW_PREFIX!r} with --count > 1).",
    )
    add("--cpu", help="CPU capacity per node (default: the machine's; hollow: 4).")
    add("--memory", help="Memory capacity per node (default: the machine's; hollow: 16Gi).")
    add("--pods", default=defaults.pods, help="Pod capacity per node.")
    add(
        "--ephemeral-storage",
        help="Ephemeral storage capacity (default: the data dir's filesystem; hollow: 100Gi).",
    )
    add("--node-ip", help="InternalIP address (one node; default 127.0.0.1 for containerd).")
    add("--data-dir", help="The node's directory: containerd, CNI, pods and logs (containerd).")
    add(
        "--containerd-socket",
        help="Use this containerd instead of starting one (needs --cni-conf-dir to match it).",
    )
    add("--cni-conf-dir", help="CNI config dir (default DATA_DIR/cni/net.d).")
    add("--pod-cidr", help="The node's pod CIDR (default: the Node's spec.podCIDR).")
    add(
        "--agent-port",
        type=int,
        default=defaults.agent_port,
        help="Port of the agent's HTTPS endpoint (logs, exec).",
    )
    add("--registry", default="", help="HOST:PORT of the loopback registry pods pull from.")
    add("--service-cidr", default=defaults.service_cidr, help="The cluster's service CIDR.")
    add("--cluster-dns", default=defaults.cluster_dns, help="The cluster DNS address for pods.")
    add("--cluster-domain", default=defaults.cluster_domain, help="The cluster's DNS domain.")
    add(
        "--proxy-mode",
        choices=("iptables", "nftables", "none"),
        help="How Services are programmed (default: iptables; none for hollow nodes).",
    )
    add("--cluster-cidr", default=defaults.cluster_cidr, help="The cluster's pod CIDR (proxy masquerade).")
    add(
        "--tls-cert-file",
        help="Serving certificate of the logs/exec endpoint (default DATA_DIR/kubelet.crt; "
        "from `kctl kubeconfig create-node`).",
    )
    add("--tls-private-key-file", help="Its key (default DATA_DIR/kubelet.key).")
    add(
        "--client-ca-file",
        help="CA of the API server's client certificate (default: the kubeconfig's CA).",
    )
    add(
        "--cleanup",
        action="store_true",
        help="Remove the node's pods, containerd, network and state (--name, --data-dir); exit.",
    )
    add(
        "--node-labels",
        action="append",
        default=[],
        help="Extra labels key=value[,key=value] (repeatable).",
    )
    add(
        "--lease-duration",
        type=int,
        default=defaults.lease_duration,
        help="Lease duration, seconds.",
    )
    add(
        "--lease-renew-interval",
        type=float,
        default=defaults.lease_renew_interval,
        help="Seconds between lease renewals.",
    )
    add(
        "--status-report-interval",
        type=float,
        default=defaults.status_report_interval,
        help="Seconds between unchanged node status reports.",
    )
    add(
        "--pod-cidr-wait",
        type=float,
        default=defaults.pod_cidr_wait,
        help="Seconds to wait for spec.podCIDR before a fallback range.",
    )
    add("--pod-workers", type=int, default=defaults.pod_workers, help="Concurrent pod syncs.")
    add(
        "--api-concurrency",
        type=int,
        default=defaults.api_concurrency,
        help="API requests in flight at once (keep below the client's keep-alive pool).",
    )
    add(
        "--hollow-start-delay",
        type=float,
        default=defaults.hollow_start_delay,
        help="Seconds a hollow pod takes to start.",
    )
    add(
        "--hollow-stop-delay",
        type=float,
        default=defaults.hollow_stop_delay,
        help="Seconds a hollow pod takes to stop (at most its grace period).",
    )
    add("-v", "--v", dest="verbosity", type=int, default=0, help="Log verbosity (4: debug).")
    return p


def parse_args(argv: list[str], prog: str = "kctl node") -> AgentSettings:
    """Settings from a command line; exits with a usage message on bad input."""
    p = parser(prog)
    ns = p.parse_args(argv)
    values = {f.name: getattr(ns, f.name) for f in fields(AgentSettings) if hasattr(ns, f.name)}
    try:
        values["node_labels"] = _labels(ns.node_labels)
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    settings = AgentSettings(**values)
    try:
        settings.node_names()
        settings.capacity()
    except ValueError as exc:
        p.error(str(exc))
    if settings.node_ip and settings.count != 1:
        p.error("--node-ip names one node's address; it cannot be used with --count > 1")
    if settings.runtime == "hollow" and settings.effective_proxy_mode() != "none":
        p.error("hollow pods have no real addresses: Service rules to them must not exist (--proxy-mode none)")
    problem = _containerd_problem(settings)
    if problem:
        p.error(problem)
    return settings


def _containerd_problem(settings: AgentSettings) -> str:
    """What is wrong with the containerd (or --cleanup) options, or ""."""
    if settings.cleanup:
        if not settings.name or not settings.data_dir:
            return "--cleanup needs --name and --data-dir"
        return ""
    if settings.runtime != "containerd":
        return ""
    if settings.count != 1:
        return "--runtime containerd runs one node: --count must be 1"
    if not settings.data_dir:
        return "--runtime containerd needs --data-dir"
    if settings.containerd_socket and not settings.cni_conf_dir:
        return "--containerd-socket needs --cni-conf-dir (the CNI config dir of that containerd)"
    try:
        if settings.pod_cidr:
            ipaddress.ip_network(settings.pod_cidr, strict=False)
        ipaddress.ip_network(settings.service_cidr, strict=False)
        ipaddress.ip_address(settings.cluster_dns)
    except ValueError as exc:
        return str(exc)
    return ""
