"""Probes: spec defaults, the three handlers against real sockets, the worker state machine."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from node.probes import ContainerSnapshot, PodProbes, ProbeOutcome, Prober, ProbeType, Result
from node.probes.handlers import http_probe, tcp_probe
from node.probes.manager import kill_message
from node.probes.spec import Exec, HttpGet, ProbeSpec, ProbeSpecError, TcpSocket, parse_probe
from node.probes.worker import ProbeEvent, ProbeUpdate, ProbeWorker

# -- spec -------------------------------------------------------------------------

CONTAINER = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}


@pytest.mark.parametrize(
    "probe_type, probe, want",
    [
        (
            ProbeType.READINESS,
            {"httpGet": {"port": "http"}},
            ProbeSpec(ProbeType.READINESS, HttpGet(port=8080), 0, 10, 1, 1, 3),
        ),
        (
            ProbeType.READINESS,
            {
                "httpGet": {
                    "port": 81,
                    "path": "healthz",
                    "scheme": "HTTPS",
                    "host": "127.0.0.1",
                    "httpHeaders": [{"name": "X-A", "value": "1"}],
                },
                "initialDelaySeconds": 5,
                "periodSeconds": 2,
                "timeoutSeconds": 3,
                "successThreshold": 2,
                "failureThreshold": 7,
            },
            ProbeSpec(
                ProbeType.READINESS,
                HttpGet(81, "/healthz", "127.0.0.1", "HTTPS", (("X-A", "1"),)),
                5,
                2,
                3,
                2,
                7,
            ),
        ),
        # liveness and startup: successThreshold is always 1
        (
            ProbeType.LIVENESS,
            {"tcpSocket": {"port": 8080}, "successThreshold": 3},
            ProbeSpec(ProbeType.LIVENESS, TcpSocket(8080), 0, 10, 1, 1, 3),
        ),
        (
            ProbeType.STARTUP,
            {"exec": {"command": ["cat", "/tmp/ok"]}, "failureThreshold": 30},
            ProbeSpec(ProbeType.STARTUP, Exec(("cat", "/tmp/ok")), 0, 10, 1, 1, 30),
        ),
    ],
)
def test_parse_probe_defaults(probe_type: ProbeType, probe: dict, want: ProbeSpec) -> None:
    assert parse_probe(probe_type, {**CONTAINER, probe_type.field: probe}) == want


@pytest.mark.parametrize(
    "probe, error",
    [
        ({"httpGet": {"port": "metrics"}}, "not a named port"),
        ({"tcpSocket": {"port": 70000}}, "out of range"),
        ({"exec": {"command": []}}, "without a command"),
        ({"grpc": {"port": 9000}}, "not supported"),
        ({"periodSeconds": 3}, "no handler"),
    ],
)
def test_parse_probe_errors(probe: dict, error: str) -> None:
    with pytest.raises(ProbeSpecError, match=error):
        parse_probe(ProbeType.LIVENESS, {**CONTAINER, "livenessProbe": probe})


def test_no_probe() -> None:
    assert parse_probe(ProbeType.READINESS, CONTAINER) is None


# -- handlers against a real server on 127.0.0.1 --------------------------------------


@dataclass
class Server:
    port: int
    status: int = 200
    delay: float = 0.0
    seen: list[dict[str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[Server]:
    state = Server(0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode()
        line, *header_lines = request.split("\r\n")
        path = line.split()[1]
        state.seen.append(
            {
                "path": path,
                **{
                    h.split(":", 1)[0]: h.split(":", 1)[1].strip() for h in header_lines if ":" in h
                },
            }
        )
        await asyncio.sleep(state.delay)
        status, extra = state.status, ""
        if path == "/redirect":
            status, extra = 302, "Location: /landing\r\n"
        elif path == "/away":
            status, extra = 302, "Location: http://10.0.0.1/\r\n"
        body = b"fine"
        writer.write(
            f"HTTP/1.1 {status} X\r\n{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_probe_statuses_headers_redirects_timeouts() -> None:
    async def main() -> None:
        async with http_server() as srv:
            action = HttpGet(
                port=srv.port, path="/healthz", headers=(("host", "example.test"), ("x-probe", "1"))
            )
            assert await http_probe(action, "127.0.0.1", 1.0) == ProbeOutcome(
                Result.SUCCESS, "fine"
            )
            seen = srv.seen[-1]
            assert (seen["path"], seen["Host"], seen["X-Probe"], seen["User-Agent"]) == (
                "/healthz",
                "example.test",
                "1",
                "kube-probe/1.32",
            )

            srv.status = 500
            assert await http_probe(action, "127.0.0.1", 1.0) == ProbeOutcome(
                Result.FAILURE, "HTTP probe failed with statuscode: 500"
            )
            srv.status = 399
            assert (await http_probe(action, "127.0.0.1", 1.0)).result is Result.SUCCESS

            srv.status = 200
            assert (
                await http_probe(HttpGet(port=srv.port, path="/redirect"), "127.0.0.1", 1.0)
            ).result is Result.SUCCESS
            assert srv.seen[-1]["path"] == "/landing"
            away = await http_probe(HttpGet(port=srv.port, path="/away"), "127.0.0.1", 1.0)
            assert away == ProbeOutcome(
                Result.WARNING, "Probe terminated redirects, Response body: fine"
            )
            assert away.ok

            srv.delay = 0.5
            slow = await http_probe(HttpGet(port=srv.port, path="/slow"), "127.0.0.1", 0.1)
            assert slow == ProbeOutcome(
                Result.FAILURE,
                f'Get "http://127.0.0.1:{srv.port}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            )
        port = free_port()
        refused = await http_probe(HttpGet(port=port), "127.0.0.1", 1.0)
        assert refused == ProbeOutcome(
            Result.FAILURE,
            f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused',
        )

    asyncio.run(main())


def test_tcp_probe() -> None:
    async def main() -> None:
        async with http_server() as srv:
            assert await tcp_probe("127.0.0.1", srv.port, 1.0) == ProbeOutcome(Result.SUCCESS)
        port = free_port()
        assert await tcp_probe("127.0.0.1", port, 1.0) == ProbeOutcome(
            Result.FAILURE, f"dial tcp 127.0.0.1:{port}: connect: connection refused"
        )

    asyncio.run(main())


def test_exec_probe_and_the_safety_rule() -> None:
    calls: list[tuple[str, list[str], float]] = []

    async def fake_exec(cid: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        calls.append((cid, cmd, timeout))
        if cmd[0] == "sleep":
            await asyncio.sleep(10)
        if cmd[0] == "boom":
            raise RuntimeError("container not found")
        return (0, b"ok\n", b"") if cmd[0] == "true" else (1, b"out ", b"err")

    def spec(*cmd: str) -> ProbeSpec:
        return ProbeSpec(ProbeType.LIVENESS, Exec(cmd), timeout=0.1)

    async def main() -> None:
        prober = Prober(fake_exec)
        assert await prober.probe(spec("true"), "", "c1") == ProbeOutcome(Result.SUCCESS, "ok\n")
        assert await prober.probe(spec("false"), "", "c1") == ProbeOutcome(
            Result.FAILURE, "out err"
        )
        assert await prober.probe(spec("boom"), "", "c1") == ProbeOutcome(
            Result.UNKNOWN, "container not found"
        )
        assert calls[0] == ("c1", ["true"], 0.1)
        timed_out = await prober.probe(spec("sleep", "10"), "", "c1")
        assert timed_out == ProbeOutcome(Result.FAILURE, 'command "sleep 10" timed out')
        assert (await Prober().probe(spec("true"), "", "c1")).result is Result.UNKNOWN
        # a host that is neither the pod's IP nor loopback is never contacted
        far = ProbeSpec(ProbeType.READINESS, TcpSocket(80, host="192.0.2.1"))
        out = await prober.probe(far, "10.250.1.5", "c1")
        assert out.result is Result.FAILURE and "not probed" in out.message
        assert (
            await prober.probe(ProbeSpec(ProbeType.READINESS, TcpSocket(80)), "", "c1")
        ).result is Result.UNKNOWN

    asyncio.run(main())


# -- the worker state machine, with scripted outcomes -------------------------------


class ScriptedProber(Prober):
    def __init__(self, outcomes: list[bool]) -> None:
        super().__init__()
        self.outcomes = outcomes
        self.runs = 0

    async def probe(self, spec: ProbeSpec, pod_ip: str, container_id: str) -> ProbeOutcome:
        self.runs += 1
        ok = self.outcomes.pop(0)
        return ProbeOutcome(
            Result.SUCCESS if ok else Result.FAILURE,
            "" if ok else "HTTP probe failed with statuscode: 500",
        )


class Harness:
    def __init__(
        self, probe_type: ProbeType, outcomes: list[bool], startup: bool = False, **spec_kw: float
    ) -> None:
        container: dict = {"name": "app", probe_type.field: {"tcpSocket": {"port": 80}, **spec_kw}}
        if startup and probe_type is not ProbeType.STARTUP:
            container["startupProbe"] = {"tcpSocket": {"port": 80}}
        self.pod = {"spec": {"restartPolicy": "Always", "containers": [container]}}
        self.snap: ContainerSnapshot | None = ContainerSnapshot(
            "c1", "running", started_at=100.0, pod_ip="10.250.1.2"
        )
        self.now = 100.0
        self.updates: list[ProbeUpdate] = []
        self.events: list[ProbeEvent] = []
        self.prober = ScriptedProber(outcomes)
        self.probes = PodProbes(
            self.pod,
            self.prober,
            lambda name: self.snap,
            self.updates.append,
            self.events.append,
            lambda: self.now,
        )
        workers = {w.spec.type: w for w in self.probes.workers()}
        self.worker: ProbeWorker = workers[probe_type]

    def tick(self) -> bool:
        return asyncio.run(self.worker.do_probe())

    def values(self) -> list[bool | None]:
        return [u.success for u in self.updates]


def test_readiness_needs_success_threshold_and_failure_threshold_in_a_row() -> None:
    h = Harness(
        ProbeType.READINESS,
        [True, True, False, False, True, False, False, False],
        successThreshold=2,
        failureThreshold=3,
    )
    assert h.probes.ready("app", "c1") is False  # before any result: not ready
    h.tick()
    assert h.values() == [False]  # the initial value
    h.tick()
    assert h.values() == [False, True] and h.probes.ready("app", "c1") is True
    for _ in range(3):  # F F T: never 3 failures in a row
        h.tick()
    assert h.probes.ready("app", "c1") is True
    for _ in range(3):
        h.tick()
    assert h.values() == [False, True, False] and h.probes.ready("app", "c1") is False
    assert h.updates[-1].message == "Readiness probe failed: HTTP probe failed with statuscode: 500"
    assert len(h.events) == 5 and h.events[0] == ProbeEvent(
        "app",
        "Warning",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 500",
    )
    assert h.probes.ready("app", "other-container") is False


def test_liveness_failure_holds_until_the_container_restarts() -> None:
    h = Harness(ProbeType.LIVENESS, [False, False, False, True], failureThreshold=3)
    for _ in range(3):
        h.tick()
    assert h.values() == [True, False]
    assert h.updates[-1].message == "Liveness probe failed: HTTP probe failed with statuscode: 500"
    assert (
        kill_message("app", ProbeType.LIVENESS)
        == "Container app failed liveness probe, will be restarted"
    )
    h.tick()
    h.tick()
    assert h.prober.runs == 3  # on hold: no probing the dying container
    h.snap = ContainerSnapshot("c2", "running", started_at=101.0)  # restarted
    h.now = 102.0
    h.tick()
    assert h.values() == [True, False, True] and h.updates[-1].container_id == "c2"
    assert h.prober.runs == 4
    assert h.probes.ready("app", "c2") is None  # no readiness probe: no opinion


def test_initial_delay_and_stopped_containers() -> None:
    h = Harness(ProbeType.READINESS, [True, True], initialDelaySeconds=5)
    h.now = 104.0
    h.tick()
    assert h.prober.runs == 0
    h.now = 105.0
    h.tick()
    assert h.prober.runs == 1 and h.probes.ready("app", "c1") is True
    h.snap = ContainerSnapshot("c1", "terminated")
    assert h.tick() is True  # restartPolicy Always: it will come back
    assert h.probes.ready("app", "c1") is False
    h.pod["spec"]["restartPolicy"] = "Never"
    never = PodProbes(h.pod, h.prober, lambda name: h.snap, h.updates.append).workers()[0]
    assert asyncio.run(never.do_probe()) is False
    h.snap = None  # container gone from the pod
    assert h.tick() is False


def test_startup_holds_liveness_and_readiness_back() -> None:
    h = Harness(ProbeType.LIVENESS, [True], startup=True)
    startup = {w.spec.type: w for w in h.probes.workers()}[ProbeType.STARTUP]
    h.worker = {w.spec.type: w for w in h.probes.workers()}[ProbeType.LIVENESS]
    h.tick()
    assert h.prober.runs == 0 and h.probes.started("app", "c1") is False
    h.prober.outcomes = [True, True]
    asyncio.run(startup.do_probe())
    assert h.probes.started("app", "c1") is True and h.prober.runs == 1
    asyncio.run(startup.do_probe())
    assert h.prober.runs == 1  # started: startup probing is over
    h.tick()
    assert h.prober.runs == 2


# -- end to end: PodProbes tasks against a real HTTP server, fast periods ------------


def test_pod_probes_follow_a_real_server() -> None:
    async def main() -> None:
        async with http_server() as srv:
            probe = {
                "httpGet": {"port": "http", "path": "/ready"},
                "periodSeconds": 0.05,
                "failureThreshold": 2,
            }
            pod = {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "ports": [{"name": "http", "containerPort": srv.port}],
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "failureThreshold": 4},
                        }
                    ]
                }
            }
            updates: list[ProbeUpdate] = []
            snap = ContainerSnapshot("c1", "running", started_at=0.0, pod_ip="127.0.0.1")
            probes = PodProbes(pod, Prober(), lambda name: snap, updates.append)
            probes.start()

            async def until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
                for _ in range(100):
                    if predicate():
                        return
                    await asyncio.sleep(0.02)
                raise AssertionError(f"timed out waiting for {what}: {updates}")

            try:
                await until(lambda: probes.ready("web", "c1") is True, "ready")
                srv.status = 500
                await until(lambda: probes.ready("web", "c1") is False, "not ready")
                await until(
                    lambda: any(
                        u.probe_type is ProbeType.LIVENESS and u.success is False for u in updates
                    ),
                    "liveness failure",
                )
                dead = [
                    u for u in updates if u.probe_type is ProbeType.LIVENESS and u.success is False
                ][0]
                assert (
                    dead.message == "Liveness probe failed: HTTP probe failed with statuscode: 500"
                )
                srv.status = 200
                await until(lambda: probes.ready("web", "c1") is True, "ready again")
            finally:
                await probes.stop()
            assert probes.tasks == []

    asyncio.run(main())
