"""The agent's HTTPS endpoint with real certificates and a fake runtime: who may call,
logs (plain and followed), exec and its exit codes, the kubelet's errors."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.server.pki import Pki, ensure_pki, issue_client_cert, issue_node_serving_cert
from node.server import AgentApi, AgentTLS, load_agent_tls
from tests.node.fakes import FakeInformer

NODE = "n1"
LOG = (
    "2024-05-01T10:00:00Z stdout F hello\n"
    "2024-05-01T10:00:01Z stderr P wor\n"
    "2024-05-01T10:00:01Z stderr F ld\n"
)


@dataclass
class FakeRuntime:
    """Log files under ``root`` in the kubelet's layout; exec answers from a table."""

    root: Path
    execs: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def log_dir(self, uid: str, container: str) -> Path:
        return self.root / f"ns_pod_{uid}" / container

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> Path | None:
        files = sorted(self.log_dir(pod_uid, container).glob("*.log"), key=lambda p: int(p.stem))
        if previous:
            return files[-2] if len(files) > 1 else None
        return files[-1] if files else None

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]:
        self.execs.append((pod_uid, container, cmd))
        if cmd[0] == "fail":
            raise RuntimeError("container is not running")
        if cmd[0] == "exit":
            return int(cmd[1]), b"", b"bye\n"
        return 0, " ".join(cmd).encode() + b"\n", b""


def pod(
    name: str,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    node: str = NODE,
) -> dict[str, Any]:
    status: dict[str, Any] = {"name": "c", "state": state or {"running": {}}}
    if last:
        status["lastState"] = last
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"nodeName": node, "containers": [{"name": "c"}]},
        "status": {"phase": "Running", "containerStatuses": [status]},
    }


@dataclass
class Certs:
    pki: Pki
    tls: AgentTLS
    dir: Path

    def client(self, who: str = "apiserver", **kw: Any) -> httpx.AsyncClient:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        if who == "apiserver":
            ctx.load_cert_chain(str(self.pki.kubelet_client_cert), str(self.pki.kubelet_client_key))
        elif who != "anonymous":
            cert, key = self.dir / f"{who}.crt", self.dir / f"{who}.key"
            ctx.load_cert_chain(str(cert), str(key))
        return httpx.AsyncClient(verify=ctx, timeout=10, **kw)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certs]:
    base = tmp_path_factory.mktemp("pki")
    pki = ensure_pki(base / "cluster", [])
    cert, key = issue_node_serving_cert(base / "cluster", NODE, ["127.0.0.1"])
    (base / "kubelet.crt").write_bytes(cert)
    (base / "kubelet.key").write_bytes(key)
    tls = load_agent_tls(None, None, pki.ca_pem, data_dir=base)
    assert tls is not None
    # A node's certificate from the same CA, and the API server's from another CA.
    for who, p, cn, orgs in (
        ("node", pki, "system:node:n1", ["system:nodes"]),
        (
            "stranger",
            ensure_pki(base / "other", []),
            "kube-apiserver-kubelet-client",
            ["system:masters"],
        ),
    ):
        c, k = issue_client_cert(p, cn, orgs)
        (base / f"{who}.crt").write_bytes(c)
        (base / f"{who}.key").write_bytes(k)
    yield Certs(pki, tls, base)


@dataclass
class Agent:
    url: str
    informer: FakeInformer
    runtime: FakeRuntime


@asynccontextmanager
async def agent(certs: Certs, tmp_path: Path) -> AsyncIterator[Agent]:
    informer = FakeInformer()
    runtime = FakeRuntime(tmp_path)
    api = AgentApi(lambda node: runtime if node == NODE else None, informer, poll=0.01)
    server = await asyncio.start_server(api.handle, "127.0.0.1", 0, ssl=certs.tls.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        yield Agent(f"https://127.0.0.1:{port}", informer, runtime)
    finally:
        server.close()
        await api.close_connections()
        await server.wait_closed()


def run(certs: Certs, tmp_path: Path, scenario: Callable[[Agent], Any]) -> Any:
    async def main() -> Any:
        async with agent(certs, tmp_path) as a:
            return await scenario(a)

    return asyncio.run(main())


def write_log(a: Agent, name: str, n: int = 0, text: str = LOG) -> Path:
    d = a.runtime.log_dir(f"uid-{name}", "c")
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{n}.log").write_text(text)
    return d / f"{n}.log"


@pytest.mark.parametrize(
    ("who", "status", "text"),
    [
        ("apiserver", 200, "hello\nworld\n"),
        ("anonymous", 401, "Unauthorized"),
        (
            "node",
            403,
            "Forbidden (user=system:node:n1, verb=get, resource=nodes, subresource=proxy)",
        ),
    ],
)
def test_who_may_call(certs: Certs, tmp_path: Path, who: str, status: int, text: str) -> None:
    async def scenario(a: Agent) -> tuple[int, str]:
        a.informer.emit("ADDED", pod("p"))
        write_log(a, "p")
        async with certs.client(who) as client:
            r = await client.get(f"{a.url}/containerLogs/ns/p/c")
        return r.status_code, r.text

    assert run(certs, tmp_path, scenario) == (status, text)


def test_a_certificate_from_another_ca_fails_the_handshake(certs: Certs, tmp_path: Path) -> None:
    async def scenario(a: Agent) -> None:
        async with certs.client("stranger") as client:
            with pytest.raises(httpx.HTTPError):
                await client.get(f"{a.url}/containerLogs/ns/p/c")

    run(certs, tmp_path, scenario)


def test_the_serving_certificate_names_the_node(certs: Certs) -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(certs.tls.cert_file.read_bytes())
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "n1" in san.get_values_for_type(x509.DNSName)


TERMINATED = {"terminated": {"exitCode": 1, "containerID": "containerd://a"}}


@pytest.mark.parametrize(
    ("path", "the_pod", "status", "text"),
    [
        (
            "/containerLogs/ns/p/c?tailLines=1&timestamps=true",
            pod("p"),
            200,
            "2024-05-01T10:00:01Z world\n",
        ),
        ("/containerLogs/ns/p/c?limitBytes=3", pod("p"), 200, "hel"),
        ("/containerLogs/ns/p/c?sinceTime=2024-05-01T10:00:01Z", pod("p"), 200, "world\n"),
        ("/containerLogs/ns/p/c?sinceSeconds=1", pod("p"), 200, ""),  # 2024 is long ago
        ("/containerLogs/ns/p/c?previous=true", pod("p", last=TERMINATED), 200, "old\n"),
        (
            "/containerLogs/ns/p/c?previous=true",
            pod("p"),
            400,
            'previous terminated container "c" in pod "p" not found',
        ),
        (
            "/containerLogs/ns/p/c",
            pod("p", {"waiting": {"reason": "ContainerCreating"}}),
            400,
            'container "c" in pod "p" is waiting to start: ContainerCreating',
        ),
        (
            "/containerLogs/ns/p/c",
            pod("p", {"waiting": {"reason": "ImagePullBackOff"}}),
            400,
            'container "c" in pod "p" is waiting to start: trying and failing to pull image',
        ),
        ("/containerLogs/ns/p/c", pod("p", TERMINATED), 200, "hello\nworld\n"),
        ("/containerLogs/ns/p/c?tailLines=-1", pod("p"), 422, '{"message": "Invalid request."}'),
        ("/containerLogs/ns/p/c?tailLines=x", pod("p"), 400, "invalid value for tailLines: 'x'"),
        ("/containerLogs/ns/p/nope", pod("p"), 404, 'container "nope" not found in pod "p"'),
        ("/containerLogs/ns/nope/c", pod("p"), 404, 'pod "nope" does not exist'),
        ("/containerLogs/ns/p/c", pod("p", node="elsewhere"), 404, 'pod "p" does not exist'),
        ("/stats/summary", pod("p"), 404, "404 page not found"),
    ],
)
def test_logs(
    certs: Certs, tmp_path: Path, path: str, the_pod: dict[str, Any], status: int, text: str
) -> None:
    async def scenario(a: Agent) -> tuple[int, str]:
        a.informer.emit("ADDED", the_pod)
        write_log(a, "p", 0, "2024-05-01T09:00:00Z stdout F old\n")
        write_log(a, "p", 1)
        async with certs.client() as client:
            r = await client.get(a.url + path)
        return r.status_code, r.text

    assert run(certs, tmp_path, scenario) == (status, text)


def test_follow_streams_until_the_pod_is_gone(certs: Certs, tmp_path: Path) -> None:
    async def scenario(a: Agent) -> list[str]:
        a.informer.emit("ADDED", pod("p"))
        path = write_log(a, "p")
        got: list[str] = []
        async with certs.client() as client:
            async with client.stream("GET", f"{a.url}/containerLogs/ns/p/c?follow=true") as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    got.append(line)
                    if line == "world":
                        with open(path, "a") as f:
                            f.write("2024-05-01T10:00:02Z stdout F more\n")
                    if line == "more":
                        a.informer.emit("DELETED", pod("p"))
        return got

    assert run(certs, tmp_path, scenario) == ["hello", "world", "more"]


def test_follow_ends_when_the_caller_leaves(certs: Certs, tmp_path: Path) -> None:
    async def scenario(a: Agent) -> None:
        a.informer.emit("ADDED", pod("p"))
        write_log(a, "p")
        async with certs.client() as client:
            async with client.stream("GET", f"{a.url}/containerLogs/ns/p/c?follow=true") as r:
                async for line in r.aiter_lines():
                    if line == "world":
                        break
        await asyncio.sleep(0.1)

    run(certs, tmp_path, scenario)  # and the agent's fixture closes without hanging


@pytest.mark.parametrize(
    ("query", "the_pod", "status", "answer"),
    [
        (
            "command=echo&command=hi",
            pod("p"),
            200,
            {"stdout": "echo hi\n", "stderr": "", "exitCode": 0},
        ),
        ("command=exit&command=3", pod("p"), 200, {"stdout": "", "stderr": "bye\n", "exitCode": 3}),
        ("command=fail", pod("p"), 500, "container is not running"),
        ("", pod("p"), 400, "you must specify at least one command for the container"),
        (
            "command=ls",
            pod("p", {"waiting": {"reason": "ContainerCreating"}}),
            400,
            'container "c" in pod "p" is waiting to start: ContainerCreating',
        ),
        ("command=ls", pod("p", TERMINATED), 400, 'container "c" in pod "p" is terminated'),
    ],
)
def test_exec(
    certs: Certs, tmp_path: Path, query: str, the_pod: dict[str, Any], status: int, answer: Any
) -> None:
    async def scenario(a: Agent) -> tuple[int, Any]:
        a.informer.emit("ADDED", the_pod)
        async with certs.client() as client:
            r = await client.post(f"{a.url}/exec/ns/p/c?{query}")
        return r.status_code, r.json() if status == 200 else r.text

    assert run(certs, tmp_path, scenario) == (status, answer)


def test_exec_refuses_stdin_and_the_wrong_method(certs: Certs, tmp_path: Path) -> None:
    async def scenario(a: Agent) -> list[int]:
        a.informer.emit("ADDED", pod("p"))
        async with certs.client() as client:
            with_stdin = await client.post(f"{a.url}/exec/ns/p/c?command=cat", json={"stdin": "x"})
            empty = await client.post(f"{a.url}/exec/ns/p/c?command=cat", json={"stdin": ""})
            get = await client.get(f"{a.url}/exec/ns/p/c?command=cat")
        assert a.runtime.execs == [("uid-p", "c", ["cat"])]
        return [with_stdin.status_code, empty.status_code, get.status_code]

    assert run(certs, tmp_path, scenario) == [400, 200, 405]


def test_no_certificate_no_endpoint(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_agent_tls(None, None, b"ca", data_dir=tmp_path) is None
    assert "logs and exec are unavailable" in caplog.text
    (tmp_path / "c.crt").write_text("x")
    (tmp_path / "c.key").write_text("x")
    assert load_agent_tls(tmp_path / "c.crt", tmp_path / "c.key", None) is None
    assert load_agent_tls(tmp_path / "c.crt", tmp_path / "c.key", b"ca") is not None


def test_serve_agent_api(certs: Certs, tmp_path: Path) -> None:
    """The entry point the agent starts: serves until cancelled; no TLS, no endpoint."""
    from node.server import serve_agent_api
    from tests.fixtures.apiserver import free_port

    async def main() -> int:
        informer = FakeInformer()
        informer.emit("ADDED", pod("p"))
        await serve_agent_api(lambda n: None, informer, "127.0.0.1", 1, None)  # returns at once
        started = asyncio.Event()
        port = free_port()
        task = asyncio.create_task(
            serve_agent_api(lambda n: None, informer, "127.0.0.1", port, certs.tls, started=started)
        )
        await asyncio.wait_for(started.wait(), 5)
        async with certs.client() as client:
            r = await client.get(f"https://127.0.0.1:{port}/containerLogs/ns/p/c")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return r.status_code

    assert asyncio.run(main()) == 404  # no runtime serves the pod's node
