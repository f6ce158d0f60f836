"""An asyncio CRI client for a runtime's unix socket (containerd's CRI plugin).

Each method is one unary RPC of ``runtime.v1`` with its own deadline: a short default
for bookkeeping calls (the kubelet's ``--runtime-request-timeout`` is 2 minutes; ours
is shorter so a hung runtime shows as NotReady quickly), the grace period plus a margin
for StopContainer, the command's timeout plus a margin for ExecSync, and a long one
for PullImage. A failed call raises :mod:`node.runtime.errors`, never a gRPC type, so
callers outside this package do not import grpc.

Methods take and return the generated messages of :mod:`node.runtime.cri.api_pb2`
(building a ``PodSandboxConfig`` field by field is the caller's job: it is where the
Kubernetes semantics live), plus small dataclasses where a message would be clumsy.
The channel is created on first use inside the running loop (grpc.aio binds a channel
to its loop) and closed by :meth:`CriClient.close`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import grpc.aio

from node.runtime import errors
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri import api_pb2_grpc as pb_grpc

CRI_API_VERSION = "v1"
# Margin on top of a call's own timeout (StopContainer grace, ExecSync timeout).
_MARGIN = 10.0
# ExecSync output is capped at 16 MiB per stream by the runtime; allow both plus slack.
_MAX_MESSAGE = 40 * 1024 * 1024

Resp = TypeVar("Resp")


@dataclass(frozen=True)
class CriTimeouts:
    """Per-call deadlines in seconds."""

    default: float = 30.0
    pull: float = 600.0
    # How long RunPodSandbox may take: it runs the CNI ADD and may pull the pause image.
    sandbox: float = 120.0


@dataclass(frozen=True)
class VersionInfo:
    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass(frozen=True)
class RuntimeCondition:
    type: str
    status: bool
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class RuntimeStatus:
    """The runtime's conditions (``RuntimeReady``, ``NetworkReady``) by type."""

    conditions: tuple[RuntimeCondition, ...] = ()
    info: Mapping[str, str] = field(default_factory=dict)

    def condition(self, type_: str) -> RuntimeCondition | None:
        for cond in self.conditions:
            if cond.type == type_:
                return cond
        return None

    @property
    def runtime_ready(self) -> bool:
        cond = self.condition("RuntimeReady")
        return bool(cond and cond.status)

    @property
    def network_ready(self) -> bool:
        cond = self.condition("NetworkReady")
        return bool(cond and cond.status)


@dataclass(frozen=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


def _socket_target(socket_path: str) -> str:
    if socket_path.startswith("unix:"):
        return socket_path
    return "unix://" + socket_path


class CriClient:
    """One connection to a CRI runtime. Use as ``async with CriClient(sock) as cri``."""

    def __init__(self, socket_path: str, timeouts: CriTimeouts | None = None) -> None:
        self.socket_path = socket_path
        self.timeouts = timeouts or CriTimeouts()
        self._channel: grpc.aio.Channel | None = None
        self._runtime: pb_grpc.RuntimeServiceStub | None = None
        self._images: pb_grpc.ImageServiceStub | None = None

    async def __aenter__(self) -> CriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._runtime = self._images = None
            await channel.close()

    def _stubs(self) -> tuple[pb_grpc.RuntimeServiceStub, pb_grpc.ImageServiceStub]:
        if self._channel is None or self._runtime is None or self._images is None:
            self._channel = grpc.aio.insecure_channel(
                _socket_target(self.socket_path),
                options=[
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                ],
            )
            self._runtime = pb_grpc.RuntimeServiceStub(self._channel)
            self._images = pb_grpc.ImageServiceStub(self._channel)
        return self._runtime, self._images

    async def _call(
        self, method: Callable[..., Awaitable[Resp]], name: str, request: Any, timeout: float | None
    ) -> Resp:
        try:
            return await method(request, timeout=timeout or self.timeouts.default)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            code_name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
            raise errors.error_for(code_name, exc.details() or code_name, name) from None

    async def _runtime_call(self, name: str, request: Any, timeout: float | None = None) -> Any:
        runtime, _ = self._stubs()
        return await self._call(getattr(runtime, name), name, request, timeout)

    async def _image_call(self, name: str, request: Any, timeout: float | None = None) -> Any:
        _, images = self._stubs()
        return await self._call(getattr(images, name), name, request, timeout)

    # ------------------------------------------------------------------ runtime

    async def version(self, timeout: float | None = None) -> VersionInfo:
        resp = await self._runtime_call(
            "Version", pb.VersionRequest(version=CRI_API_VERSION), timeout
        )
        return VersionInfo(
            resp.version, resp.runtime_name, resp.runtime_version, resp.runtime_api_version
        )

    async def status(self, verbose: bool = False, timeout: float | None = None) -> RuntimeStatus:
        resp = await self._runtime_call("Status", pb.StatusRequest(verbose=verbose), timeout)
        conditions = tuple(
            RuntimeCondition(c.type, c.status, c.reason, c.message) for c in resp.status.conditions
        )
        return RuntimeStatus(conditions, dict(resp.info))

    async def update_runtime_config(self, pod_cidr: str) -> None:
        config = pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=pod_cidr))
        await self._runtime_call(
            "UpdateRuntimeConfig", pb.UpdateRuntimeConfigRequest(runtime_config=config)
        )

    # ------------------------------------------------------------------ sandboxes

    async def run_pod_sandbox(self, config: pb.PodSandboxConfig, runtime_handler: str = "") -> str:
        req = pb.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler)
        resp = await self._runtime_call("RunPodSandbox", req, self.timeouts.sandbox)
        return str(resp.pod_sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        req = pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        await self._runtime_call("StopPodSandbox", req, self.timeouts.sandbox)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        req = pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)
        await self._runtime_call("RemovePodSandbox", req, self.timeouts.sandbox)

    async def pod_sandbox_status(
        self, sandbox_id: str, verbose: bool = False
    ) -> pb.PodSandboxStatus:
        req = pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        resp = await self._runtime_call("PodSandboxStatus", req)
        status: pb.PodSandboxStatus = resp.status
        return status

    async def list_pod_sandboxes(
        self,
        *,
        sandbox_id: str = "",
        ready: bool | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[pb.PodSandbox]:
        filt = pb.PodSandboxFilter(id=sandbox_id, label_selector=dict(labels or {}))
        if ready is not None:
            state = pb.SANDBOX_READY if ready else pb.SANDBOX_NOTREADY
            filt.state.CopyFrom(pb.PodSandboxStateValue(state=state))
        resp = await self._runtime_call("ListPodSandbox", pb.ListPodSandboxRequest(filter=filt))
        return list(resp.items)

    # ------------------------------------------------------------------ containers

    async def create_container(
        self, sandbox_id: str, config: pb.ContainerConfig, sandbox_config: pb.PodSandboxConfig
    ) -> str:
        req = pb.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config
        )
        resp = await self._runtime_call("CreateContainer", req)
        return str(resp.container_id)

    async def start_container(self, container_id: str) -> None:
        await self._runtime_call(
            "StartContainer", pb.StartContainerRequest(container_id=container_id)
        )

    async def stop_container(self, container_id: str, grace_seconds: int) -> None:
        """TERM, then KILL after ``grace_seconds`` (0: KILL at once). Idempotent."""
        grace = max(0, int(grace_seconds))
        req = pb.StopContainerRequest(container_id=container_id, timeout=grace)
        await self._runtime_call("StopContainer", req, max(self.timeouts.default, grace + _MARGIN))

    async def remove_container(self, container_id: str) -> None:
        await self._runtime_call(
            "RemoveContainer", pb.RemoveContainerRequest(container_id=container_id)
        )

    async def list_containers(
        self,
        *,
        container_id: str = "",
        sandbox_id: str = "",
        state: int | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[pb.Container]:
        """``state`` is one of ``api_pb2.CONTAINER_CREATED|RUNNING|EXITED|UNKNOWN``."""
        filt = pb.ContainerFilter(
            id=container_id, pod_sandbox_id=sandbox_id, label_selector=dict(labels or {})
        )
        if state is not None:
            filt.state.CopyFrom(pb.ContainerStateValue(state=state))  # type: ignore[arg-type]
        resp = await self._runtime_call("ListContainers", pb.ListContainersRequest(filter=filt))
        return list(resp.containers)

    async def container_status(
        self, container_id: str, verbose: bool = False
    ) -> pb.ContainerStatus:
        req = pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        resp = await self._runtime_call("ContainerStatus", req)
        status: pb.ContainerStatus = resp.status
        return status

    async def reopen_container_log(self, container_id: str) -> None:
        await self._runtime_call(
            "ReopenContainerLog", pb.ReopenContainerLogRequest(container_id=container_id)
        )

    async def exec_sync(
        self, container_id: str, cmd: list[str], timeout_seconds: float = 0
    ) -> ExecResult:
        """Run ``cmd`` in the container and wait; ``timeout_seconds`` 0 waits for ever."""
        seconds = max(0, int(timeout_seconds + 0.999)) if timeout_seconds else 0
        req = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=seconds)
        deadline = seconds + _MARGIN if seconds else None
        resp = await self._runtime_call("ExecSync", req, deadline or self.timeouts.pull)
        return ExecResult(bytes(resp.stdout), bytes(resp.stderr), int(resp.exit_code))

    # ------------------------------------------------------------------ images

    async def list_images(self, image: str = "") -> list[pb.Image]:
        filt = pb.ImageFilter(image=pb.ImageSpec(image=image)) if image else None
        resp = await self._image_call("ListImages", pb.ListImagesRequest(filter=filt))
        return list(resp.images)

    async def image_status(self, image: str) -> pb.Image | None:
        """The image, or None when the runtime does not have it."""
        req = pb.ImageStatusRequest(image=pb.ImageSpec(image=image))
        resp = await self._image_call("ImageStatus", req)
        if not resp.HasField("image"):
            return None
        found: pb.Image = resp.image
        return found

    async def pull_image(
        self,
        image: str,
        *,
        auth: pb.AuthConfig | None = None,
        sandbox_config: pb.PodSandboxConfig | None = None,
    ) -> str:
        """Pull ``image``; returns the image reference the runtime resolved it to."""
        req = pb.PullImageRequest(
            image=pb.ImageSpec(image=image), auth=auth, sandbox_config=sandbox_config
        )
        resp = await self._image_call("PullImage", req, self.timeouts.pull)
        return str(resp.image_ref)

    async def remove_image(self, image: str) -> None:
        await self._image_call(
            "RemoveImage", pb.RemoveImageRequest(image=pb.ImageSpec(image=image))
        )

    async def image_fs_info(self) -> list[pb.FilesystemUsage]:
        resp = await self._image_call("ImageFsInfo", pb.ImageFsInfoRequest())
        return list(resp.image_filesystems)
