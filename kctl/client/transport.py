"""A lean HTTP/1.1 keep-alive client transport on asyncio (TLS via the ssl module).

Why not httpx for the hot path: a scheduler issues hundreds of small API calls a second
from one event loop, and httpx/httpcore spent ~2.5 ms of CPU on each (a connection pool
that rescans every connection per waiting request, anyio stream wrappers, several
socket writes per request). The API server speaks plain HTTP/1.1 with ``Content-Length``
or chunked bodies, so the client side needs little:

* **One protocol object per connection, parsing in ``data_received``.** A request is
  written with one ``transport.write`` (head and body together: one TLS record, one
  syscall) and its future is resolved by the parser as soon as the last byte arrives;
  no task, no stream wrapper, no per-request timer task (a ``call_later`` handle).
* **O(1) pool.** Idle connections are a stack (the warmest is reused first); a request
  that finds none and the pool at its limit waits in a FIFO and is handed the next
  released connection directly. Idle connections expire after ``idle_timeout`` (below
  the usual server keep-alive of 5 s), so a request rarely meets a connection the
  server is closing.
* **Retry only what is safe.** A request on a *reused* connection that is lost before
  any byte of the answer arrived is sent again once on a new connection, for
  idempotent methods only (GET, HEAD, PUT, DELETE, OPTIONS); a POST or PATCH fails
  with :class:`ConnectionLost` rather than risk being applied twice.
* **Streams** (watches, followed logs) use the same connection class: the body is
  delivered chunk by chunk (reading pauses when the consumer falls 1 MiB behind), with
  a per-read timeout; a stream left early closes its connection.

Errors are this module's own (:class:`TransportError` and subclasses); the client maps
them to :class:`kctl.client.http.ConnectionFailed`.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_HEAD_BYTES = 64 * 1024
STREAM_HIGH_WATER = 1 << 20  # pause reading a stream when this much is unconsumed


class TransportError(Exception):
    """No (complete) HTTP answer: the connection could not be made or broke."""


class ConnectError(TransportError):
    """The connection could not be established (``refused`` when the port said no)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class ConnectionLost(TransportError):
    """The connection closed or broke before the answer was complete."""


class ReadTimeout(TransportError):
    """The server sent nothing for the read timeout."""


class ProtocolError(TransportError):
    """The server's bytes are not an HTTP/1.1 response."""


@dataclass(frozen=True)
class Endpoint:
    """Where the server is and how to talk to it."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    server_hostname: str | None = None  # SNI and certificate name (default: host)
    base_path: str = ""  # a path prefix from the server URL

    @classmethod
    def from_url(
        cls, url: str, ssl_context: ssl.SSLContext | None = None, server_hostname: str | None = None
    ) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        if tls and ssl_context is None:
            ssl_context = ssl.create_default_context()
        return cls(
            host=parts.hostname,
            port=parts.port or (443 if tls else 80),
            tls=ssl_context if tls else None,
            server_hostname=(server_hostname or parts.hostname) if tls else None,
            base_path=parts.path.rstrip("/"),
        )

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls is not None else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def header_list(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


# --- response parsing ----------------------------------------------------------------------

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class _Sink:
    """What a parser reports to."""

    def on_head(self, status: int, headers: list[tuple[str, str]]) -> None: ...
    def on_body(self, data: bytes) -> None: ...
    def on_complete(self, keep_alive: bool) -> None: ...


class ResponseParser:
    """Incremental HTTP/1.1 response parser: head, then a body by ``Content-Length``,
    chunked encoding, or until the connection closes. 1xx interim answers are skipped."""

    def __init__(self, sink: _Sink, *, head_request: bool = False) -> None:
        self.sink = sink
        self.head_request = head_request
        self.state = _HEAD
        self.buf = b""
        self.remaining = 0
        self.keep_alive = True

    @property
    def done(self) -> bool:
        return self.state == _DONE

    def feed(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        self.buf = b""
        while buf and self.state != _DONE:
            rest = self._step(buf)
            if rest is None:
                return
            buf = rest
        if buf and self.state == _DONE:
            raise ProtocolError("the server sent data after the response")

    def feed_eof(self) -> None:
        if self.state == _UNTIL_CLOSE:
            self.state = _DONE
            self.sink.on_complete(False)
        elif self.state != _DONE:
            raise ConnectionLost("the server closed the connection before the response ended")

    def _step(self, buf: bytes) -> bytes | None:
        """Consume what it can of ``buf``; return the rest, or None when more is needed
        (what is left is kept)."""
        state = self.state
        if state == _HEAD:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise ProtocolError("response head too large")
                self.buf = buf
                return None
            self._head(buf[:end])
            return buf[end + 4 :]
        if state == _LENGTH:
            if len(buf) < self.remaining:
                self.remaining -= len(buf)
                self.sink.on_body(buf)
                return b""
            body, rest = buf[: self.remaining], buf[self.remaining :]
            if body:
                self.sink.on_body(body)
            self._complete()
            return rest
        if state == _CHUNK_SIZE:
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 1024:
                    raise ProtocolError("bad chunk size line")
                self.buf = buf
                return None
            try:
                size = int(buf[:end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {buf[:end][:40]!r}") from None
            if size < 0:
                raise ProtocolError("negative chunk size")
            self.state, self.remaining = (_CHUNK_DATA, size) if size else (_TRAILERS, 0)
            return buf[end + 2 :]
        if state == _CHUNK_DATA:
            if len(buf) < self.remaining:
                self.remaining -= len(buf)
                self.sink.on_body(buf)
                return b""
            body, rest = buf[: self.remaining], buf[self.remaining :]
            self.sink.on_body(body)
            self.state = _CHUNK_END
            return rest
        if state == _CHUNK_END:
            if len(buf) < 2:
                self.buf = buf
                return None
            if buf[:2] != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")
            self.state = _CHUNK_SIZE
            return buf[2:]
        if state == _TRAILERS:
            end = buf.find(b"\r\n")
            if end < 0:
                self.buf = buf
                return None
            if end == 0:
                self._complete()
            return buf[end + 2 :]  # a trailer line: ignored
        if state == _UNTIL_CLOSE:
            self.sink.on_body(buf)
            return b""
        raise ProtocolError("the server sent data after the response")

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        connection = ""
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line[:80]!r}")
            name, value = name.strip().lower(), value.strip()
            headers.append((name, value))
            if name == "content-length":
                if not value.isdigit():
                    raise ProtocolError(f"bad Content-Length {value!r}")
                length = int(value)
            elif name == "transfer-encoding":
                chunked = value.lower().endswith("chunked")
            elif name == "connection":
                connection = value.lower()
        if 100 <= status < 200 and status != 101:
            return  # interim answer; the real head follows
        if version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in connection
        else:
            self.keep_alive = "close" not in connection
        self.sink.on_head(status, headers)
        if self.head_request or status in (204, 304):
            self._complete()
        elif chunked:
            self.state = _CHUNK_SIZE
        elif length is not None:
            self.remaining = length
            self.state = _LENGTH
            if length == 0:
                self._complete()
        else:
            self.keep_alive = False
            self.state = _UNTIL_CLOSE

    def _complete(self) -> None:
        self.state = _DONE
        self.sink.on_complete(self.keep_alive)


# --- one connection ----------------------------------------------------------------------


class _Exchange(_Sink):
    """One request's answer on a connection: collected whole (``stream`` False) or handed
    out chunk by chunk."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop, stream: bool) -> None:
        self.conn = conn
        self.loop = loop
        self.stream = stream
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.parts: list[bytes] = []
        self.buffered = 0
        self.started = False  # any byte of the answer arrived
        self.complete = False
        self.keep_alive = False
        self.error: BaseException | None = None
        self.head_future: asyncio.Future[None] = loop.create_future()  # head (stream) or all
        self.waiter: asyncio.Future[None] | None = None  # a stream reader waiting for data

    def on_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.status, self.headers = status, headers
        if self.stream and not self.head_future.done():
            self.head_future.set_result(None)

    def on_body(self, data: bytes) -> None:
        self.parts.append(data)
        if self.stream:
            self.buffered += len(data)
            if self.buffered > STREAM_HIGH_WATER:
                self.conn.pause_reading()
            self._wake()

    def on_complete(self, keep_alive: bool) -> None:
        self.complete, self.keep_alive = True, keep_alive
        if not self.head_future.done():
            self.head_future.set_result(None)
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if self.complete or self.error is not None:
            return
        self.error = exc
        if not self.head_future.done():
            self.head_future.set_exception(exc)
            self.head_future.exception()  # retrieved: the awaiting side may be gone
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        if self.buffered > STREAM_HIGH_WATER:
            self.conn.resume_reading()
        self.buffered = 0
        return data


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0  # answered requests on this connection
        self.idle_since = 0.0
        self._parser: ResponseParser | None = None
        self._exchange: _Exchange | None = None
        self._paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's TLS transport has the Transport methods
        # without deriving from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser, exchange = self._parser, self._exchange
        if parser is None or exchange is None:
            self.close()  # unsolicited bytes: the connection cannot be trusted
            return
        exchange.started = True
        try:
            parser.feed(data)
        except TransportError as exc:
            exchange.fail(exc)
            self.close()
            return
        if parser.done:
            self._parser = None

    def eof_received(self) -> bool | None:
        self._eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof(exc)

    def _eof(self, exc: BaseException | None = None) -> None:
        parser, exchange = self._parser, self._exchange
        self._parser = None
        if parser is not None and exchange is not None:
            try:
                parser.feed_eof()
            except TransportError as err:
                if exc is not None:
                    err.__cause__ = exc
                exchange.fail(err)
        self.close()

    # used by the pool and the exchange
    def send(self, data: bytes, *, stream: bool, head_request: bool) -> _Exchange:
        assert self.transport is not None and not self.closed
        exchange = _Exchange(self, self.loop, stream)
        self._exchange = exchange
        self._parser = ResponseParser(exchange, head_request=head_request)
        self.transport.write(data)
        return exchange

    def finish(self) -> None:
        self._exchange = None
        self.requests += 1
        self.idle_since = time.monotonic()

    def pause_reading(self) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


# --- the pool ------------------------------------------------------------------------------


class ConnectionPool:
    """Keep-alive connections to one :class:`Endpoint`, shared by every request of a
    client on one event loop."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        max_connections: int = 100,
        max_idle: int = 100,
        idle_timeout: float = 4.0,
        connect_timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.max_connections = max(1, max_connections)
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.connections = 0  # open or opening
        self.opened = 0  # ever opened (tests, stats)
        self._idle: list[Connection] = []
        self._waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()
        self._closed = False

    # -- requests ---------------------------------------------------------------------------

    async def request(
        self, method: str, target: str, headers: bytes, body: bytes | None, timeout: float | None
    ) -> Response:
        """Send one request and return the whole answer. ``headers``: header lines,
        each ending in CRLF (``Host`` and ``Content-Length`` are added here)."""
        data = self._encode(method, target, headers, body)
        conn, exchange = await self._send(method, data, stream=False, timeout=timeout)
        self._release(conn, exchange.keep_alive)
        return Response(exchange.status, exchange.headers, b"".join(exchange.parts))

    async def stream(
        self, method: str, target: str, headers: bytes, read_timeout: float | None
    ) -> StreamResponse:
        """Send a request and return once the answer's head is in; read the body from
        the :class:`StreamResponse`, then ``aclose`` it."""
        data = self._encode(method, target, headers, None)
        conn, exchange = await self._send(method, data, stream=True, timeout=read_timeout)
        return StreamResponse(self, conn, exchange, read_timeout)

    async def _send(
        self, method: str, data: bytes, *, stream: bool, timeout: float | None
    ) -> tuple[Connection, _Exchange]:
        """Send ``data`` on a pooled connection and wait for the answer's head (the
        whole answer unless ``stream``). An idempotent request is sent again, once, when
        a reused connection turns out closed before any byte of the answer came."""
        retry = method in IDEMPOTENT
        while True:
            conn = await self._acquire()
            reused = conn.requests > 0
            try:
                exchange = conn.send(data, stream=stream, head_request=method == "HEAD")
                await _wait(exchange.head_future, timeout, conn.loop)
            except ConnectionLost:
                self._discard(conn)
                if retry and reused and not exchange.started:
                    retry = False  # once: the server closed an idle connection under us
                    continue
                raise
            except BaseException:
                self._discard(conn)
                raise
            return conn, exchange

    def _encode(self, method: str, target: str, headers: bytes, body: bytes | None) -> bytes:
        ep = self.endpoint
        head = f"{method} {ep.base_path}{target} HTTP/1.1\r\nHost: {ep.host_header}\r\n"
        if body is not None:
            length = f"Content-Length: {len(body)}\r\n"
        elif method in ("POST", "PUT", "PATCH"):
            length = "Content-Length: 0\r\n"
        else:
            length = ""
        out = (head + length).encode("latin-1") + headers + b"\r\n"
        return out + body if body else out

    # -- connections ------------------------------------------------------------------------

    async def _acquire(self) -> Connection:
        if self._closed:
            raise ConnectionLost("the client is closed")
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        idle = self._idle
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_timeout and conn.loop is loop:
                return conn
            self._discard(conn)  # dead, stale, or made on another (finished) event loop
        if self.connections < self.max_connections:
            return await self._connect()
        fut: asyncio.Future[Connection | None] = loop.create_future()
        self._waiters.append(fut)
        try:
            handed = await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                late = fut.result()
                if late is not None:
                    self._release(late, True)
                else:
                    self._wake_one()  # pass the free slot on
            raise
        if handed is None:  # a slot was freed for us: open a connection
            return await self._connect()
        return handed

    async def _connect(self) -> Connection:
        self.connections += 1
        loop = asyncio.get_running_loop()
        ep = self.endpoint
        conn = Connection(loop)
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: conn, ep.host, ep.port, ssl=ep.tls, server_hostname=ep.server_hostname
                ),
                self.connect_timeout,
            )
        except BaseException as exc:
            self.connections -= 1
            self._wake_one()
            if isinstance(exc, ConnectionRefusedError):
                raise ConnectError(str(exc), refused=True) from exc
            if isinstance(exc, TimeoutError):
                raise ConnectError("timed out connecting to the server") from exc
            if isinstance(exc, OSError):  # ssl.SSLError is an OSError
                raise ConnectError(str(exc) or type(exc).__name__) from exc
            raise
        self.opened += 1
        return conn

    def _release(self, conn: Connection, reusable: bool) -> None:
        if self._closed or not reusable or conn.closed:
            self._discard(conn)
            return
        conn.finish()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        if len(self._idle) >= self.max_idle:
            self._discard(conn)
            return
        self._idle.append(conn)

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self.connections -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            self.connections -= 1
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(ConnectionLost("the client is closed"))
                fut.exception()
        await asyncio.sleep(0)  # let the transports close


class StreamResponse:
    """An answer whose body is read as it arrives."""

    def __init__(
        self,
        pool: ConnectionPool,
        conn: Connection,
        exchange: _Exchange,
        read_timeout: float | None,
    ) -> None:
        self.status = exchange.status
        self.headers = exchange.headers
        self._pool = pool
        self._conn = conn
        self._exchange = exchange
        self._timeout = read_timeout
        self._released = False

    def header(self, name: str, default: str = "") -> str:
        return Response(self.status, self.headers, b"").header(name, default)

    def header_list(self, name: str) -> list[str]:
        return Response(self.status, self.headers, b"").header_list(name)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        ex = self._exchange
        while True:
            if ex.parts:
                yield ex.take()
                continue
            if ex.error is not None:
                raise ex.error
            if ex.complete:
                return
            ex.waiter = ex.loop.create_future()
            try:
                await _wait(ex.waiter, self._timeout, ex.loop)
            finally:
                ex.waiter = None

    async def aiter_lines(self) -> AsyncIterator[str]:
        """Lines without their ``\\n`` (or ``\\r\\n``); a last line without one too."""
        pending = b""
        async for data in self.aiter_bytes():
            pending += data
            if b"\n" not in data:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        if pending:
            yield pending.rstrip(b"\r").decode("utf-8", "replace")

    async def aread(self) -> bytes:
        return b"".join([part async for part in self.aiter_bytes()])

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        ex = self._exchange
        if ex.complete and ex.error is None:
            self._pool._release(self._conn, ex.keep_alive)
        else:
            self._pool._discard(self._conn)  # left early: the rest of the body is unread


async def _wait(
    fut: asyncio.Future[Any], timeout: float | None, loop: asyncio.AbstractEventLoop
) -> None:
    """Await ``fut`` (a future, not a task: nothing to cancel) for at most ``timeout``."""
    if fut.done() or timeout is None:
        await fut
        return
    handle = loop.call_later(timeout, _expire, fut)
    try:
        await fut
    finally:
        handle.cancel()


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(ReadTimeout("timed out waiting for the server"))
        fut.exception()


def header_block(headers: Sequence[tuple[str, str]]) -> bytes:
    """Header lines (``Name: value\\r\\n`` each) for :meth:`ConnectionPool.request`."""
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} contains a line break")
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1")


__all__ = [
    "ConnectError",
    "Connection",
    "ConnectionLost",
    "ConnectionPool",
    "Endpoint",
    "ProtocolError",
    "ReadTimeout",
    "Response",
    "ResponseParser",
    "StreamResponse",
    "TransportError",
    "header_block",
]
