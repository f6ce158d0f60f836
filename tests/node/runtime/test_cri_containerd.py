"""The CRI client and the containerd supervisor against a real containerd (tests/fixtures).

One module-scoped containerd serves every test here; each test talks to it with its
own client (one event loop per test). The order matters only in that the pod test
needs the busybox image the image test imports.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kctl.images.build import PAUSE_IMAGE, busybox_image
from kctl.images.load import import_archive
from node.runtime import errors
from node.runtime.containerd.supervisor import ContainerdSupervisor
from node.runtime.cri import api_pb2 as pb
from tests.fixtures.containerd import ContainerdInstance, shim_socket

pytestmark = pytest.mark.slow

BUSYBOX = "kctl.test/busybox:1"
SCRIPT = 'trap "exit 0" TERM; echo hello; sleep 1000 & wait'


def test_version_and_status(containerd: ContainerdInstance) -> None:
    async def go() -> None:
        async with containerd.cri() as cri:
            version = await cri.version()
            status = await cri.status()
        assert version.runtime_name == "containerd"
        assert version.runtime_api_version == "v1"
        assert status.runtime_ready
        assert status.network_ready, status.conditions

    asyncio.run(go())


def test_supervisor_adopts_running_containerd(containerd: ContainerdInstance) -> None:
    pid_file = containerd.data_dir / "containerd.pid"
    assert int(pid_file.read_text()) == containerd.pid
    assert (
        str(containerd.supervisor.paths.config)
        in Path(f"/proc/{containerd.pid}/cmdline").read_text()
    )
    # A second supervisor for the same data dir (a restarted agent) finds the same process.
    again = ContainerdSupervisor(containerd.supervisor.config)
    assert again.running_pid() == containerd.pid
    assert asyncio.run(again.start()) == containerd.pid


def test_pause_image_built_and_imported(containerd: ContainerdInstance) -> None:
    async def go() -> None:
        async with containerd.cri() as cri:
            image = await cri.image_status(PAUSE_IMAGE)
            assert image is not None
            assert PAUSE_IMAGE in image.repo_tags
            assert image.id.startswith("sha256:")

    asyncio.run(go())


def test_busybox_packed_and_loaded(containerd: ContainerdInstance, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    busybox_image(BUSYBOX, archive)
    assert import_archive(containerd.socket, archive) == [BUSYBOX]

    async def go() -> None:
        async with containerd.cri() as cri:
            image = await cri.image_status(BUSYBOX)
            assert image is not None and BUSYBOX in image.repo_tags
            assert await cri.image_status("kctl.test/absent:1") is None
            assert BUSYBOX in {t for i in await cri.list_images() for t in i.repo_tags}

    asyncio.run(go())


def _sandbox_config(containerd: ContainerdInstance, name: str) -> pb.PodSandboxConfig:
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=f"uid-{name}", namespace="default"),
        hostname=name,
        log_directory=str(containerd.log_dir(name)),
        labels={"kctl.dev/pod-uid": f"uid-{name}"},
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{containerd.cgroup_parent}/{name}"),
    )


def test_pod_lifecycle(containerd: ContainerdInstance) -> None:
    async def go() -> None:
        async with containerd.cri() as cri:
            if await cri.image_status(BUSYBOX) is None:
                pytest.skip("needs the busybox image (test_busybox_packed_and_loaded)")
            config = _sandbox_config(containerd, "lifecycle")
            sandbox_id = await cri.run_pod_sandbox(config)
            containerd.seen_ids.add(sandbox_id)
            assert shim_socket(containerd.socket, sandbox_id).exists()
            status = await cri.pod_sandbox_status(sandbox_id)
            assert status.state == pb.SANDBOX_READY
            assert status.network.ip.startswith("10.88.77.")
            listed = await cri.list_pod_sandboxes(labels={"kctl.dev/pod-uid": "uid-lifecycle"})
            assert [s.id for s in listed] == [sandbox_id]

            container = pb.ContainerConfig(
                metadata=pb.ContainerMetadata(name="main"),
                image=pb.ImageSpec(image=BUSYBOX),
                command=["sh", "-c", SCRIPT],
                log_path="main/0.log",
                labels={"kctl.dev/container": "main"},
            )
            container_id = await cri.create_container(sandbox_id, container, config)
            await cri.start_container(container_id)
            cstatus = await cri.container_status(container_id)
            assert cstatus.state == pb.CONTAINER_RUNNING
            assert cstatus.image_ref.startswith("sha256:")
            running = await cri.list_containers(sandbox_id=sandbox_id, state=pb.CONTAINER_RUNNING)
            assert [c.id for c in running] == [container_id]

            result = await cri.exec_sync(
                container_id, ["sh", "-c", "echo out; echo err >&2; exit 3"], 5
            )
            assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 3)
            assert (await cri.exec_sync(container_id, ["hostname"], 5)).stdout == b"lifecycle\n"

            await cri.stop_container(container_id, 10)
            stopped = await cri.container_status(container_id)
            assert stopped.state == pb.CONTAINER_EXITED
            assert stopped.exit_code == 0  # the TERM trap, not the KILL after the grace period
            log_text = Path(stopped.log_path).read_text()
            assert " stdout F hello" in log_text

            await cri.remove_container(container_id)
            with pytest.raises(errors.NotFound):
                await cri.container_status(container_id)
            await cri.stop_pod_sandbox(sandbox_id)
            await cri.remove_pod_sandbox(sandbox_id)
            await cri.remove_pod_sandbox(sandbox_id)  # idempotent
            assert await cri.list_pod_sandboxes(sandbox_id=sandbox_id) == []
            assert not shim_socket(containerd.socket, sandbox_id).exists()

    asyncio.run(go())


@pytest.mark.parametrize(
    "call",
    [
        lambda cri: cri.container_status("0" * 64),
        lambda cri: cri.start_container("no-such-container"),
        lambda cri: cri.pod_sandbox_status("no-such-sandbox"),
    ],
    ids=["container_status", "start_container", "pod_sandbox_status"],
)
def test_unknown_ids_are_not_found(containerd: ContainerdInstance, call) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        async with containerd.cri() as cri:
            with pytest.raises(errors.NotFound) as info:
                await call(cri)
            assert info.value.code == "NOT_FOUND"
            assert isinstance(info.value, errors.CriError)

    asyncio.run(go())


def test_remote_registries_are_unreachable(containerd: ContainerdInstance) -> None:
    """A name outside the loopback registry goes to the closed loopback port, never out."""

    async def go() -> None:
        async with containerd.cri() as cri:
            with pytest.raises(errors.CriError) as info:
                await cri.pull_image("registry.invalid/nothing:1")
            assert "127.0.0.1:9" in str(info.value)

    asyncio.run(go())
