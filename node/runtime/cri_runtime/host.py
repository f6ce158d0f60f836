"""The machine side of a containerd node: its containerd, its pod network, its readiness.

A k3s-style agent starts and supervises its own containerd (config and state under the
node's data dir, adopted again through the pid file after an agent restart) unless it
was given ``--containerd-socket``. The pod network (bridge, CNI conflist, sysctls,
guards) is set up once the node's pod CIDR is known: from ``--pod-cidr``, else from
the Node's ``spec.podCIDR`` (the reconciler's node IPAM); until then, and whenever
containerd does not answer, the node reports NotReady with the kubelet's reason.

``cleanup`` is ``kctl node --cleanup``'s machine half, after the pods are gone:
containerd stopped and its directories removed, then the network undone.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from node.network.cleanup import cleanup_node
from node.network.config import DEFAULT_CNI_BIN_DIR, NetworkSettings
from node.network.manager import NodeNetwork
from node.proxy.cleanup import cleanup_proxy
from node.runtime import errors
from node.runtime.containerd.config import ContainerdConfig, ContainerdPaths
from node.runtime.containerd.supervisor import ContainerdSupervisor, SupervisorError
from node.runtime.cri.client import CriClient
from node.runtime.cri_runtime import cgroups

log = logging.getLogger(__name__)

RUNTIME_NOT_READY = "container runtime is down"


@dataclass(frozen=True)
class NodeHostConfig:
    node_name: str
    data_dir: Path
    containerd_socket: str | None = None  # an existing containerd; None: start our own
    cni_conf_dir: Path | None = None
    cni_bin_dir: Path = DEFAULT_CNI_BIN_DIR
    pod_cidr: str | None = None  # --pod-cidr: wins over the Node's spec.podCIDR
    service_cidr: str = "10.96.0.0/12"
    cluster_dns: tuple[str, ...] = ("10.96.0.10",)
    cluster_domain: str = "cluster.local"
    registry: str = ""
    host_ip: str = "127.0.0.1"
    memory_capacity: int = 0  # bytes; the Burstable oom_score_adj needs it
    allocatable: dict[str, str] = field(default_factory=dict)

    @property
    def socket(self) -> str:
        return self.containerd_socket or str(ContainerdPaths(self.data_dir).socket)

    @property
    def pods_dir(self) -> Path:
        return self.data_dir / "pods"

    @property
    def cgroup_parent(self) -> str:
        return cgroups.node_parent(self.node_name, self.data_dir)


@dataclass(frozen=True)
class NotReady:
    """Why the node is not Ready: the Ready condition's reason and message."""

    reason: str
    message: str


class NodeHost:
    def __init__(self, config: NodeHostConfig) -> None:
        self.config = config
        self.supervisor: ContainerdSupervisor | None = None
        if config.containerd_socket is None:
            self.supervisor = ContainerdSupervisor(
                ContainerdConfig(
                    ContainerdPaths(config.data_dir),
                    registry=config.registry,
                    cni_conf_dir=config.cni_conf_dir,
                )
            )
        self.network: NodeNetwork | None = None
        self.pod_cidr = ""

    async def start(self) -> None:
        if self.supervisor is not None:
            try:
                await self.supervisor.start()
            except SupervisorError as exc:
                raise errors.Unavailable(str(exc)) from None
        if self.config.pod_cidr:
            await self.set_pod_cidr(self.config.pod_cidr)

    def network_settings(self, cidr: str) -> NetworkSettings:
        c = self.config
        return NetworkSettings(
            node_name=c.node_name,
            data_dir=c.data_dir,
            pod_cidr=cidr,
            service_cidr=c.service_cidr,
            cluster_dns=c.cluster_dns,
            cluster_domain=c.cluster_domain,
            cni_bin_dir=c.cni_bin_dir,
            cni_conf_dir=c.cni_conf_dir,
        )

    async def set_pod_cidr(self, cidr: str) -> None:
        """Set up (or re-converge) the pod network for ``cidr``."""
        if self.config.pod_cidr and cidr != self.config.pod_cidr:
            log.warning(
                "node %s: spec.podCIDR %s differs from --pod-cidr %s; keeping the flag's",
                self.config.node_name,
                cidr,
                self.config.pod_cidr,
            )
            cidr = self.config.pod_cidr
        if cidr == self.pod_cidr and self.network is not None:
            return
        network = NodeNetwork(self.network_settings(cidr))
        await asyncio.to_thread(network.setup)
        self.network, self.pod_cidr = network, cidr
        log.info("node %s: pod network %s set up", self.config.node_name, cidr)

    async def sync_routes(self, nodes: list[dict[str, object]]) -> None:
        if self.network is not None:
            await asyncio.to_thread(self.network.sync_routes, nodes)  # type: ignore[arg-type]

    async def readiness(self, cri: CriClient) -> NotReady | None:
        """None when containerd answers RuntimeReady and the pod network is ready."""
        try:
            status = await cri.status()
        except errors.CriError as exc:
            return NotReady("KubeletNotReady", f"{RUNTIME_NOT_READY}: {exc}")
        if not status.runtime_ready:
            cond = status.condition("RuntimeReady")
            why = f"reason:{cond.reason} message:{cond.message}" if cond else "not reported"
            return NotReady(
                "KubeletNotReady",
                f"container runtime status check failed: RuntimeReady=false {why}",
            )
        if self.network is None:
            return NotReady(
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false "
                "reason:NetworkPluginNotReady message:Network plugin returns error: "
                "cni plugin not initialized (the node has no pod CIDR yet)",
            )
        net = await asyncio.to_thread(self.network.status)
        if not net.ready:
            return NotReady("KubeletNotReady", net.runtime_message())
        return None

    async def cleanup(self) -> None:
        """Stop our containerd and remove its state, undo the network, drop the node's
        cgroup parent and pod dirs. Idempotent; the pods must be gone already."""
        c = self.config
        if self.supervisor is not None:
            await self.supervisor.cleanup()
        report = await asyncio.to_thread(cleanup_node, c.node_name, c.data_dir)
        log.info("node %s: network cleaned up (%d items)", c.node_name, len(report.removed))
        if report.last_node:  # the service rules are the machine's, not one node's
            removed = await asyncio.to_thread(cleanup_proxy)
            log.info("last node on this machine: removed %d proxy chains and rules", len(removed))
        left = cgroups.remove(c.cgroup_parent)
        if left:
            log.warning("cgroups still busy: %s", ", ".join(map(str, left)))
        cgroups.remove_if_empty("/" + cgroups.KCTL_PARENT)
        shutil.rmtree(c.pods_dir, ignore_errors=True)
