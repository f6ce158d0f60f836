"""The supervisor's survival and teardown guarantees, on a containerd of the test's own.

containerd runs in its own session, so a kill of the agent does not take it down, and
a kill -9 of containerd itself leaves the pods running; ``cleanup`` (what the fixture's
teardown calls) must still remove every trace: sandboxes, shims, mounts, cgroups,
libcni's cache entries and the bridge.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from kctl.images.build import PAUSE_IMAGE
from node.runtime.containerd.mounts import mounts_under
from node.runtime.cri import api_pb2 as pb
from tests.fixtures.containerd import (
    CNI_RESULTS,
    _cgroup_dirs,
    running_containerd,
    shim_socket,
    stop_containerd,
)

pytestmark = pytest.mark.slow


def test_kill_9_of_containerd_keeps_pods_and_cleanup_removes_everything(tmp_path: Path) -> None:
    with running_containerd(tmp_path / "node") as instance:
        pid = instance.pid
        assert os.getsid(pid) == pid  # its own session: survives the agent's death

        async def run_pod() -> str:
            async with instance.cri() as cri:
                config = pb.PodSandboxConfig(
                    metadata=pb.PodSandboxMetadata(name="p", uid="uid-p", namespace="default"),
                    hostname="p",
                    log_directory=str(instance.log_dir("p")),
                    linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{instance.cgroup_parent}/p"),
                )
                return await cri.run_pod_sandbox(config)

        sandbox_id = asyncio.run(run_pod())
        instance.seen_ids.add(sandbox_id)
        assert _cgroup_dirs(instance.cgroup_parent)
        assert list(CNI_RESULTS.glob(f"{instance.network}-*"))

        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while instance.supervisor.running_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert instance.supervisor.running_pid() is None
        assert shim_socket(instance.socket, sandbox_id).exists()  # the pod outlived containerd

        stop_containerd(instance)

        assert instance.supervisor.running_pid() is None
        assert not shim_socket(instance.socket, sandbox_id).exists()
        assert not _cgroup_dirs(instance.cgroup_parent)
        assert not list(CNI_RESULTS.glob(f"{instance.network}-*"))
        assert not Path("/sys/class/net", instance.bridge).exists()
        assert mounts_under(instance.data_dir) == []
        assert not instance.data_dir.exists()


def test_restarted_containerd_keeps_images(tmp_path: Path) -> None:
    with running_containerd(tmp_path / "node") as instance:
        assert instance.supervisor.stop()
        assert instance.supervisor.running_pid() is None
        new_pid = asyncio.run(instance.supervisor.start())
        assert new_pid != instance.pid
        instance.pid = new_pid

        async def has_pause() -> bool:
            async with instance.cri() as cri:
                return await cri.image_status(PAUSE_IMAGE) is not None

        assert asyncio.run(has_pause())
