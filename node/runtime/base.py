"""The boundary between the node agent and whatever runs a pod's containers.

The kubelet keeps everything Kubernetes-specific above its container runtime: the
pod phase rules, the conditions, deletion and grace periods, the status writes. Below
the line a runtime only answers "make this pod run", "stop it", "forget it" and "what
is its state". kctl draws the same line so the hollow runtime (no containers, for
scale tests like kubemark/KWOK) and the containerd runtime (CRI) are interchangeable:
:mod:`node.podstatus` and :mod:`node.podsync` turn a :class:`PodRuntimeStatus` into the
pod's API status and never look inside the runtime.

A runtime instance serves one node (its pod CIDR, its IP range); an agent that runs
many hollow nodes holds one instance per node.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Protocol

Pod = dict[str, Any]


@dataclass(frozen=True)
class ContainerState:
    """One of Kubernetes' three container states (``state.waiting|running|terminated``)."""

    kind: str  # "waiting" | "running" | "terminated"
    reason: str = ""
    message: str = ""
    started_at: str = ""  # RFC 3339; running and terminated
    finished_at: str = ""  # terminated
    exit_code: int = 0  # terminated

    def to_api(self) -> dict[str, Any]:
        """The ``ContainerState`` object of the API (``{"running": {"startedAt": ...}}``)."""
        body: dict[str, Any] = {}
        if self.kind == "waiting":
            if self.reason:
                body["reason"] = self.reason
            if self.message:
                body["message"] = self.message
        elif self.kind == "running":
            if self.started_at:
                body["startedAt"] = self.started_at
        else:
            body["exitCode"] = self.exit_code
            if self.reason:
                body["reason"] = self.reason
            if self.message:
                body["message"] = self.message
            if self.started_at:
                body["startedAt"] = self.started_at
            if self.finished_at:
                body["finishedAt"] = self.finished_at
        return {self.kind: body}


WAITING_CREATING = ContainerState("waiting", reason="ContainerCreating")


@dataclass(frozen=True)
class ContainerRuntimeStatus:
    """What the runtime knows about one container of a pod."""

    name: str
    state: ContainerState
    image: str = ""
    image_id: str = ""
    container_id: str = ""  # "<runtime>://<id>"
    restart_count: int = 0
    last_state: ContainerState | None = None
    # Readiness as the runtime sees it. None: no opinion, a running container is ready
    # (probes, when they come, are judged above the runtime and override this).
    ready: bool | None = None

    @property
    def running(self) -> bool:
        return self.state.kind == "running"

    @property
    def terminated(self) -> bool:
        return self.state.kind == "terminated"


@dataclass(frozen=True)
class PodRuntimeStatus:
    """A pod's sandbox and containers as the runtime last saw them."""

    uid: str
    sandbox_ready: bool = False
    ips: tuple[str, ...] = ()
    containers: tuple[ContainerRuntimeStatus, ...] = ()
    init_containers: tuple[ContainerRuntimeStatus, ...] = ()
    # Ask the agent to look at the pod again after this many seconds (a container is
    # still being created, an image still pulled...). None: only on the next event.
    resync_after: float | None = None

    def container(self, name: str) -> ContainerRuntimeStatus | None:
        for status in self.containers:
            if status.name == name:
                return status
        return None

    def init_container(self, name: str) -> ContainerRuntimeStatus | None:
        for status in self.init_containers:
            if status.name == name:
                return status
        return None

    @property
    def all_stopped(self) -> bool:
        """No container of the pod runs any more (its sandbox may still exist)."""
        return not any(c.running for c in (*self.containers, *self.init_containers))


class RuntimeFailure(Exception):
    """A runtime could not do what was asked; the agent retries the pod with backoff."""


class Runtime(Protocol):
    """A container runtime serving one node.

    Every method may be called concurrently for different pods, never for the same
    pod at once (the agent's work queue guarantees it). Methods raise
    :class:`RuntimeFailure` for failures worth a retry.
    """

    name: str

    async def start(self) -> None:
        """Connect / prepare; called once before any pod call."""

    async def stop(self) -> None:
        """Release connections; pods keep running (an agent restart is not a drain)."""

    async def version(self) -> str:
        """``<runtime>://<version>``, reported as the node's ``containerRuntimeVersion``."""
        ...

    async def update_pod_cidr(self, cidr: str) -> None:
        """The node's ``spec.podCIDR`` is known (CRI ``UpdateRuntimeConfig``)."""

    async def sync_pod(self, pod: Pod) -> PodRuntimeStatus:
        """Make the pod's sandbox and containers match its spec; report their state."""
        ...

    async def kill_pod(self, pod: Pod, grace_seconds: float) -> PodRuntimeStatus:
        """Stop every container (TERM, then KILL after ``grace_seconds``); keep the
        record (IPs, exit codes) until :meth:`remove_pod`. Returns the final state."""
        ...

    async def remove_pod(self, uid: str) -> None:
        """Forget the pod: remove its sandbox, release its IP. Idempotent."""

    async def list_pods(self) -> list[PodRuntimeStatus]:
        """Every pod the runtime holds (to clean up pods deleted while the agent was down)."""
        ...

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        """Run ``cmd`` in the pod's running container and wait at most ``timeout``
        seconds: (exit code, stdout, stderr). Raises :class:`RuntimeFailure` when the
        container does not run or the runtime cannot exec."""
        ...

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> pathlib.Path | None:
        """The CRI-format log file of the container (``previous``: of its last dead
        instance), or None when there is none (the hollow runtime keeps no logs)."""
        ...
