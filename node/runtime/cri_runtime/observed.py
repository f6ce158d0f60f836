"""What CRI shows of one pod: its sandboxes and container instances, and their API states.

A pod's truth lives in the runtime, not in the agent: every sync lists the sandboxes
and containers labelled with the pod's uid, so an agent that restarted sees exactly
what the old one left (container IDs, restart counts from the
``io.kubernetes.container.restartCount`` annotation, exit codes) and carries on.
``ContainerStatus`` answers are cached per container while its listed state is the
same: an exited container never changes, a running one only by exiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kctl.api.meta import format_time
from node.runtime.base import ContainerState
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri_runtime import keys


def rfc3339(nanos: int) -> str:
    if nanos <= 0:
        return ""
    return format_time(datetime.fromtimestamp(nanos / 1e9, UTC))


@dataclass(frozen=True)
class Sandbox:
    id: str
    ready: bool
    attempt: int
    created_at: int
    name: str
    namespace: str


@dataclass(frozen=True)
class Instance:
    """One CRI container of the pod (a container name may have several: restarts)."""

    id: str
    name: str
    attempt: int  # the restart count it was created with
    state: int  # pb.CONTAINER_*
    sandbox_id: str
    created_at: int = 0
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    image: str = ""  # as the spec named it
    image_ref: str = ""
    spec_hash: str = ""
    log_path: str = ""

    @property
    def running(self) -> bool:
        return self.state == pb.CONTAINER_RUNNING

    @property
    def exited(self) -> bool:
        return self.state in (pb.CONTAINER_EXITED, pb.CONTAINER_UNKNOWN)

    @property
    def full_id(self) -> str:
        return keys.full_id(self.id)

    def api_state(self) -> ContainerState:
        if self.running:
            return ContainerState("running", started_at=rfc3339(self.started_at))
        if self.exited:
            reason = self.reason or ("Completed" if self.exit_code == 0 else "Error")
            return ContainerState(
                "terminated",
                reason=reason,
                message=self.message,
                exit_code=self.exit_code,
                started_at=rfc3339(self.started_at),
                finished_at=rfc3339(self.finished_at),
            )
        return ContainerState("waiting", reason="ContainerCreating")


def instance_from_status(status: pb.ContainerStatus, sandbox_id: str) -> Instance:
    annotations: Mapping[str, str] = status.annotations
    return Instance(
        id=status.id,
        name=status.metadata.name,
        attempt=keys.restart_count(dict(annotations)),
        state=int(status.state),
        sandbox_id=sandbox_id,
        created_at=int(status.created_at),
        started_at=int(status.started_at),
        finished_at=int(status.finished_at),
        exit_code=int(status.exit_code),
        reason=status.reason,
        message=status.message,
        image=annotations.get(keys.IMAGE, status.image.image),
        image_ref=status.image_ref,
        spec_hash=annotations.get(keys.CONTAINER_HASH, ""),
        log_path=status.log_path,
    )


@dataclass
class PodView:
    uid: str
    sandboxes: list[Sandbox] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)

    @property
    def ready_sandbox(self) -> Sandbox | None:
        ready = [s for s in self.sandboxes if s.ready]
        return max(ready, key=lambda s: (s.attempt, s.created_at)) if ready else None

    @property
    def next_attempt(self) -> int:
        return max((s.attempt + 1 for s in self.sandboxes), default=0)

    def history(self, name: str) -> list[Instance]:
        """The instances of one container, newest first."""
        mine = [i for i in self.instances if i.name == name]
        return sorted(mine, key=lambda i: (i.attempt, i.created_at), reverse=True)

    def latest(self, name: str) -> Instance | None:
        history = self.history(name)
        return history[0] if history else None
