"""The lean HTTP/1.1 transport: parsing, keep-alive, retries, TLS, streams."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kctl.api import errors
from kctl.client import transport as lean
from kctl.client.http import AsyncClient, ConnectionFailed
from kctl.client.kubeconfig import ClientConfig, config_for
from tests.client.conftest import NODES, PODS
from tests.client.stub_server import Reply, StubServer
from tests.client.test_client_http import _self_signed

# --- the parser ------------------------------------------------------------------------------


class Collect(lean._Sink):
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.done: bool | None = None  # keep_alive once complete

    def on_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.status, self.headers = status, headers

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_complete(self, keep_alive: bool) -> None:
        self.done = keep_alive


CASES = [
    # (name, raw, head_request, status, body, keep_alive, needs_eof)
    (
        "content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: x\r\n\r\nhello",
        False,
        200,
        b"hello",
        True,
        False,
    ),
    (
        "chunked with extension and trailer",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n",
        False,
        200,
        b"abc0123456789",
        True,
        False,
    ),
    (
        "connection close",
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        False,
        201,
        b"ok",
        False,
        False,
    ),
    (
        "until close",
        b"HTTP/1.1 200 OK\r\n\r\nall of it",
        False,
        200,
        b"all of it",
        False,
        True,
    ),
    ("no content", b"HTTP/1.1 204 No Content\r\n\r\n", False, 204, b"", True, False),
    (
        "head request ignores the length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        True,
        200,
        b"",
        True,
        False,
    ),
    (
        "interim 100 skipped",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        False,
        200,
        b"x",
        True,
        False,
    ),
    (
        "http/1.0 keep-alive",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
        False,
        200,
        b"x",
        True,
        False,
    ),
    (
        "http/1.0 closes by default",
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
        False,
        200,
        b"x",
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    "raw,head_request,status,body,keep_alive,needs_eof",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
@pytest.mark.parametrize("piece", [0, 1, 7])  # 0: all at once; else that many bytes a feed
def test_parser(
    raw: bytes,
    head_request: bool,
    status: int,
    body: bytes,
    keep_alive: bool,
    needs_eof: bool,
    piece: int,
) -> None:
    sink = Collect()
    parser = lean.ResponseParser(sink, head_request=head_request)
    pieces = [raw] if not piece else [raw[i : i + piece] for i in range(0, len(raw), piece)]
    for p in pieces:
        parser.feed(p)
    if needs_eof:
        assert sink.done is None
        parser.feed_eof()
    assert (sink.status, sink.body, sink.done) == (status, body, keep_alive)
    assert parser.done


@pytest.mark.parametrize(
    "raw,error",
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", lean.ProtocolError),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", lean.ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", lean.ProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", lean.ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy", lean.ProtocolError),
    ],
)
def test_parser_rejects_garbage(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        lean.ResponseParser(Collect()).feed(raw)


def test_truncated_body_is_connection_lost() -> None:
    parser = lean.ResponseParser(Collect())
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(lean.ConnectionLost):
        parser.feed_eof()


# --- a scripted server for connection-level behaviour ----------------------------------------

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

# Per connection (by order of arrival), what to do with each request: "ok" answers,
# "drop" closes without answering.
Script = Callable[[int, int], str]


class Scripted:
    """An asyncio HTTP/1.1 server on loopback that follows a script."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[tuple[int, bytes]] = []  # (connection, request line)
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connections
        self.connections += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                self.requests.append((conn, head.split(b"\r\n", 1)[0]))
                action = self.script(conn, n)
                n += 1
                if action == "drop":
                    break
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def run_scripted(script: Script, body: Callable[[AsyncClient, Scripted], object]) -> Scripted:
    scripted = Scripted(script)

    async def main() -> None:
        url = await scripted.start()
        try:
            async with AsyncClient(config_for(url), timeout=5) as client:
                await body(client, scripted)  # type: ignore[misc]
        finally:
            await scripted.stop()

    asyncio.run(main())
    return scripted


def test_keep_alive_reuses_one_connection() -> None:
    async def body(client: AsyncClient, _s: Scripted) -> None:
        for _ in range(5):
            assert await client.get(PODS, "a", "ns") == {}
        assert client._pool is not None and client._pool.opened == 1

    scripted = run_scripted(lambda conn, n: "ok", body)
    assert [conn for conn, _ in scripted.requests] == [0] * 5


@pytest.mark.parametrize(
    "method,retried",
    [("GET", True), ("PUT", True), ("DELETE", True), ("POST", False), ("PATCH", False)],
)
def test_lost_reused_connection_retries_idempotent_requests_only(
    method: str, retried: bool
) -> None:
    # The first connection answers its first request, then drops the second unanswered.
    def script(conn: int, n: int) -> str:
        return "drop" if (conn, n) == (0, 1) else "ok"

    async def body(client: AsyncClient, _s: Scripted) -> None:
        await client.request("GET", "/warm")
        if retried:
            assert await client.request(method, "/x", body={}) == {}
        else:
            with pytest.raises(ConnectionFailed):
                await client.request(method, "/x", body={})

    scripted = run_scripted(script, body)
    sent = [line for _, line in scripted.requests if line.startswith(method.encode() + b" /x")]
    assert len(sent) == (2 if retried else 1)


def test_fresh_connection_loss_is_not_retried() -> None:
    async def body(client: AsyncClient, _s: Scripted) -> None:
        with pytest.raises(ConnectionFailed, match="Unable to connect"):
            await client.request("GET", "/x")

    scripted = run_scripted(lambda conn, n: "drop", body)
    assert len(scripted.requests) == 1


def test_idle_connection_closed_by_server_is_replaced() -> None:
    # The server closes after each answer (as after its keep-alive timeout): even a POST
    # goes out on a new connection, without error.
    async def body(client: AsyncClient, scripted: Scripted) -> None:
        await client.request("GET", "/a")
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle
        assert await client.request("POST", "/b", body={}) == {}
        assert scripted.connections == 2

    def script(conn: int, n: int) -> str:
        return "ok" if n == 0 else "drop"

    class ClosingAfterAnswer(Scripted):
        async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            head = await reader.readuntil(b"\r\n\r\n")
            if b"content-length: 2" in head.lower():
                await reader.readexactly(2)
            self.requests.append((self.connections - 1, head.split(b"\r\n", 1)[0]))
            writer.write(OK)
            await writer.drain()
            writer.close()

    scripted = ClosingAfterAnswer(script)

    async def main() -> None:
        url = await scripted.start()
        try:
            async with AsyncClient(config_for(url), timeout=5) as client:
                await body(client, scripted)
        finally:
            await scripted.stop()

    asyncio.run(main())


def test_expired_idle_connections_are_not_reused() -> None:
    async def body(client: AsyncClient, _s: Scripted) -> None:
        assert client._pool is not None
        client._pool.idle_timeout = 0.05
        await client.request("GET", "/a")
        await asyncio.sleep(0.1)
        await client.request("GET", "/b")
        assert client._pool.opened == 2

    run_scripted(lambda conn, n: "ok", body)


def test_pool_limit_queues_requests() -> None:
    async def body(client: AsyncClient, _s: Scripted) -> None:
        pool = client._pool
        assert pool is not None
        pool.max_connections = 2
        answers = await asyncio.gather(*(client.request("GET", f"/{i}") for i in range(10)))
        assert answers == [{}] * 10
        assert pool.opened <= 2 and pool.connections <= 2

    run_scripted(lambda conn, n: "ok", body)


def test_connection_refused_is_connection_failed() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        async with AsyncClient(config_for(f"http://127.0.0.1:{port}"), timeout=2) as c:
            with pytest.raises(ConnectionFailed, match="was refused"):
                await c.get(PODS, "x", "ns")
            with pytest.raises(ConnectionFailed, match="was refused"):
                [e async for e in c.watch(PODS, "ns")]

    asyncio.run(main())


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def mtls_stub(tmp_path: Path) -> Iterator[tuple[StubServer, dict[str, bytes]]]:
    server_pem, server_cert, server_key = _self_signed(tmp_path, "server")
    client_pem, client_cert, client_key = _self_signed(tmp_path, "client")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server_cert, server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=client_pem.decode())
    stub = StubServer(ssl_context=ctx).start()
    try:
        yield (
            stub,
            {
                "ca": server_pem,
                "cert": client_pem,
                "key": client_key.read_bytes(),
            },
        )
    finally:
        stub.stop()


def test_tls_with_cluster_ca_client_cert_and_token(
    mtls_stub: tuple[StubServer, dict[str, bytes]], tmp_path: Path
) -> None:
    stub, pem = mtls_stub
    stub.on("GET", "/api/v1/nodes/n1", Reply(200, {"kind": "Node"}))
    other_ca, _, _ = _self_signed(tmp_path, "other")
    good = ClientConfig(
        server=stub.url,
        ca_pem=pem["ca"],
        client_cert_pem=pem["cert"],
        client_key_pem=pem["key"],
        token="t0ken",
    )

    async def main() -> None:
        async with AsyncClient(good, timeout=5) as c:
            assert await c.get(NODES, "n1") == {"kind": "Node"}
            assert await c.get(NODES, "n1") == {"kind": "Node"}
            assert c._pool is not None and c._pool.opened == 1
        wrong_ca = ClientConfig(
            server=stub.url,
            ca_pem=other_ca,
            client_cert_pem=pem["cert"],
            client_key_pem=pem["key"],
        )
        async with AsyncClient(wrong_ca, timeout=5) as c:
            with pytest.raises(ConnectionFailed, match="Unable to connect"):
                await c.get(NODES, "n1")
        no_cert = ClientConfig(server=stub.url, ca_pem=pem["ca"])
        async with AsyncClient(no_cert, timeout=5) as c:
            with pytest.raises(ConnectionFailed):
                await c.get(NODES, "n1")

    asyncio.run(main())
    assert stub.requests[0].headers["authorization"] == "Bearer t0ken"
    assert stub.requests[0].headers["host"] == stub.url.split("://")[1]


def test_basic_auth_when_no_token(stub: StubServer) -> None:
    stub.on("GET", "/version", Reply(200, {"gitVersion": "v1"}))
    config = ClientConfig(server=stub.url, username="admin", password="pw")

    async def main() -> None:
        async with AsyncClient(config, timeout=5) as c:
            assert await c.request("GET", "/version") == {"gitVersion": "v1"}

    asyncio.run(main())
    assert stub.requests[0].headers["authorization"] == "Basic YWRtaW46cHc="


# --- bodies and streams through the client ------------------------------------------------------


def test_content_length_and_chunked_answers_and_errors(stub: StubServer) -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web"}}
    stub.on("GET", "/api/v1/namespaces/team/pods/web", Reply(200, pod))
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods/chunked",
        Reply(200, chunks=[b'{"kind":', b'"Pod"}']),
    )
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods/text",
        Reply(200, "plain", {"Content-Type": "text/plain"}),
    )

    async def main() -> None:
        async with AsyncClient(config_for(stub.url, namespace="team"), timeout=5) as c:
            assert await c.get(PODS, "web") == pod
            assert await c.get(PODS, "chunked") == {"kind": "Pod"}
            assert await c.get(PODS, "text") == "plain"
            with pytest.raises(errors.NotFound):
                await c.get(PODS, "missing")
            assert await c.get(PODS, "web") == pod  # still fine after an error answer

    asyncio.run(main())


def test_query_and_path_escaping(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/namespaces/team/pods", Reply(200, {"items": []}))

    async def main() -> None:
        async with AsyncClient(config_for(stub.url, namespace="team"), timeout=5) as c:
            await c.list(PODS, "team", label_selector="app in (a, b),tier!=x")

    asyncio.run(main())
    assert stub.requests[0].param("labelSelector") == "app in (a, b),tier!=x"


def test_watch_streams_events_as_they_arrive(stub: StubServer) -> None:
    release = threading.Event()
    got_first = threading.Event()

    def chunks() -> Iterator[bytes]:
        yield b'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n'
        release.wait(5)
        yield b'{"type":"MODIFIED","object":{"metadata":{"name":"a"}}}\n'

    stub.on("GET", "/api/v1/namespaces/team/pods", lambda req: Reply(200, chunks=chunks()))

    async def main() -> list[str]:
        seen: list[str] = []
        async with AsyncClient(config_for(stub.url), timeout=5) as c:
            async for etype, _ in c.watch(PODS, "team", timeout_seconds=30):
                seen.append(etype)
                if etype == "ADDED":
                    got_first.set()
                    release.set()
        return seen

    assert asyncio.run(main()) == ["ADDED", "MODIFIED"]
    assert got_first.is_set()


def test_watch_stopped_early_closes_its_connection(stub: StubServer) -> None:
    stop = threading.Event()

    def endless() -> Iterator[bytes]:
        while not stop.is_set():
            yield b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n'
            time.sleep(0.01)

    stub.on("GET", "/api/v1/namespaces/team/pods", lambda req: Reply(200, chunks=endless()))

    async def main() -> None:
        async with AsyncClient(config_for(stub.url), timeout=5) as c:
            stream = c.watch(PODS, "team")
            async for _ in stream:
                break
            await stream.aclose()
            assert c._pool is not None and c._pool.connections == 0

    try:
        asyncio.run(main())
    finally:
        stop.set()


def test_stream_read_timeout() -> None:
    # A server that sends the head of a chunked answer, then nothing.
    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = lean.ConnectionPool(lean.Endpoint.from_url(f"http://127.0.0.1:{port}"))
        try:
            resp = await pool.stream("GET", "/w", b"", read_timeout=0.1)
            assert resp.status == 200
            with pytest.raises(lean.ReadTimeout):
                [line async for line in resp.aiter_lines()]
            await resp.aclose()
            assert pool.connections == 0
        finally:
            await pool.aclose()
            server.close()

    asyncio.run(main())


def test_request_timeout_is_connection_failed() -> None:
    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with AsyncClient(config_for(f"http://127.0.0.1:{port}"), timeout=0.2) as c:
                with pytest.raises(ConnectionFailed, match="timed out"):
                    await c.request("GET", "/slow")
        finally:
            server.close()

    asyncio.run(main())


def test_endpoint_from_url() -> None:
    ep = lean.Endpoint.from_url("https://10.0.0.1:6443/prefix/")
    assert (ep.host, ep.port, ep.base_path, ep.server_hostname) == (
        "10.0.0.1",
        6443,
        "/prefix",
        "10.0.0.1",
    )
    assert ep.host_header == "10.0.0.1:6443"
    assert lean.Endpoint.from_url("http://example.com").host_header == "example.com"
    assert lean.Endpoint.from_url("https://h", server_hostname="sni").server_hostname == "sni"
    with pytest.raises(ValueError):
        lean.Endpoint.from_url("ftp://x")
    with pytest.raises(ValueError):
        lean.header_block([("X-Bad", "a\r\nInjected: 1")])


def test_request_headers_override_the_clients() -> None:
    async def main() -> None:
        async with AsyncClient(config_for("http://127.0.0.1:1", token="t")) as c:
            block = c._lean_headers({"accept": "text/plain", "Content-Type": "x/y"})
            lines = block.decode().split("\r\n")
            assert [ln for ln in lines if ln.lower().startswith("accept")] == ["accept: text/plain"]
            assert "Content-Type: x/y" in lines and "Authorization: Bearer t" in lines
            assert c._lean_headers({"accept": "text/plain", "Content-Type": "x/y"}) is block

    asyncio.run(main())


def test_client_survives_a_new_event_loop() -> None:
    scripted = Scripted(lambda conn, n: "ok")
    client: AsyncClient | None = None

    async def once() -> None:
        nonlocal client
        url = await scripted.start()
        try:
            if client is None:
                client = AsyncClient(config_for(url), timeout=5)
            assert await client.request("GET", "/x") == {}
        finally:
            await scripted.stop()

    asyncio.run(once())
    scripted.server = None

    # same port is gone; point the client at the new server, then use it on a new loop
    async def again() -> None:
        assert client is not None
        url = await scripted.start()
        client._pool.endpoint = lean.Endpoint.from_url(url)  # type: ignore[union-attr]
        try:
            assert await client.request("GET", "/y") == {}
        finally:
            await client.aclose()
            await scripted.stop()

    asyncio.run(again())
    assert scripted.connections == 2


def test_tls_under_uvloop_as_the_reconciler_and_agents_run(apiserver) -> None:  # type: ignore[no-untyped-def]
    """The processes install uvloop, whose TLS transport does not derive from
    asyncio.Transport: requests and watches must work there too."""
    import uvloop

    from kctl.client.resources import CONFIGMAPS

    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            listed = await client.list(CONFIGMAPS, "default")
            assert "items" in listed
            async for _kind, _obj in client.watch(CONFIGMAPS, "default", timeout_seconds=1):
                break

    uvloop.run(main())
