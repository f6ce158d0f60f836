"""The node agent: one process serving one real node or many hollow ones.

What a kubelet does for its node, done for every node of the process with shared
machinery so that a thousand hollow nodes cost little more than one:

* **Register.** Create each Node (or, if it exists, put its labels back) with its
  status, then its Lease. Retried with backoff until the API server answers.
* **Heartbeat.** Leases are renewed every ``lease_renew_interval`` and node status is
  reported every ``status_report_interval`` by two :class:`~node.periodic.Staggered`
  schedules (spread evenly, bounded concurrency). A Node informer watches our nodes:
  a status someone else changed (the node lifecycle controller marking it NotReady)
  is re-posted at once, and a ``spec.podCIDR`` assigned by the node IPAM controller is
  handed to the node's runtime.
* **Pods.** :class:`~node.podsync.PodSyncer` runs the pods bound to our nodes, from
  one pod informer for all of them.
* **containerd nodes** (``--runtime containerd``, one per process): the runtime starts
  or adopts the node's containerd and sets up its pod network once the pod CIDR is
  known; the agent reports ``Ready=False`` with the kubelet's reason until both are
  ready (:mod:`node.readiness`, checked every few seconds), annotates the Node with its
  data dir (``kctl image load --node``), keeps routes to other nodes' pod CIDRs in
  sync, and lets the runtime poke a pod's sync when a container exits.

Stopping (SIGTERM) cancels all of it; nodes stay registered and their Leases simply
stop being renewed, so the control plane sees the nodes go NotReady after the grace
period, as when a kubelet stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kctl.api import errors
from kctl.api.meta import now_rfc3339, now_rfc3339_micro
from kctl.client.http import AsyncClient, ConnectionFailed
from kctl.client.informer import InformerFactory
from kctl.client.resources import NODES, PODS
from kctl.client.workqueue import ShutDown, WorkQueue
from node.apilimit import ApiCalls, BoundedClient
from node.lease import NodeLease
from node.nodestatus import (
    NodeConfig,
    default_labels,
    go_arch,
    metadata_patch,
    new_node,
    node_info,
    pod_cidr,
)
from node.periodic import Staggered
from node.podsync import FIELD_SELECTOR, NodeRuntime, PodSyncer
from node.proxy.runner import run_proxy
from node.readiness import node_status_patch
from node.runtime.base import Runtime
from node.runtime.cri_runtime import CriRuntime, NodeHostConfig, NotReady
from node.runtime.hollow import HollowFleet
from node.server import load_agent_tls, serve_agent_api
from node.settings import AgentSettings

log = logging.getLogger(__name__)

REGISTER_RETRY = (0.5, 7.0)  # backoff bounds, seconds
FAILED_WRITE_RETRY = 1.0  # a failed lease or status write is retried this soon
READINESS_INTERVAL = 5.0  # runtime and network readiness checks (the kubelet's: 5 s)
DATA_DIR_ANNOTATION = "kctl.dev/data-dir"  # read by `kctl image load --node`
CONTAINERD_HOST_IP = "127.0.0.1"


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def host_config(settings: AgentSettings, name: str) -> NodeHostConfig:
    """The containerd node's machine settings, from the agent's."""
    assert settings.data_dir is not None
    capacity = settings.capacity()
    from kctl.api import quantity

    return NodeHostConfig(
        node_name=name,
        data_dir=Path(os.path.abspath(settings.data_dir)),
        containerd_socket=settings.containerd_socket,
        cni_conf_dir=Path(settings.cni_conf_dir) if settings.cni_conf_dir else None,
        pod_cidr=settings.pod_cidr,
        service_cidr=settings.service_cidr,
        cluster_dns=(settings.cluster_dns,),
        cluster_domain=settings.cluster_domain,
        registry=settings.registry,
        host_ip=settings.node_ip or CONTAINERD_HOST_IP,
        memory_capacity=quantity.memory_bytes(capacity["memory"]),
        allocatable=capacity,
    )


def build_runtimes(
    settings: AgentSettings, names: list[str], client: ApiCalls
) -> dict[str, tuple[Runtime, str]]:
    """Each node's runtime and host IP."""
    if settings.runtime == "containerd":
        config = host_config(settings, names[0])
        return {names[0]: (CriRuntime(config, client), config.host_ip)}
    if settings.runtime != "hollow":
        raise ValueError(f"unknown runtime {settings.runtime!r}")
    fleet = HollowFleet(
        start_delay=settings.hollow_start_delay, stop_delay=settings.hollow_stop_delay
    )
    return {name: (fleet.runtime(name), settings.node_ip or fleet.host_ip(name)) for name in names}


class NodeAgent:
    def __init__(
        self,
        settings: AgentSettings,
        client: AsyncClient,
        *,
        clock: Callable[[], str] = now_rfc3339,
        micro_clock: Callable[[], str] = now_rfc3339_micro,
    ) -> None:
        self.settings = settings
        self.raw_client = client  # watches and the proxy's informers: not bounded
        self.client = BoundedClient(client, settings.api_concurrency)
        self.clock = clock
        self.micro_clock = micro_clock
        self.names = settings.node_names()
        self.runtimes = build_runtimes(settings, self.names, self.client)
        self.not_ready: dict[str, NotReady | None] = {}
        self.configs: dict[str, NodeConfig] = {}
        self.leases = {
            name: NodeLease(name, duration_seconds=settings.lease_duration) for name in self.names
        }
        self.informers = InformerFactory(client)  # list+watch: not bounded
        self.node_informer = self.informers.informer(NODES)
        self.node_informer.add_handler(
            on_add=self._on_node,
            on_update=lambda _old, new: self._on_node(new),
            on_delete=self._on_node,
        )
        pod_informer = self.informers.informer(PODS, field_selector=FIELD_SELECTOR)
        self.pods = PodSyncer(
            self.client,
            pod_informer,
            {name: NodeRuntime(name, ip, rt) for name, (rt, ip) in self.runtimes.items()},
            workers=settings.pod_workers,
            clock=clock,
        )
        for runtime, _ in self.runtimes.values():
            if isinstance(runtime, CriRuntime):
                runtime.set_change_callback(self.pods.poke)
        self.lease_schedule: Staggered[str] = Staggered(
            "lease", settings.lease_renew_interval, self._renew_lease, settings.api_concurrency
        )
        self.status_schedule: Staggered[str] = Staggered(
            "node-status",
            settings.status_report_interval,
            self._report_status,
            settings.api_concurrency,
        )
        self._node_queue: WorkQueue[str] = WorkQueue()
        self._cidrs: dict[str, str] = {}
        self._failing: set[tuple[str, str]] = set()  # (what, node) currently failing: log once

    # --- the whole life -----------------------------------------------------------------------

    async def run(self) -> None:
        """Register, then keep every node alive and its pods running, until cancelled."""
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._configure()
            await self._register_all()
            await self.informers.start()
            await self.informers.wait_synced()
            tasks.append(asyncio.create_task(self._node_worker(), name="node-events"))
            tasks.append(asyncio.create_task(self.lease_schedule.run(), name="leases"))
            tasks.append(asyncio.create_task(self.status_schedule.run(), name="node-status"))
            self.lease_schedule.add_all(self.names)
            self.status_schedule.add_all(self.names)
            if self._cri_runtimes():
                tasks.append(asyncio.create_task(self._readiness_loop(), name="readiness"))
            else:
                await self._wait_for_pod_cidrs()
            tasks.append(asyncio.create_task(self.pods.run(), name="pods"))
            tasks.extend(self._node_services())
            log.info("%d node(s) ready: %s", len(self.names), _summary(self.names))
            await asyncio.gather(*tasks)
        finally:
            self._node_queue.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.informers.stop()
            for runtime, _ in self.runtimes.values():
                await runtime.stop()
            log.info("node agent stopped; %d node(s) stay registered", len(self.names))

    def _node_services(self) -> list[asyncio.Task[None]]:
        """The logs/exec endpoint (containerd nodes) and the service proxy, as tasks."""
        s = self.settings
        tasks = []
        if self._cri_runtimes():
            ca = Path(s.client_ca_file).read_bytes() if s.client_ca_file else self.raw_client.config.ca_pem
            tls = load_agent_tls(s.tls_cert_file, s.tls_private_key_file, ca, data_dir=s.data_dir)
            serve = serve_agent_api(
                lambda node: self.runtimes[node][0] if node in self.runtimes else None,
                self.pods.informer,
                s.node_ip or "127.0.0.1",
                s.agent_port,
                tls,
            )
            tasks.append(asyncio.create_task(serve, name="agent-api"))
        mode = s.effective_proxy_mode()
        if mode != "none":
            proxy = run_proxy(
                self.raw_client,
                self.names[0],
                [s.node_ip or "127.0.0.1"],
                s.cluster_cidr,
                mode,
                informers=self.informers,
            )
            tasks.append(asyncio.create_task(proxy, name="proxy"))
        return tasks

    def _cri_runtimes(self) -> dict[str, CriRuntime]:
        return {
            name: runtime
            for name, (runtime, _) in self.runtimes.items()
            if isinstance(runtime, CriRuntime)
        }

    async def _configure(self) -> None:
        boot_id = str(uuid.uuid4())
        arch = go_arch()
        capacity = self.settings.capacity()
        for name, (runtime, host_ip) in self.runtimes.items():
            await runtime.start()
            os_image = "kctl hollow node" if runtime.name == "hollow" else _os_image()
            labels = {**default_labels(name, arch), **self.settings.node_labels}
            self.configs[name] = NodeConfig(
                name=name,
                host_ip=host_ip,
                capacity=capacity,
                allocatable=capacity,
                node_info=node_info(name, await runtime.version(), boot_id, os_image),
                labels=labels,
                kubelet_port=self.settings.agent_port,
            )
            if isinstance(runtime, CriRuntime):
                self.not_ready[name] = await runtime.host.readiness(runtime.cri)

    # --- registration -----------------------------------------------------------------------------

    async def _register_all(self) -> None:
        limit = asyncio.Semaphore(self.settings.api_concurrency)

        async def one(name: str) -> None:
            async with limit:
                await self._register_until_done(name)

        await asyncio.gather(*(one(name) for name in self.names))

    async def _register_until_done(self, name: str) -> None:
        delay = REGISTER_RETRY[0]
        while True:
            try:
                await self.register(name)
                self._recovered("register", name)
                return
            except (ConnectionFailed, errors.ApiError) as exc:
                self._failed("register", name, exc)
            await asyncio.sleep(delay)
            delay = min(REGISTER_RETRY[1], delay * 2)

    async def register(self, name: str) -> dict[str, Any]:
        """Create the Node (or repair an existing one's labels), post its status, and
        make sure its Lease exists."""
        config = self.configs[name]
        try:
            node = await self.client.create(NODES, new_node(config, self.clock()))
            log.debug("node %s registered", name)
        except errors.AlreadyExists:
            node = await self.client.get(NODES, name)
            patch = metadata_patch(config, node)
            if patch is not None:
                node = await self.client.patch(NODES, name, patch, patch_type="merge")
        node = await self._annotate_data_dir(name, node)
        patch = self._status_patch(name, node, self.settings.status_report_interval)
        if patch is not None:
            node = await self.client.patch(
                NODES, name, patch, patch_type="strategic", subresource="status"
            )
        self.leases[name].node_uid = str((node.get("metadata") or {}).get("uid") or "")
        await self.leases[name].renew(self.client, self.micro_clock())
        return node

    async def _annotate_data_dir(self, name: str, node: dict[str, Any]) -> dict[str, Any]:
        runtime = self._cri_runtimes().get(name)
        if runtime is None:
            return node
        data_dir = str(runtime.config.data_dir)
        annotations = (node.get("metadata") or {}).get("annotations") or {}
        if annotations.get(DATA_DIR_ANNOTATION) == data_dir:
            return node
        patch = {"metadata": {"annotations": {DATA_DIR_ANNOTATION: data_dir}}}
        result: dict[str, Any] = await self.client.patch(NODES, name, patch, patch_type="merge")
        return result

    def _status_patch(
        self, name: str, node: dict[str, Any], report_interval: float
    ) -> dict[str, Any] | None:
        return node_status_patch(
            self.configs[name], node, self.clock(), report_interval, self.not_ready.get(name)
        )

    # --- readiness of containerd nodes --------------------------------------------------------

    async def _readiness_loop(self) -> None:
        """Check each containerd node's runtime and network; report a change at once."""
        while True:
            for name, runtime in self._cri_runtimes().items():
                try:
                    now = await runtime.host.readiness(runtime.cri)
                except Exception as exc:  # a check that cannot run: not ready, say why
                    now = NotReady("KubeletNotReady", f"readiness check failed: {exc}")
                if now != self.not_ready.get(name):
                    self.not_ready[name] = now
                    if now is None:
                        log.info("node %s: runtime and network ready", name)
                    else:
                        log.info("node %s: not ready: %s", name, now.message)
                    self.status_schedule.trigger(name)
            await asyncio.sleep(READINESS_INTERVAL)

    # --- heartbeats ---------------------------------------------------------------------------------

    async def _renew_lease(self, name: str) -> float | None:
        try:
            await self.leases[name].renew(self.client, self.micro_clock())
        except (ConnectionFailed, errors.ApiError) as exc:
            self._failed("renew lease of", name, exc)
            return FAILED_WRITE_RETRY
        self._recovered("renew lease of", name)
        return None

    async def _report_status(self, name: str) -> float | None:
        """Post the node's status with a fresh heartbeat (a scheduled or triggered report)."""
        node = self.node_informer.store.get(name)
        if node is None:
            return None  # deleted: the node-event worker has said so
        patch = self._status_patch(name, node, 0.0)
        try:
            if patch is not None:
                await self.client.patch(
                    NODES, name, patch, patch_type="strategic", subresource="status"
                )
        except errors.NotFound:
            return None
        except (ConnectionFailed, errors.ApiError) as exc:
            self._failed("update status of", name, exc)
            return FAILED_WRITE_RETRY
        self._recovered("update status of", name)
        return None

    # --- node events ---------------------------------------------------------------------------------

    def _on_node(self, node: dict[str, Any]) -> None:
        name = _name(node)
        if name in self.configs:
            self._node_queue.add(name)
        if self._cri_runtimes():
            self._node_queue.add(ROUTES_KEY)  # any node's CIDR or address: routes

    async def _node_worker(self) -> None:
        while True:
            try:
                name = await self._node_queue.get()
            except ShutDown:
                return
            try:
                await self._check_node(name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("node %s: handling its update failed", name)
            finally:
                self._node_queue.done(name)

    async def _check_node(self, name: str) -> None:
        if name == ROUTES_KEY:
            nodes = self.node_informer.store.list()
            for runtime in self._cri_runtimes().values():
                await runtime.host.sync_routes(nodes)
            return
        node = self.node_informer.store.get(name)
        if node is None:
            log.warning("node %s was deleted; restart the agent to register it again", name)
            return
        cidr = pod_cidr(node)
        if cidr and cidr != self._cidrs.get(name):
            await self.runtimes[name][0].update_pod_cidr(cidr)
            self._cidrs[name] = cidr
        if self._status_patch(name, node, self.settings.status_report_interval):
            self.status_schedule.trigger(name)

    async def _wait_for_pod_cidrs(self) -> None:
        """Give the node IPAM controller a moment, so pods get addresses from the
        nodes' real ranges; after ``pod_cidr_wait`` the fallback ranges serve."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.pod_cidr_wait
        while len(self._cidrs) < len(self.names) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        missing = len(self.names) - len(self._cidrs)
        if missing:
            log.info("%d node(s) have no spec.podCIDR yet; using fallback pod ranges", missing)

    # --- logging state changes only ----------------------------------------------------------------

    def _failed(self, what: str, name: str, exc: Exception) -> None:
        if (what, name) not in self._failing:
            self._failing.add((what, name))
            log.warning("cannot %s node %s: %s", what, name, exc)

    def _recovered(self, what: str, name: str) -> None:
        if (what, name) in self._failing:
            self._failing.discard((what, name))
            log.info("%s node %s: working again", what, name)


ROUTES_KEY = "\0routes"  # a node-queue key no Node can have: sync the routes


def _os_image() -> str:
    """``PRETTY_NAME`` of /etc/os-release, as the kubelet reports ``osImage``."""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def _summary(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 5 else f"{names[0]} .. {names[-1]}"
