"""One real containerd node for the module: ``kctl node --runtime containerd`` as a user runs it.

The API server comes from tests/fixtures/apiserver.py, the loopback registry from
tests/fixtures/registry.py. The agent is a subprocess (tests/fixtures/processes.py)
with its own data dir and pod CIDR 10.250.8.0/24; the busybox image is built with
``kctl image busybox`` and loaded with ``kctl image load --containerd-socket`` once the
agent's containerd answers. Teardown, even after a failure: the agent is stopped,
``kctl node --cleanup`` removes the node's pods, containerd, network and state, and the
machine is checked for what it must not keep (bridge, netns, cgroups, containerd).

Needs root, containerd, runc and the CNI plugins: skipped locally without them, a
failure under CI (``CI`` set), as tests/fixtures/containerd.py decides.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kctl.api import errors
from kctl.client.http import Client
from kctl.client.resources import NODES, PODS
from node.network.config import bridge_name
from node.runtime.cri_runtime import cgroups
from tests.fixtures.apiserver import ApiServerProcess, free_port
from tests.fixtures.containerd import require_containerd
from tests.fixtures.processes import ComponentProcess, start_component
from tests.fixtures.registry import RegistryProcess

NODE = "n1"
POD_CIDR = "10.250.8.0/24"
IMAGE = "busybox:kctl"
T = TypeVar("T")


def kctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kctl.cli.main", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except errors.NotFound:
            last = None
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class ContainerdNode:
    server: ApiServerProcess
    client: Client
    data_dir: Path
    log_dir: Path
    registry: RegistryProcess
    archive: Path
    agent: ComponentProcess | None = None
    restarts: int = 0
    agents: list[ComponentProcess] = field(default_factory=list)

    @property
    def socket(self) -> str:
        return str(self.data_dir / "containerd.sock")

    @property
    def bridge(self) -> str:
        return bridge_name(NODE, self.data_dir)

    @property
    def cgroup_parent(self) -> str:
        return cgroups.node_parent(NODE, self.data_dir)

    def start_agent(self) -> ComponentProcess:
        args = [
            "node",
            "--kubeconfig",
            str(self.server.kubeconfig),
            "--runtime",
            "containerd",
            "--name",
            NODE,
            "--data-dir",
            str(self.data_dir),
            "--pod-cidr",
            POD_CIDR,
            "--registry",
            self.registry.address,
            "--agent-port",
            str(free_port()),
            "-v",
            "4",
        ]
        self.agent = start_component(f"agent-{self.restarts}", args, self.log_dir)
        self.restarts += 1
        self.agents.append(self.agent)
        return self.agent

    def logs(self) -> str:
        return "\n".join(a.logs()[-8000:] for a in self.agents)

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        result: dict[str, Any] = self.client.get(PODS, name, namespace)
        return result

    def cri(self, coro_fn: Callable[[Any], Any]) -> Any:
        """Run ``coro_fn(cri)`` against the node's containerd (one loop per call)."""
        from node.runtime.cri.client import CriClient

        async def go() -> Any:
            async with CriClient(self.socket) as cri:
                return await coro_fn(cri)

        return asyncio.run(go())


def node_ready(client: Client) -> dict[str, Any] | None:
    node = client.get(NODES, NODE)
    for cond in node.get("status", {}).get("conditions", []):
        if cond["type"] == "Ready" and cond["status"] == "True":
            return dict(node)
    return None


@pytest.fixture(scope="module")
def cnode(
    apiserver: ApiServerProcess,
    registry: RegistryProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ContainerdNode]:
    require_containerd()
    root = tmp_path_factory.mktemp("cnode")
    archive = root / "busybox.tar"
    kctl("image", "busybox", "-t", IMAGE, "-o", str(archive))
    client = Client.from_kubeconfig(str(apiserver.kubeconfig))
    node = ContainerdNode(apiserver, client, root / "data", root / "logs", registry, archive)
    try:
        node.start_agent()
        wait_for("the agent's containerd", lambda: Path(node.socket).exists(), 60)
        wait_for(f"node {NODE} Ready", lambda: node_ready(client), 60)
        kctl("image", "load", str(archive), "--containerd-socket", node.socket)
        yield node
    finally:
        for agent in node.agents:
            agent.stop()
        result = kctl(
            "node", "--name", NODE, "--data-dir", str(node.data_dir), "--cleanup", check=False
        )
        client.close()
        assert result.returncode == 0, result.stderr
        again = kctl(
            "node", "--name", NODE, "--data-dir", str(node.data_dir), "--cleanup", check=False
        )
        assert again.returncode == 0, again.stderr  # idempotent
        assert not Path("/sys/class/net", node.bridge).exists()
        assert not cgroups.existing(node.cgroup_parent)
        assert not (node.data_dir / "containerd.pid").exists()
        assert not (node.data_dir / "containerd").exists()
