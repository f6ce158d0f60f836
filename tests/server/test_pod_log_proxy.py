"""pods/log and pods/exec end to end: a real API server proxying to a node agent endpoint.

The agent endpoint (:class:`node.server.AgentApi`) runs in a thread of the test with
its own event loop, a real pod informer on the API server and a fake runtime whose log
files the test writes; a Node object points the API server at it (InternalIP
127.0.0.1, ``daemonEndpoints.kubeletEndpoint.Port``). Both CLIs are run as users run
them: ``kctl logs``/``exec`` and the machine's ``kubectl logs`` (also ``-f``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.resources import PODS
from kctl.server.pki import ensure_pki, issue_node_serving_cert
from node.server import AgentApi, AgentTLS
from tests.cli.kubeobjects import both
from tests.fixtures.apiserver import ApiServerProcess, free_port
from tests.fixtures.cli import Runner

pytestmark = pytest.mark.kubectl

LOG = (
    "2024-05-01T10:00:00.5Z stdout F hello\n"
    "2024-05-01T10:00:01Z stderr P wor\n"
    "2024-05-01T10:00:01Z stderr F ld\n"
)
RUNNING = {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
LAST = {"terminated": {"exitCode": 1, "reason": "Error", "containerID": "containerd://old"}}


@dataclass
class FakeRuntime:
    root: Path
    execs: list[list[str]] = field(default_factory=list)

    def log_dir(self, uid: str, container: str) -> Path:
        return self.root / uid / container

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> Path | None:
        d = self.log_dir(pod_uid, container)
        path = d / ("0.log" if previous else "1.log")
        return path if path.exists() else None

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        self.execs.append(cmd)
        if cmd[0] == "exit":
            return int(cmd[1]), b"", b"bye\n"
        return 0, (" ".join(cmd) + "\n").encode(), b""


class AgentThread:
    """Agent endpoints (one per TLS setting) on a loop in a thread, sharing one informer."""

    def __init__(self, kubeconfig: Path, runtime: FakeRuntime) -> None:
        self.kubeconfig = kubeconfig
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.informers: InformerFactory | None = None
        self.servers: list[asyncio.Server] = []
        self.apis: list[AgentApi] = []
        self.informer: Any = None
        self.call(self._start_informer())

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(30)

    async def _start_informer(self) -> None:
        client = AsyncClient.from_kubeconfig(str(self.kubeconfig))
        self.informers = InformerFactory(client)
        self.informer = self.informers.informer(PODS, field_selector="spec.nodeName!=")
        await self.informers.start()
        await self.informers.wait_synced()

    def serve(self, tls: AgentTLS, port: int) -> None:
        async def start() -> None:
            api = AgentApi(lambda node: self.runtime, self.informer, poll=0.02)
            server = await asyncio.start_server(
                api.handle, "127.0.0.1", port, ssl=tls.server_context()
            )
            self.apis.append(api)
            self.servers.append(server)

        self.call(start())

    def cached_version(self, namespace: str, name: str) -> str | None:
        pod = self.informer.store.get(f"{namespace}/{name}")
        return None if pod is None else str(pod["metadata"]["resourceVersion"])

    def stop(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            for api in self.apis:
                await api.close_connections()
            if self.informers is not None:
                await self.informers.stop()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Cluster:
    server: ApiServerProcess
    agent: AgentThread
    runtime: FakeRuntime
    ns: str
    http: httpx.Client

    def pod(
        self,
        name: str,
        node: str = "n1",
        state: dict[str, Any] | None = None,
        last: dict[str, Any] | None = None,
        containers: tuple[str, ...] = ("c",),
    ) -> str:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "nodeName": node,
                "containers": [{"name": c, "image": "busybox"} for c in containers],
            },
        }
        if not node:
            del body["spec"]["nodeName"]  # type: ignore[attr-defined]
        r = self.http.post(f"/api/v1/namespaces/{self.ns}/pods", json=body)
        assert r.status_code == 201, r.text
        uid = r.json()["metadata"]["uid"]
        if state is not None:
            status = {
                "name": containers[0],
                "state": state,
                "ready": True,
                "restartCount": 0,
                "image": "busybox",
                "imageID": "",
            }
            if last:
                status["lastState"] = last
            r = self.http.patch(
                f"/api/v1/namespaces/{self.ns}/pods/{name}/status",
                json={"status": {"phase": "Running", "containerStatuses": [status]}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert r.status_code == 200, r.text
        version = str(r.json()["metadata"]["resourceVersion"])
        deadline = time.monotonic() + 10
        while node and self.agent.cached_version(self.ns, name) != version:  # the agent saw it
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return str(uid)

    def write_log(self, uid: str, text: str = LOG, n: int = 1) -> Path:
        d = self.runtime.log_dir(uid, "c")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{n}.log").write_text(text)
        return d / f"{n}.log"


def node(http: httpx.Client, name: str, port: int) -> None:
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    assert http.post("/api/v1/nodes", json=body).status_code == 201
    status = {
        "addresses": [
            {"type": "Hostname", "address": name},
            {"type": "InternalIP", "address": "127.0.0.1"},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
    }
    r = http.patch(
        f"/api/v1/nodes/{name}/status",
        json={"status": status},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def cluster(
    apiserver: ApiServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("agent")
    cert, key = issue_node_serving_cert(apiserver.data_dir, "n1", ["127.0.0.1"])
    (base / "n1.crt").write_bytes(cert)
    (base / "n1.key").write_bytes(key)
    ca_pem = apiserver.ca.read_bytes()
    # n2's agent has a certificate from another CA; n3 points at a port nobody serves.
    other = ensure_pki(base / "other-ca", [])
    runtime = FakeRuntime(base / "logs")
    agent = AgentThread(apiserver.kubeconfig, runtime)
    ports = {"n1": free_port(), "n2": free_port(), "n3": free_port()}
    agent.serve(AgentTLS(base / "n1.crt", base / "n1.key", ca_pem), ports["n1"])
    agent.serve(AgentTLS(other.server_cert, other.server_key, ca_pem), ports["n2"])
    http = apiserver.client()
    for name, port in ports.items():
        node(http, name, port)
    ns = "logs-proxy"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    try:
        yield Cluster(apiserver, agent, runtime, ns, http)
    finally:
        http.close()
        agent.stop()


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Cluster:
    uid = cluster.pod("web", state=RUNNING, last=LAST)
    cluster.write_log(uid)
    cluster.write_log(uid, "2024-05-01T09:00:00Z stdout F the crashed one\n", n=0)
    cluster.pod("creating", state={"waiting": {"reason": "ContainerCreating"}})
    cluster.pod("pending", node="")
    cluster.pod("two", state=RUNNING, containers=("a", "b"))
    for n in ("n2", "n3"):
        cluster.write_log(cluster.pod(f"on-{n}", node=n, state=RUNNING))
    return cluster


@pytest.mark.parametrize(
    ("args", "code", "stdout"),
    [
        (("logs", "web"), 0, "hello\nworld\n"),
        (("logs", "pod/web", "--tail=1", "--timestamps"), 0, "2024-05-01T10:00:01Z world\n"),
        (("logs", "web", "--limit-bytes=4"), 0, "hell"),
        (("logs", "web", "--since-time=2024-05-01T10:00:01Z"), 0, "world\n"),
        (("logs", "web", "-p"), 0, "the crashed one\n"),
        (("logs", "creating"), 1, ""),
        (("logs", "pending"), 1, ""),
        (("logs", "web", "-c", "nope"), 1, ""),
        (("logs", "nope"), 1, ""),
    ],
)
def test_logs_like_kubectl(
    pods: Cluster, kctl: Runner, kubectl: Runner, args: tuple[str, ...], code: int, stdout: str
) -> None:
    result = both(kctl, kubectl, "-n", pods.ns, *args)
    assert (result.returncode, result.stdout) == (code, stdout), result.stderr


@pytest.mark.parametrize(
    ("path", "status", "reason", "message"),
    [
        (
            "creating/log",
            400,
            "BadRequest",
            'container "c" in pod "creating" is waiting to start: ContainerCreating',
        ),
        ("pending/log", 400, "BadRequest", "pod pending does not have a host assigned"),
        ("web/log?container=x", 400, "BadRequest", "container x is not valid for pod web"),
        (
            "two/log",
            400,
            "BadRequest",
            "a container name must be specified for pod two, choose one of: [a b]",
        ),
        ("nope/log", 404, "NotFound", 'pods "nope" not found'),
        (
            "web/log?tailLines=-2",
            422,
            "Invalid",
            'PodLogOptions "web" is invalid: tailLines: Invalid value: -2: must be greater than or equal to 0',
        ),
        ("web/log?sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z", 422, "Invalid", None),
        ("web/log?tailLines=x", 400, "BadRequest", 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("on-n2/log", 500, "", None),  # the agent's certificate is not from the cluster CA
        ("on-n3/log", 500, "", None),  # nobody listens
    ],
)
def test_error_statuses(
    pods: Cluster, path: str, status: int, reason: str, message: str | None
) -> None:
    r = pods.http.get(f"/api/v1/namespaces/{pods.ns}/pods/{path}")
    body = r.json()
    assert (r.status_code, body["kind"], body["reason"]) == (status, "Status", reason), body
    if message is not None:
        assert body["message"] == message
    if path.startswith("on-n"):
        port = pods.http.get(f"/api/v1/nodes/{path[3:5]}").json()["status"]["daemonEndpoints"]
        assert body["message"].startswith(
            f'Get "https://127.0.0.1:{port["kubeletEndpoint"]["Port"]}/containerLogs/{pods.ns}/{path[:5]}/c'
        )


def test_unreachable_node(pods: Cluster, kctl: Runner, kubectl: Runner) -> None:
    """A reason-less 500, as kube-apiserver's; kubectl prints it without a reason."""
    port = pods.http.get("/api/v1/nodes/n3").json()["status"]["daemonEndpoints"]
    url = f"https://127.0.0.1:{port['kubeletEndpoint']['Port']}"
    message = (
        f'Get "{url}/containerLogs/{pods.ns}/on-n3/c": '
        f"dial tcp {url[8:]}: connect: connection refused\n"
    )
    theirs = kubectl("-n", pods.ns, "logs", "on-n3", check=False)
    assert (theirs.returncode, theirs.stderr) == (1, f"Error from server: {message}")
    ours = kctl("-n", pods.ns, "logs", "on-n3", check=False)
    assert ours.returncode == 1 and ours.stderr.endswith(message)
    r = pods.http.get(f"/api/v1/namespaces/{pods.ns}/pods/on-n2/log")
    assert "tls: failed to verify certificate: " in r.json()["message"]


def test_insecure_skip_tls_verify_backend(pods: Cluster) -> None:
    r = pods.http.get(
        f"/api/v1/namespaces/{pods.ns}/pods/on-n2/log",
        params={"insecureSkipTLSVerifyBackend": "true"},
    )
    assert (r.status_code, r.text) == (200, "hello\nworld\n")


def _follow(cmd: list[str], env: dict[str, str], log: Path) -> list[str]:
    """Start a following command, read two lines, append one, read it, stop."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        got = [proc.stdout.readline(), proc.stdout.readline()]
        with open(log, "a") as f:
            f.write("2024-05-01T10:00:02Z stdout F appended\n")
        got.append(proc.stdout.readline())
        return got
    finally:
        proc.terminate()
        proc.wait(10)


def test_follow_with_kubectl_and_kctl(pods: Cluster) -> None:
    uid = pods.pod("follow", state=RUNNING)
    log = pods.write_log(uid)
    env = {**os.environ, "KUBECONFIG": str(pods.server.kubeconfig)}
    for cli in (["kubectl"], [sys.executable, "-m", "kctl.cli.main"]):
        got = _follow([*cli, "-n", pods.ns, "logs", "-f", "follow"], env, log)
        assert got == ["hello\n", "world\n", "appended\n"], cli
        log.write_text(LOG)
    # The clients are gone: the API server hung up on the agent, which stopped following.
    deadline = time.monotonic() + 10
    while any(api._connections for api in pods.agent.apis):
        assert time.monotonic() < deadline, "the agent still streams to nobody"
        time.sleep(0.05)


def test_exec_exit_codes(pods: Cluster, kctl: Runner) -> None:
    ok = kctl("-n", pods.ns, "exec", "web", "--", "echo", "hi there")
    assert (ok.stdout, ok.stderr) == ("echo hi there\n", "")
    failed = kctl("-n", pods.ns, "exec", "web", "--", "exit", "3", check=False)
    assert failed.returncode == 3
    assert failed.stderr == "bye\ncommand terminated with exit code 3\n"
    assert ["echo", "hi there"] in pods.runtime.execs
    waiting = kctl("-n", pods.ns, "exec", "creating", "--", "ls", check=False)
    assert waiting.returncode == 1
    assert waiting.stderr == (
        'Error from server (BadRequest): container "c" in pod "creating" is waiting to start: '
        "ContainerCreating\n"
    )


def test_exec_errors_over_http(pods: Cluster) -> None:
    base = f"/api/v1/namespaces/{pods.ns}/pods"
    r = pods.http.post(f"{base}/pending/exec?command=ls")
    assert (r.status_code, r.json()["message"]) == (
        400,
        "pod pending does not have a host assigned",
    )
    r = pods.http.post(f"{base}/web/exec?command=ls&command=-l&container=c")
    assert r.json() == {"stdout": "ls -l\n", "stderr": "", "exitCode": 0}
    r = pods.http.post(f"{base}/two/exec?command=ls")
    assert r.status_code == 400 and "choose one of: [a b]" in r.json()["message"]


def test_kubectl_exec_is_refused_before_anything_runs(pods: Cluster, kubectl: Runner) -> None:
    before = len(pods.runtime.execs)
    result = kubectl("-n", pods.ns, "exec", "web", "--", "touch", "/x", check=False)
    assert result.returncode == 1
    assert "is not supported: this API server runs commands in request/response form" in (
        result.stderr
    )
    assert len(pods.runtime.execs) == before
