"""The node agent's settings: one typed dataclass, its command line, and the nodes it implies.

``kctl node`` and ``python -m node`` share this parser (``kctl node`` hands it the
arguments it got), so every option is declared once. Defaults are the kubelet's where
it has one (lease 40 s renewed every 10 s, status reported every 5 minutes, 110 pods).
"""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass, field, fields

from kctl.api import quantity
from node.apilimit import DEFAULT_LIMIT
from node.lease import LEASE_DURATION_SECONDS, RENEW_INTERVAL_SECONDS

RUNTIMES = ("hollow",)
DEFAULT_HOLLOW_PREFIX = "hollow-"


@dataclass
class AgentSettings:
    kubeconfig: str | None = None
    context: str | None = None
    runtime: str = "hollow"
    count: int = 1
    name: str | None = None  # the node name (count 1); default: the host name
    name_prefix: str | None = None  # names <prefix><i>; default "hollow-" when count > 1
    cpu: str = "4"
    memory: str = "16Gi"
    pods: str = "110"
    ephemeral_storage: str = "100Gi"
    node_ip: str | None = None  # InternalIP; hollow nodes default to a fake loopback address
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
        raw = {
            "cpu": self.cpu,
            "memory": self.memory,
            "pods": self.pods,
            "ephemeral-storage": self.ephemeral_storage,
        }
        out = {}
        for key, value in raw.items():
            try:
                out[key] = quantity.parse(value).canonical()
            except quantity.QuantityError:
                raise ValueError(f"--{key} {value!r} is not a quantity") from None
        return out


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
    add("--cpu", default=defaults.cpu, help="CPU capacity per node.")
    add("--memory", default=defaults.memory, help="Memory capacity per node.")
    add("--pods", default=defaults.pods, help="Pod capacity per node.")
    add(
        "--ephemeral-storage",
        default=defaults.ephemeral_storage,
        help="Ephemeral storage capacity.",
    )
    add("--node-ip", help="InternalIP address (one node).")
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
    return settings
