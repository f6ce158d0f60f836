"""The CRI subset's wire compatibility and the client's error mapping, without containerd.

The generated modules must match api.proto (regenerated here with grpcio-tools), the
field numbers must be upstream's, and gRPC failures must come out as the project's own
errors: an in-process gRPC server on a unix socket plays the runtime.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import grpc
import grpc.aio
import pytest

from node.runtime import errors
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri import api_pb2_grpc as pb_grpc
from node.runtime.cri.client import CriClient, CriTimeouts

ROOT = Path(__file__).resolve().parents[3]
GENERATED = ["api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py"]


def test_generated_code_matches_proto(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I.",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            "node/runtime/cri/api.proto",
        ],
        cwd=ROOT,
        check=True,
    )
    for name in GENERATED:
        committed = (ROOT / "node/runtime/cri" / name).read_text()
        fresh = (tmp_path / "node/runtime/cri" / name).read_text()
        assert committed.removeprefix("# ruff: noqa\n# fmt: off\n") == fresh, (
            f"{name} is stale: make proto"
        )


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        ("PodSandboxConfig", "linux", 8),
        ("PodSandboxConfig", "port_mappings", 5),
        ("LinuxSandboxSecurityContext", "run_as_group", 8),
        ("Mount", "propagation", 5),
        ("ContainerConfig", "linux", 15),
        ("ContainerConfig", "log_path", 11),
        ("LinuxContainerSecurityContext", "run_as_group", 12),
        ("ContainerStatus", "log_path", 15),
        ("ContainerStatus", "exit_code", 7),
        ("Container", "state", 6),
        ("ExecSyncRequest", "timeout", 3),
        ("ExecSyncResponse", "exit_code", 3),
        ("PullImageRequest", "sandbox_config", 3),
        ("Image", "uid", 5),
        ("StatusResponse", "info", 2),
        ("RuntimeCondition", "message", 4),
        ("UpdateRuntimeConfigRequest", "runtime_config", 1),
    ],
)
def test_upstream_field_numbers(message: str, field: str, number: int) -> None:
    assert pb.DESCRIPTOR.message_types_by_name[message].fields_by_name[field].number == number


def test_services_and_package() -> None:
    assert pb.DESCRIPTOR.package == "runtime.v1"
    runtime = pb.DESCRIPTOR.services_by_name["RuntimeService"]
    assert {"Version", "RunPodSandbox", "ExecSync", "Status", "ListContainers"} <= set(
        runtime.methods_by_name
    )
    images = pb.DESCRIPTOR.services_by_name["ImageService"]
    assert {"ListImages", "ImageStatus", "PullImage", "RemoveImage"} <= set(images.methods_by_name)


class FakeRuntime(pb_grpc.RuntimeServiceServicer):
    async def Version(self, request, context):  # type: ignore[no-untyped-def]
        return pb.VersionResponse(
            version=request.version,
            runtime_name="fake",
            runtime_version="1",
            runtime_api_version="v1",
        )

    async def ContainerStatus(self, request, context):  # type: ignore[no-untyped-def]
        await context.abort(
            grpc.StatusCode.NOT_FOUND, f"container {request.container_id} not found"
        )

    async def StartContainer(self, request, context):  # type: ignore[no-untyped-def]
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not created")

    async def RemoveContainer(self, request, context):  # type: ignore[no-untyped-def]
        await context.abort(grpc.StatusCode.INTERNAL, "boom")

    async def Status(self, request, context):  # type: ignore[no-untyped-def]
        await asyncio.sleep(5)
        return pb.StatusResponse()

    async def ExecSync(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ExecSyncResponse(stdout=" ".join(request.cmd).encode(), exit_code=7)


class FakeImages(pb_grpc.ImageServiceServicer):
    async def ImageStatus(self, request, context):  # type: ignore[no-untyped-def]
        if request.image.image == "present:1":
            return pb.ImageStatusResponse(image=pb.Image(id="sha256:abc", repo_tags=["present:1"]))
        return pb.ImageStatusResponse()


def test_client_against_fake_runtime(tmp_path: Path) -> None:
    socket = str(tmp_path / "cri.sock")

    async def go() -> None:
        server = grpc.aio.server()
        pb_grpc.add_RuntimeServiceServicer_to_server(FakeRuntime(), server)
        pb_grpc.add_ImageServiceServicer_to_server(FakeImages(), server)
        server.add_insecure_port("unix://" + socket)
        await server.start()
        try:
            async with CriClient(socket, CriTimeouts(default=0.5)) as cri:
                assert (await cri.version()).runtime_name == "fake"
                with pytest.raises(errors.NotFound, match="ContainerStatus: container x not found"):
                    await cri.container_status("x")
                with pytest.raises(errors.FailedPrecondition):
                    await cri.start_container("x")
                with pytest.raises(errors.CriError) as generic:
                    await cri.remove_container("x")
                assert type(generic.value) is errors.CriError and generic.value.code == "INTERNAL"
                with pytest.raises(errors.DeadlineExceeded):
                    await cri.status()
                result = await cri.exec_sync("c", ["echo", "hi"], 1)
                assert (result.stdout, result.exit_code) == (b"echo hi", 7)
                assert (await cri.image_status("present:1")) is not None
                assert await cri.image_status("absent:1") is None
                with pytest.raises(errors.Unimplemented):
                    await cri.list_images()
        finally:
            await server.stop(None)

    asyncio.run(go())


def test_missing_socket_is_unavailable(tmp_path: Path) -> None:
    async def go() -> None:
        async with CriClient(str(tmp_path / "none.sock"), CriTimeouts(default=1.0)) as cri:
            with pytest.raises((errors.Unavailable, errors.DeadlineExceeded)):
                await cri.version()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("NOT_FOUND", errors.NotFound),
        ("UNAVAILABLE", errors.Unavailable),
        ("DEADLINE_EXCEEDED", errors.DeadlineExceeded),
        ("ALREADY_EXISTS", errors.AlreadyExists),
        ("INTERNAL", errors.CriError),
    ],
)
def test_error_for(code: str, cls: type[errors.CriError]) -> None:
    err = errors.error_for(code, "msg", "Rpc")
    assert type(err) is cls and err.code == code and str(err) == "Rpc: msg"
    from node.runtime.base import RuntimeFailure

    assert isinstance(err, RuntimeFailure)
