"""The containerd runtime: pods run for real through CRI, with the kubelet's semantics.

One sync of a pod (``computePodActions`` + ``SyncPod`` in the kubelet, reduced):

1. Read the pod's sandboxes and containers from CRI (by the pod uid label).
2. No ready sandbox: unless the pod has finished, stop what still runs in dead ones
   and run a new sandbox (next attempt) with the pod's cgroup parent, DNS, hostname,
   log directory and hostPort mappings.
3. Set up the pod's volumes (once per agent life; configMap/secret files then stay).
4. Kill what must go: a container a liveness/startup probe failed, a container whose
   spec changed (a new image).
5. Start what is due: init containers in order, each to completion (a failed one is
   restarted unless restartPolicy is Never); then every app container that has never
   run or exited and should restart (Always; OnFailure after a failure), after the
   crash-loop backoff (10 s doubling to 300 s). A container that cannot start now --
   image pull, config error, backoff -- shows its waiting reason; the others go on.
6. Report: each container's state, lastState (its previous instance), restartCount
   (the ``restartCount`` annotation), readiness from its probes.

Exits are seen within a second by :mod:`.monitor`, which pokes the pod's sync through
the callback the agent registers (:meth:`CriRuntime.set_change_callback`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.network.dns import pod_dns
from node.probes import ContainerSnapshot, Prober
from node.runtime import errors
from node.runtime.base import (
    WAITING_CREATING,
    ContainerRuntimeStatus,
    ContainerState,
    Pod,
    PodRuntimeStatus,
    RuntimeFailure,
)
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri.client import CriClient
from node.runtime.cri_runtime import cgroups, keys
from node.runtime.cri_runtime.backoff import Backoff
from node.runtime.cri_runtime.env import PodFacts, build_env, expand_command
from node.runtime.cri_runtime.host import NodeHost, NodeHostConfig
from node.runtime.cri_runtime.hostsfile import write_hosts_file
from node.runtime.cri_runtime.images import ImagePuller
from node.runtime.cri_runtime.monitor import ExitMonitor
from node.runtime.cri_runtime.objects import Getter, PodObjects
from node.runtime.cri_runtime.observed import Instance, PodView, Sandbox, instance_from_status
from node.runtime.cri_runtime.probing import ProbeRunner
from node.runtime.cri_runtime.problems import (
    CRASH_LOOP_BACKOFF,
    CREATE_ERROR,
    RUN_ERROR,
    ContainerProblem,
)
from node.runtime.cri_runtime.resources import container_resources, pod_resources
from node.runtime.cri_runtime.specs import (
    ContainerParams,
    SandboxParams,
    container_config,
    container_hash,
    hostname,
    sandbox_config,
)
from node.runtime.cri_runtime.volumes import HostVolume, MountSpec, PodVolumes, container_mounts

log = logging.getLogger(__name__)

VOLUME_RETRY = 2.0  # seconds before a failed volume setup is tried again
CREATED_RETRY = 1.0  # a container created but not started yet
DEFAULT_GRACE = 30


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text for whole seconds: ``10s``, ``1m20s``, ``5m0s``."""
    total = int(seconds)
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def should_restart(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


@dataclass
class _PodRecord:
    name: str
    namespace: str
    problems: dict[str, ContainerProblem] = field(default_factory=dict)
    volume_problem: ContainerProblem | None = None
    volumes: dict[str, HostVolume] | None = None
    log_paths: dict[str, tuple[str, str]] = field(default_factory=dict)  # current, previous


class CriRuntime:
    """The runtime of one containerd node."""

    name = "containerd"

    def __init__(
        self,
        config: NodeHostConfig,
        client: Getter | None,
        *,
        host: NodeHost | None = None,
        monitor_interval: float = 0.5,
    ) -> None:
        self.config = config
        self.client = client
        self.host = host or NodeHost(config)
        self.cri = CriClient(config.socket)
        self.puller = ImagePuller(self.cri)
        self.crash_backoff = Backoff()
        self.probes = ProbeRunner(Prober(exec_func=self._probe_exec), self._poke)
        self.monitor_interval = monitor_interval
        self._callback: Callable[[str], None] | None = None
        self._pods: dict[str, _PodRecord] = {}
        self._instances: dict[str, Instance] = {}  # container id -> last status read
        self._ips: dict[str, str] = {}  # sandbox id -> pod IP
        self._monitor: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def set_change_callback(self, callback: Callable[[str], None]) -> None:
        """``callback(pod_uid)`` is called when a pod's containers changed state on their
        own (an exit, a probe result): the agent syncs that pod again."""
        self._callback = callback

    def _poke(self, uid: str) -> None:
        if self._callback is not None:
            self._callback(uid)

    async def start(self) -> None:
        await self.host.start()
        monitor = ExitMonitor(self.cri, self.config.node_name, self._poke, self.monitor_interval)
        self._monitor = asyncio.create_task(monitor.run(), name="cri-exit-monitor")

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
            self._monitor = None
        await self.probes.stop_all()
        await self.cri.close()

    async def version(self) -> str:
        info = await self.cri.version()
        return f"{info.runtime_name}://{info.runtime_version}"

    async def update_pod_cidr(self, cidr: str) -> None:
        await self.host.set_pod_cidr(cidr)
        with contextlib.suppress(errors.CriError):
            await self.cri.update_runtime_config(self.host.pod_cidr)

    # --- reading CRI ----------------------------------------------------------------------

    async def _observe(self, uid: str) -> PodView:
        labels = {keys.POD_UID: uid}
        sandboxes = await self.cri.list_pod_sandboxes(labels=labels)
        containers = await self.cri.list_containers(labels=labels)
        view = PodView(uid)
        for s in sandboxes:
            view.sandboxes.append(
                Sandbox(
                    id=s.id,
                    ready=s.state == pb.SANDBOX_READY,
                    attempt=int(s.metadata.attempt),
                    created_at=int(s.created_at),
                    name=s.metadata.name,
                    namespace=s.metadata.namespace,
                )
            )
        for c in containers:
            known = self._instances.get(c.id)
            if known is None or known.state != c.state:
                try:
                    status = await self.cri.container_status(c.id)
                except errors.NotFound:
                    continue
                known = instance_from_status(status, c.pod_sandbox_id)
                self._instances[c.id] = known
            view.instances.append(known)
        return view

    async def _sandbox_ip(self, sandbox_id: str) -> str:
        ip = self._ips.get(sandbox_id)
        if ip is None:
            status = await self.cri.pod_sandbox_status(sandbox_id)
            ip = self._ips[sandbox_id] = status.network.ip
        return ip

    # --- pods -------------------------------------------------------------------------------

    def _record(self, pod: Pod) -> _PodRecord:
        uid = _uid(pod)
        record = self._pods.get(uid)
        if record is None:
            md = pod.get("metadata") or {}
            record = self._pods[uid] = _PodRecord(str(md.get("name")), str(md.get("namespace")))
        return record

    def log_directory(self, namespace: str, name: str, uid: str) -> Path:
        return self.config.pods_dir / f"{namespace}_{name}_{uid}"

    def pod_dir(self, uid: str) -> Path:
        return self.config.pods_dir / uid

    def _cgroup_parent(self, uid: str) -> str:
        return cgroups.pod_parent(self.config.cgroup_parent, uid)

    def _sandbox_config(self, pod: Pod, attempt: int) -> pb.PodSandboxConfig:
        md = pod.get("metadata") or {}
        uid = _uid(pod)
        params = SandboxParams(
            node_name=self.config.node_name,
            log_directory=str(
                self.log_directory(str(md.get("namespace")), str(md.get("name")), uid)
            ),
            cgroup_parent=self._cgroup_parent(uid),
            dns=pod_dns(dict(pod), list(self.config.cluster_dns), self.config.cluster_domain),
            attempt=attempt,
        )
        return sandbox_config(pod, params)

    async def sync_pod(self, pod: Pod) -> PodRuntimeStatus:
        uid = _uid(pod)
        record = self._record(pod)
        view = await self._observe(uid)
        sandbox = view.ready_sandbox
        if sandbox is None:
            if view.instances and _finished(pod, view):
                return self._status(pod, view, record, "", sandbox_ready=False)
            sandbox = await self._run_sandbox(pod, view)
            view = await self._observe(uid)
        ip = await self._sandbox_ip(sandbox.id)
        await self._setup_volumes(pod, record)
        if await self._kill_unwanted(pod, view):
            view = await self._observe(uid)
        if record.volumes is not None and await self._start_due(pod, view, record, sandbox, ip):
            view = await self._observe(uid)
        status = self._status(pod, view, record, ip, sandbox_ready=True)  # probe snapshots too
        if any(i.running for i in view.instances) and self.probes.ensure_started(uid, dict(pod)):
            status = self._status(pod, view, record, ip, sandbox_ready=True)
        return status

    async def _run_sandbox(self, pod: Pod, view: PodView) -> Sandbox:
        spec = pod.get("spec") or {}
        if not spec.get("hostNetwork") and self.host.network is None:
            raise RuntimeFailure(
                "network is not ready: the node has no pod CIDR yet (--pod-cidr or spec.podCIDR)"
            )
        for instance in view.instances:  # left in a sandbox that died
            if instance.running:
                await self._stop_container(instance.id, 0)
        uid = _uid(pod)
        await asyncio.to_thread(cgroups.create, self._cgroup_parent(uid), pod_resources(pod))
        config = self._sandbox_config(pod, view.next_attempt)
        Path(config.log_directory).mkdir(parents=True, exist_ok=True)
        try:
            sandbox_id = await self.cri.run_pod_sandbox(config)
        except errors.CriError as exc:
            raise RuntimeFailure(f"Failed to create pod sandbox: {exc.detail}") from None
        log.info(
            "pod %s/%s: sandbox %s",
            config.metadata.namespace,
            config.metadata.name,
            sandbox_id[:13],
        )
        return Sandbox(
            sandbox_id, True, view.next_attempt, 0, config.metadata.name, config.metadata.namespace
        )

    async def _setup_volumes(self, pod: Pod, record: _PodRecord) -> None:
        if record.volumes is not None:
            return
        try:
            objects = PodObjects(self.client, record.namespace)
            record.volumes = await PodVolumes(self.pod_dir(_uid(pod))).setup(pod, objects)
            record.volume_problem = None
        except ContainerProblem as problem:
            problem.retry_after = VOLUME_RETRY
            record.volume_problem = problem

    def _grace(self, pod: Pod, container: Mapping[str, Any]) -> int:
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        for probe in ("livenessProbe", "startupProbe"):
            own = (container.get(probe) or {}).get("terminationGracePeriodSeconds")
            if own is not None:
                grace = own
        return DEFAULT_GRACE if grace is None else int(grace)

    async def _kill_unwanted(self, pod: Pod, view: PodView) -> bool:
        """Stop containers a probe failed or whose spec changed; True if any was stopped."""
        spec = pod.get("spec") or {}
        uid = _uid(pod)
        to_kill = self.probes.state(uid).to_kill if uid in self.probes.pods else {}
        acted = False
        for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
            latest = view.latest(str(container.get("name")))
            if latest is None or not latest.running:
                continue
            why = to_kill.pop(latest.full_id, None)
            if why is None and latest.spec_hash and latest.spec_hash != container_hash(container):
                why = f"Container {latest.name} definition changed, will be restarted"
            if why is not None:
                log.info("pod %s: %s", uid, why)
                await self._stop_container(latest.id, self._grace(pod, container))
                acted = True
        return acted

    async def _start_due(
        self, pod: Pod, view: PodView, record: _PodRecord, sandbox: Sandbox, ip: str
    ) -> bool:
        spec = pod.get("spec") or {}
        policy = str(spec.get("restartPolicy") or "Always")
        apps = list(spec.get("containers") or ())
        inits = list(spec.get("initContainers") or ())
        acted = False
        initialized = any(view.latest(str(c.get("name"))) for c in apps)
        if not initialized:
            for container in inits:
                latest = view.latest(str(container.get("name")))
                sidecar = _is_sidecar(container)
                if latest is not None and not latest.exited:
                    if sidecar and latest.running:
                        continue
                    return acted  # running (or being created): wait for it to complete
                if latest is not None and not sidecar:
                    if latest.exit_code == 0:
                        continue
                    if policy == "Never":
                        return acted  # the pod has failed
                started = await self._try_start(pod, container, latest, view, record, sandbox, ip)
                acted |= started
                if not (sidecar and started):
                    return acted
        else:
            for container in inits:
                latest = view.latest(str(container.get("name")))
                if _is_sidecar(container) and latest is not None and latest.exited:
                    acted |= await self._try_start(
                        pod, container, latest, view, record, sandbox, ip
                    )
        for container in apps:
            latest = view.latest(str(container.get("name")))
            if latest is not None and (
                not latest.exited or not should_restart(policy, latest.exit_code)
            ):
                continue
            acted |= await self._try_start(pod, container, latest, view, record, sandbox, ip)
        return acted

    async def _try_start(
        self,
        pod: Pod,
        container: Mapping[str, Any],
        previous: Instance | None,
        view: PodView,
        record: _PodRecord,
        sandbox: Sandbox,
        ip: str,
    ) -> bool:
        """Start one container (a restart when ``previous`` exited); False when it has to
        wait (its reason is recorded for the status)."""
        name = str(container.get("name"))
        uid = _uid(pod)
        try:
            if previous is not None:
                self._check_crash_backoff(pod, name, previous)
            await self._create_and_start(pod, container, previous, record, sandbox, ip)
        except ContainerProblem as problem:
            record.problems[name] = problem
            return False
        record.problems.pop(name, None)
        for old in view.history(name)[1:]:  # keep one dead instance: the previous one
            with contextlib.suppress(errors.NotFound):
                await self.cri.remove_container(old.id)
            self._instances.pop(old.id, None)
        log.debug("pod %s: container %s started", uid, name)
        return True

    def _check_crash_backoff(self, pod: Pod, name: str, previous: Instance) -> None:
        md = pod.get("metadata") or {}
        key = f"{_uid(pod)}_{name}"
        finished = previous.finished_at / 1e9
        left = self.crash_backoff.remaining_since(key, finished)
        if left > 0:
            raise ContainerProblem(
                CRASH_LOOP_BACKOFF,
                f"back-off {go_duration(self.crash_backoff.get(key))} restarting failed "
                f"container={name} pod={md.get('name')}_{md.get('namespace')}({md.get('uid')})",
                retry_after=left,
            )
        self.crash_backoff.next(key, finished)

    async def _create_and_start(
        self,
        pod: Pod,
        container: Mapping[str, Any],
        previous: Instance | None,
        record: _PodRecord,
        sandbox: Sandbox,
        ip: str,
    ) -> str:
        uid = _uid(pod)
        image = await self.puller.ensure(uid, dict(container))
        facts = PodFacts(ip, self.config.host_ip, self.config.allocatable)
        env = await build_env(pod, container, PodObjects(self.client, record.namespace), facts)
        command, args = expand_command(container, env)
        mounts = container_mounts(container, record.volumes or {})
        spec = pod.get("spec") or {}
        if not spec.get("hostNetwork") and not any(
            m.container_path == "/etc/hosts" for m in mounts
        ):
            hosts = write_hosts_file(self.pod_dir(uid) / "etc-hosts", pod, ip, hostname(pod))
            mounts.append(MountSpec("/etc/hosts", str(hosts), False))
        params = ContainerParams(
            node_name=self.config.node_name,
            image_id=image.image_id,
            restart_count=previous.attempt + 1 if previous is not None else 0,
            command=command,
            args=args,
            env=env,
            mounts=mounts,
            resources=container_resources(pod, container, self.config.memory_capacity),
        )
        config = container_config(pod, container, params)
        try:
            container_id = await self.cri.create_container(
                sandbox.id, config, self._sandbox_config(pod, sandbox.attempt)
            )
        except errors.CriError as exc:
            raise ContainerProblem(CREATE_ERROR, exc.detail) from None
        try:
            await self.cri.start_container(container_id)
        except errors.CriError as exc:
            with contextlib.suppress(errors.CriError):
                await self.cri.remove_container(container_id)
            raise ContainerProblem(RUN_ERROR, exc.detail) from None
        return container_id

    async def _stop_container(self, container_id: str, grace: float) -> None:
        with contextlib.suppress(errors.NotFound):
            await self.cri.stop_container(container_id, math.ceil(max(grace, 0)))

    # --- status -------------------------------------------------------------------------------

    def _status(
        self, pod: Pod, view: PodView, record: _PodRecord, ip: str, *, sandbox_ready: bool
    ) -> PodRuntimeStatus:
        spec = pod.get("spec") or {}
        uid = _uid(pod)
        snapshots = self.probes.state(uid).snapshots
        retries: list[float] = []
        groups: list[list[ContainerRuntimeStatus]] = [[], []]
        for index, group in enumerate(("initContainers", "containers")):
            for container in spec.get(group) or ():
                status = self._container_status(uid, container, view, record, ip, retries)
                groups[index].append(status)
                # Every container gets a snapshot: a probe worker whose container has
                # none ends, and one not created yet must wait for it.
                latest = view.latest(status.name)
                snapshots[status.name] = ContainerSnapshot(
                    status.container_id,
                    "terminated" if latest is not None and latest.exited else status.state.kind,
                    started_at=latest.started_at / 1e9 if latest and latest.started_at else None,
                    pod_ip=ip,
                )
        if record.volume_problem is not None and record.volume_problem.retry_after:
            retries.append(record.volume_problem.retry_after)
        return PodRuntimeStatus(
            uid=uid,
            sandbox_ready=sandbox_ready,
            ips=(ip,) if ip else (),
            containers=tuple(groups[1]),
            init_containers=tuple(groups[0]),
            resync_after=min(retries) if retries else None,
        )

    def _container_status(
        self,
        uid: str,
        container: Mapping[str, Any],
        view: PodView,
        record: _PodRecord,
        ip: str,
        retries: list[float],
    ) -> ContainerRuntimeStatus:
        name = str(container.get("name"))
        history = view.history(name)
        latest = history[0] if history else None
        problem = record.problems.get(name)
        if latest is not None and not latest.exited:
            record.problems.pop(name, None)
            problem = None
        last: ContainerState | None = None
        if latest is None:
            state = WAITING_CREATING
            if problem is not None:
                state = ContainerState("waiting", reason=problem.reason, message=problem.message)
            elif record.volume_problem is not None:
                state = ContainerState(
                    "waiting", reason="ContainerCreating", message=record.volume_problem.message
                )
        else:
            state = latest.api_state()
            if len(history) > 1 and history[1].exited:
                last = history[1].api_state()
            if latest.exited and problem is not None:
                last = state
                state = ContainerState("waiting", reason=problem.reason, message=problem.message)
            if latest.state == pb.CONTAINER_CREATED:
                retries.append(CREATED_RETRY)
            record.log_paths[name] = (
                latest.log_path,
                history[1].log_path if len(history) > 1 else "",
            )
        if problem is not None and problem.retry_after is not None:
            retries.append(problem.retry_after)
        ready = self.probes.ready(uid, name, latest.full_id) if latest is not None else None
        return ContainerRuntimeStatus(
            name=name,
            state=state,
            image=str(container.get("image") or ""),
            image_id=latest.image_ref if latest is not None else "",
            container_id=latest.full_id if latest is not None else "",
            restart_count=latest.attempt if latest is not None else 0,
            last_state=last,
            ready=ready,
        )

    # --- stopping and removing ----------------------------------------------------------------

    async def kill_pod(self, pod: Pod, grace_seconds: float) -> PodRuntimeStatus:
        uid = _uid(pod)
        record = self._record(pod)
        await self.probes.stop(uid)
        view = await self._observe(uid)
        running = [i for i in view.instances if not i.exited]
        await asyncio.gather(*(self._stop_container(i.id, grace_seconds) for i in running))
        for sandbox in view.sandboxes:
            if sandbox.ready:
                try:
                    await self.cri.stop_pod_sandbox(sandbox.id)
                except errors.NotFound:
                    pass
                except errors.CriError as exc:  # the containers are stopped: enough here
                    log.warning("pod %s: stopping sandbox %s: %s", uid, sandbox.id[:13], exc)
        view = await self._observe(uid)
        record.problems.clear()
        return self._status(pod, view, record, "", sandbox_ready=False)

    async def remove_pod(self, uid: str) -> None:
        await self.probes.stop(uid)
        record = self._pods.pop(uid, None)
        self.puller.forget(uid)
        self.crash_backoff.forget_prefix(f"{uid}_")
        view = await self._observe(uid)
        for instance in view.instances:
            if not instance.exited:
                await self._stop_container(instance.id, 0)
            with contextlib.suppress(errors.NotFound):
                await self.cri.remove_container(instance.id)
            self._instances.pop(instance.id, None)
        log_dirs = {self.log_directory(s.namespace, s.name, uid) for s in view.sandboxes}
        if record is not None:
            log_dirs.add(self.log_directory(record.namespace, record.name, uid))
        for sandbox in view.sandboxes:
            with contextlib.suppress(errors.NotFound):
                await self.cri.stop_pod_sandbox(sandbox.id)
            with contextlib.suppress(errors.NotFound):
                await self.cri.remove_pod_sandbox(sandbox.id)
            self._ips.pop(sandbox.id, None)
        left = await asyncio.to_thread(cgroups.remove, self._cgroup_parent(uid))
        if left:
            raise RuntimeFailure(f"pod {uid}: cgroups still in use: {', '.join(map(str, left))}")
        PodVolumes(self.pod_dir(uid)).remove()
        for directory in log_dirs:
            await asyncio.to_thread(_rmtree, directory)
        if view.sandboxes or view.instances:
            log.info(
                "pod %s: removed (%d sandboxes, %d containers)",
                uid,
                len(view.sandboxes),
                len(view.instances),
            )

    async def list_pods(self) -> list[PodRuntimeStatus]:
        sandboxes = await self.cri.list_pod_sandboxes(labels={keys.NODE: self.config.node_name})
        ready: dict[str, bool] = {}
        for s in sandboxes:
            uid = s.labels.get(keys.POD_UID, "")
            if uid:
                ready[uid] = ready.get(uid, False) or s.state == pb.SANDBOX_READY
        return [PodRuntimeStatus(uid=uid, sandbox_ready=r) for uid, r in ready.items()]

    # --- exec and logs --------------------------------------------------------------------------

    async def _running_instance(self, pod_uid: str, container: str) -> Instance:
        view = await self._observe(pod_uid)
        latest = view.latest(container)
        if latest is None or not latest.running:
            raise RuntimeFailure(f"container {container} of pod {pod_uid} is not running")
        return latest

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        """Run ``cmd`` in the pod's running container; (exit code, stdout, stderr)."""
        instance = await self._running_instance(pod_uid, container)
        result = await self.cri.exec_sync(instance.id, cmd, timeout)
        return result.exit_code, result.stdout, result.stderr

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> Path | None:
        """The CRI log file of the container's current (or previous) instance, if known."""
        record = self._pods.get(pod_uid)
        if record is None or container not in record.log_paths:
            return None
        current, before = record.log_paths[container]
        chosen = before if previous else current
        return Path(chosen) if chosen else None

    async def _probe_exec(
        self, container_id: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        try:
            result = await self.cri.exec_sync(keys.bare_id(container_id), cmd, timeout)
        except errors.DeadlineExceeded:
            raise TimeoutError from None
        except errors.CriError as exc:
            if "timeout" in exc.detail and "exceeded" in exc.detail:
                raise TimeoutError from None
            raise
        return result.exit_code, result.stdout, result.stderr

    # --- the whole node -------------------------------------------------------------------------

    async def remove_all_pods(self) -> int:
        """Every pod of this node, removed as on deletion (``kctl node --cleanup``)."""
        pods = await self.list_pods()
        for held in pods:
            await self.remove_pod(held.uid)
        return len(pods)


def _finished(pod: Pod, view: PodView) -> bool:
    """All app containers ran and none will be restarted: no new sandbox for this pod."""
    spec = pod.get("spec") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    if policy == "Always":
        return False
    for container in spec.get("containers") or ():
        latest = view.latest(str(container.get("name")))
        if latest is None or not latest.exited or should_restart(policy, latest.exit_code):
            return False
    return True


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
