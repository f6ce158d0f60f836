"""The hollow runtime: pods that "run" without containers, for scale and logic tests.

Like kubemark's hollow kubelet or KWOK, it answers the runtime interface from memory:
a pod's containers start at once (or after ``start_delay``), get a container ID, an
image ID and a pod IP from the node's pod CIDR, and stop when killed. Everything the
API sees -- phases, conditions, deletion -- is computed above the runtime by the same
code that serves containerd, so a hollow cluster exercises the real control path.

Test hooks, read from the pod's annotations on every sync:

* ``kctl.dev/hollow-ready: "false"`` reports every container not ready (as a failing
  readiness probe would); ``"true"`` or no annotation makes them ready again.
* ``kctl.dev/hollow-exit-code: "N"`` makes the containers exit with code N (reason
  ``Completed`` for 0, ``Error`` otherwise); they are not restarted.

Until the node IPAM controller gives the node a ``spec.podCIDR``, pod IPs come from a
fallback block of a reserved range chosen by the agent. An agent restart loses this
memory; a pod that already shows an IP and running containers in its status is adopted
with the same IP, container IDs and start times, so restarting the agent is invisible.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kctl import __version__
from kctl.api.meta import format_time, parse_time
from node.runtime.base import (
    WAITING_CREATING,
    ContainerRuntimeStatus,
    ContainerState,
    Pod,
    PodRuntimeStatus,
    RuntimeFailure,
)
from node.runtime.ipalloc import (
    FAKE_HOST_SUPERNET,
    FAKE_POD_PREFIX,
    FAKE_POD_SUPERNET,
    IpAllocator,
    RangeExhausted,
    SlotAssigner,
)

log = logging.getLogger(__name__)

READY_ANNOTATION = "kctl.dev/hollow-ready"
EXIT_CODE_ANNOTATION = "kctl.dev/hollow-exit-code"
DEFAULT_STOP_DELAY = 0.2  # seconds a hollow container "takes" to stop (capped by the grace)


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


@dataclass
class _Container:
    name: str
    image: str
    container_id: str
    started_at: str
    restart_count: int = 0
    last_state: ContainerState | None = None
    finished_at: str = ""  # set once the container stopped
    exit_code: int = 0


@dataclass
class _HollowPod:
    uid: str
    ip: str
    created: float  # monotonic
    containers: dict[str, _Container] = field(default_factory=dict)
    init_containers: dict[str, _Container] = field(default_factory=dict)
    killed: bool = False


def _annotations(pod: Pod) -> dict[str, str]:
    return (pod.get("metadata") or {}).get("annotations") or {}


def _exit_code(pod: Pod) -> int | None:
    raw = _annotations(pod).get(EXIT_CODE_ANNOTATION)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _ready_override(pod: Pod) -> bool | None:
    return False if _annotations(pod).get(READY_ANNOTATION, "").lower() == "false" else None


class HollowRuntime:
    """The runtime of one hollow node."""

    name = "hollow"

    def __init__(
        self,
        node_name: str,
        fallback_cidr: str,
        *,
        start_delay: float = 0.0,
        stop_delay: float = DEFAULT_STOP_DELAY,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.node_name = node_name
        self.start_delay = start_delay
        self.stop_delay = stop_delay
        self.clock = clock
        self._allocators: list[IpAllocator] = [IpAllocator(fallback_cidr)]
        self._pods: dict[str, _HollowPod] = {}

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def version(self) -> str:
        return f"hollow://{__version__}"

    async def update_pod_cidr(self, cidr: str) -> None:
        """New pods get addresses from ``cidr``; pods that have one keep it."""
        fresh = IpAllocator(cidr)
        if fresh.network != self._allocators[-1].network:
            self._allocators.append(fresh)
            log.info("node %s: pod CIDR %s", self.node_name, cidr)

    @property
    def pod_cidr(self) -> str:
        return str(self._allocators[-1].network)

    # --- pods -----------------------------------------------------------------------------

    async def sync_pod(self, pod: Pod) -> PodRuntimeStatus:
        record = self._pods.get(_uid(pod))
        if record is None:
            record = self._create(pod)
        if not record.killed:
            self._apply_spec(record, pod)
        return self._status(record, pod)

    async def kill_pod(self, pod: Pod, grace_seconds: float) -> PodRuntimeStatus:
        uid = _uid(pod)
        record = self._pods.get(uid) or self._create(pod)
        if not record.killed:
            delay = min(max(grace_seconds, 0.0), self.stop_delay)
            if delay > 0:
                await asyncio.sleep(delay)
            record.killed = True
            finished = format_time(self.clock())
            code = _exit_code(pod) or 0
            for ctr in (*record.init_containers.values(), *record.containers.values()):
                if not ctr.finished_at:
                    ctr.finished_at = finished
                    ctr.exit_code = code
        return self._status(record, pod)

    async def remove_pod(self, uid: str) -> None:
        record = self._pods.pop(uid, None)
        if record is not None:
            for allocator in self._allocators:
                allocator.release(uid)

    async def list_pods(self) -> list[PodRuntimeStatus]:
        return [self._status(record, None) for record in self._pods.values()]

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        raise RuntimeFailure(f"node {self.node_name}: hollow containers cannot run commands")

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> pathlib.Path | None:
        return None  # hollow containers write no logs

    # --- internals ------------------------------------------------------------------------

    def _create(self, pod: Pod) -> _HollowPod:
        uid = _uid(pod)
        status = pod.get("status") or {}
        try:
            ip = self._allocators[-1].allocate(uid, preferred=status.get("podIP"))
        except RangeExhausted as exc:
            raise RuntimeFailure(f"node {self.node_name}: {exc}") from None
        loop = asyncio.get_running_loop()
        record = _HollowPod(uid=uid, ip=ip, created=loop.time())
        self._pods[uid] = record
        return record

    def _apply_spec(self, record: _HollowPod, pod: Pod) -> None:
        """Start what the spec names and is not running; restart a changed image."""
        if asyncio.get_running_loop().time() < record.created + self.start_delay:
            return
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        now = format_time(self.clock())
        for group, have, reported in (
            ("initContainers", record.init_containers, status.get("initContainerStatuses")),
            ("containers", record.containers, status.get("containerStatuses")),
        ):
            previous = {c.get("name"): c for c in reported or ()}
            for ctr in spec.get(group) or ():
                name, image = str(ctr.get("name", "")), str(ctr.get("image", ""))
                known = have.get(name)
                if known is None:
                    have[name] = _adopt_or_start(record.uid, name, image, previous.get(name), now)
                elif known.image != image:
                    have[name] = _restart(known, image, now)
        code = _exit_code(pod)
        if code is not None:
            for ctr in record.containers.values():
                if not ctr.finished_at:
                    ctr.finished_at, ctr.exit_code = now, code

    def _status(self, record: _HollowPod, pod: Pod | None) -> PodRuntimeStatus:
        spec = (pod or {}).get("spec") or {}
        ready = _ready_override(pod) if pod is not None else None
        init_specs = {str(c.get("name", "")): c for c in spec.get("initContainers") or ()}
        init = tuple(
            _container_status(c, init_specs.get(c.name, {}).get("restartPolicy") == "Always", None)
            for c in record.init_containers.values()
        )
        containers = tuple(_container_status(c, True, ready) for c in record.containers.values())
        resync = None
        if not record.containers and not record.killed and self.start_delay > 0:
            left = record.created + self.start_delay - asyncio.get_running_loop().time()
            resync = max(left, 0.0)
            containers = tuple(
                ContainerRuntimeStatus(
                    name=str(c.get("name", "")),
                    state=WAITING_CREATING,
                    image=str(c.get("image", "")),
                )
                for c in spec.get("containers") or ()
            )
        return PodRuntimeStatus(
            uid=record.uid,
            sandbox_ready=not record.killed and resync is None,
            ips=(record.ip,),
            containers=containers,
            init_containers=init,
            resync_after=resync,
        )


def _uid(pod: Pod) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _container_id(uid: str, name: str, restart: int) -> str:
    return f"hollow://{_digest(uid, name, str(restart))}"


def _adopt_or_start(
    uid: str, name: str, image: str, reported: dict[str, object] | None, now: str
) -> _Container:
    """A container record, reusing what the pod's status says if it is ours and running."""
    running = (reported or {}).get("state")
    started = running.get("running") if isinstance(running, dict) else None
    container_id = str((reported or {}).get("containerID") or "")
    if isinstance(started, dict) and container_id.startswith("hollow://"):
        restarts = (reported or {}).get("restartCount")
        return _Container(
            name=name,
            image=image,
            container_id=container_id,
            started_at=_valid_time(started.get("startedAt"), now),
            restart_count=restarts if isinstance(restarts, int) else 0,
        )
    return _Container(name, image, _container_id(uid, name, 0), now)


def _valid_time(value: object, default: str) -> str:
    if isinstance(value, str):
        try:
            parse_time(value)
            return value
        except ValueError:
            pass
    return default


def _restart(old: _Container, image: str, now: str) -> _Container:
    count = old.restart_count + 1
    uid_part = old.container_id  # stable input for the next ID
    last = ContainerState(
        "terminated",
        reason="Completed",
        exit_code=0,
        started_at=old.started_at,
        finished_at=now,
    )
    return _Container(
        name=old.name,
        image=image,
        container_id=f"hollow://{_digest(uid_part, str(count))}",
        started_at=now,
        restart_count=count,
        last_state=last,
    )


def _container_status(
    ctr: _Container, long_running: bool, ready: bool | None
) -> ContainerRuntimeStatus:
    if ctr.finished_at or not long_running:
        # Init containers (not sidecars) complete at once; killed containers stop.
        code = ctr.exit_code
        state = ContainerState(
            "terminated",
            reason="Completed" if code == 0 else "Error",
            exit_code=code,
            started_at=ctr.started_at,
            finished_at=ctr.finished_at or ctr.started_at,
        )
        ready = False
    else:
        state = ContainerState("running", started_at=ctr.started_at)
    return ContainerRuntimeStatus(
        name=ctr.name,
        state=state,
        image=ctr.image,
        image_id=f"sha256:{_digest(ctr.image)}",
        container_id=ctr.container_id,
        restart_count=ctr.restart_count,
        last_state=ctr.last_state,
        ready=ready,
    )


class HollowFleet:
    """The hollow nodes of one agent process: a runtime and a fake host address each,
    with distinct fallback pod ranges and addresses."""

    def __init__(self, *, start_delay: float = 0.0, stop_delay: float = DEFAULT_STOP_DELAY) -> None:
        self.start_delay = start_delay
        self.stop_delay = stop_delay
        self._pod_ranges = SlotAssigner(FAKE_POD_SUPERNET, FAKE_POD_PREFIX)
        self._hosts = SlotAssigner(FAKE_HOST_SUPERNET, 32)

    def host_ip(self, node_name: str) -> str:
        return self._hosts.address(node_name)

    def runtime(self, node_name: str) -> HollowRuntime:
        return HollowRuntime(
            node_name,
            self._pod_ranges.assign(node_name),
            start_delay=self.start_delay,
            stop_delay=self.stop_delay,
        )
