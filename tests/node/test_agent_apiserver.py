"""``kctl node --runtime hollow`` against a real API server, as a user runs it.

The agent is a subprocess stopped by its PID (SIGTERM), so this covers the command
line, registration, lease renewal, the pod sync loop and clean shutdown together.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kctl.api import errors
from kctl.client.http import Client
from kctl.client.resources import LEASES, NODES, PODS
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.slow

NODES_N = 3
T = TypeVar("T")


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 15.0, every: float = 0.1
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except errors.NotFound:
            last = None
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Agent:
    def __init__(self, server: ApiServerProcess, log_path: Path, *args: str) -> None:
        cmd = [
            sys.executable,
            "-m",
            "kctl.cli.main",
            "node",
            "--kubeconfig",
            str(server.kubeconfig),
            *args,
        ]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                return -9
        return int(self.proc.returncode)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def client(apiserver: ApiServerProcess) -> Iterator[Client]:
    with Client.from_kubeconfig(str(apiserver.kubeconfig)) as c:
        yield c


@pytest.fixture(scope="module")
def agent(apiserver: ApiServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    log_path = tmp_path_factory.mktemp("agent") / "agent.log"
    running = Agent(
        apiserver,
        log_path,
        "--runtime",
        "hollow",
        "--count",
        str(NODES_N),
        "--lease-renew-interval",
        "1",
        "--pod-cidr-wait",
        "1",
    )
    try:
        yield running
    finally:
        running.stop()


def ready(node: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in node.get("status", {}).get("conditions", [])
    )


def condition(pod: dict[str, Any], kind: str) -> str:
    for cond in pod.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return str(cond["status"])
    return ""


def test_registers_ready_nodes_with_leases(client: Client, agent: Agent) -> None:
    names = [f"hollow-{i}" for i in range(NODES_N)]

    def ready_nodes() -> list[dict[str, Any]] | None:
        got = [
            n for n in client.list(NODES)["items"] if n["metadata"]["name"] in names and ready(n)
        ]
        return got if len(got) == NODES_N else None

    nodes = wait_for("3 Ready nodes", ready_nodes, timeout=30)
    addresses = set()
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"]
        assert (
            node["status"]["capacity"]["pods"] == "110"
            and node["status"]["allocatable"]["memory"] == "16Gi"
        )
        internal = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
        addresses.update(internal)
        assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("hollow://")
    assert len(addresses) == NODES_N

    # a node may be Ready a moment before its agent has created its Lease
    first = wait_for(
        "3 node Leases", lambda: {n: client.get(LEASES, n, "kube-node-lease") for n in names}
    )
    for name, lease in first.items():
        assert (
            lease["spec"]["holderIdentity"] == name and lease["spec"]["leaseDurationSeconds"] == 40
        )
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    wait_for(
        "lease renewals",
        lambda: all(
            client.get(LEASES, n, "kube-node-lease")["spec"]["renewTime"]
            != first[n]["spec"]["renewTime"]
            for n in names
        ),
        timeout=10,
    )


def test_pod_runs_flips_readiness_and_deletes(client: Client, agent: Agent) -> None:
    wait_for("node hollow-1", lambda: ready(client.get(NODES, "hollow-1")), timeout=30)
    node_ip = next(
        a["address"]
        for a in client.get(NODES, "hollow-1")["status"]["addresses"]
        if a["type"] == "InternalIP"
    )
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "hollow-1", "containers": [{"name": "nginx", "image": "nginx:1.27"}]},
    }
    client.create(PODS, body, "default")

    def ready_pod() -> dict[str, Any] | None:
        current = client.get(PODS, "web", "default")
        return current if condition(current, "Ready") == "True" else None

    pod = wait_for("pod Running and Ready", ready_pod)
    status = pod["status"]
    assert status["phase"] == "Running" and status["hostIP"] == node_ip
    assert status["podIP"] and status["podIPs"] == [{"ip": status["podIP"]}]
    (cs,) = status["containerStatuses"]
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
    assert (
        cs["containerID"].startswith("hollow://")
        and cs["imageID"]
        and "startedAt" in cs["state"]["running"]
    )
    rv = pod["metadata"]["resourceVersion"]
    time.sleep(1.0)
    assert (
        client.get(PODS, "web", "default")["metadata"]["resourceVersion"] == rv
    )  # no needless writes

    for value, expected in (("false", "False"), ("true", "True")):
        client.patch(
            PODS, "web", {"metadata": {"annotations": {"kctl.dev/hollow-ready": value}}}, "default"
        )
        wait_for(
            f"Ready={expected}",
            lambda e=expected: condition(client.get(PODS, "web", "default"), "Ready") == e,
            timeout=3.0,
            every=0.05,
        )

    uid = pod["metadata"]["uid"]
    client.delete(PODS, "web", "default")  # default grace period (30 s): the agent confirms sooner
    wait_for("pod gone", lambda: _gone(client, "web", uid), timeout=10)


def _gone(client: Client, name: str, uid: str) -> bool:
    try:
        return client.get(PODS, name, "default")["metadata"]["uid"] != uid
    except errors.NotFound:
        return True


def test_sigterm_stops_cleanly_and_nodes_stay(client: Client, agent: Agent) -> None:
    wait_for("node hollow-0", lambda: ready(client.get(NODES, "hollow-0")), timeout=30)
    assert agent.stop() == 0, agent.logs()
    assert "Traceback" not in agent.logs(), agent.logs()
    assert {n["metadata"]["name"] for n in client.list(NODES)["items"]} >= {
        f"hollow-{i}" for i in range(NODES_N)
    }
    renewed = client.get(LEASES, "hollow-0", "kube-node-lease")["spec"]["renewTime"]
    time.sleep(1.5)
    assert client.get(LEASES, "hollow-0", "kube-node-lease")["spec"]["renewTime"] == renewed


@pytest.mark.parametrize(
    "cmd", [["-m", "node", "--help"], ["-m", "kctl.cli.main", "node", "--help"]]
)
def test_help(cmd: list[str]) -> None:
    out = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--lease-renew-interval" in out.stdout and "--count" in out.stdout
