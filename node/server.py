"""The node agent's HTTPS endpoint: container logs and exec for the API server.

kube-apiserver answers ``pods/log`` and ``pods/exec`` by calling the pod's kubelet on
``https://<InternalIP>:<kubeletEndpoint port>``; this is that endpoint (default port
10250, ``--agent-port``), with the kubelet's paths:

    GET  /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&tailLines=
         &sinceSeconds=&sinceTime=&timestamps=&limitBytes=
         200 text/plain, chunked, flushed per read (the log as it grows with follow)
    POST /exec/{namespace}/{pod}/{container}?command=A&command=B...
         200 application/json {"stdout": "...", "stderr": "...", "exitCode": N}

Exec is a request/response form (CRI ``ExecSync``: no stdin, no TTY, output returned
when the command ends), not the kubelet's SPDY/WebSocket streams; ``kctl exec`` uses
it through the API server. Errors are plain text with the kubelet's status codes and
messages (404 unknown pod or container, 400 when the container has no log or is not
running, 500 when the runtime fails), which the API server turns into ``Status``.

Who may call: TLS with a serving certificate issued by the cluster CA, and a client
certificate that the same CA signed for ``kube-apiserver-kubelet-client`` (the API
server's, see :mod:`kctl.server.pki`); no certificate is 401, another identity 403
(the kubelet's ``Forbidden (user=..., verb=..., resource=nodes, subresource=proxy)``).
A certificate from another CA fails the TLS handshake.

Pods come from the agent's pod informer (namespace/name -> uid and status), the
containers' logs and commands from the node's runtime. One request per connection
(``Connection: close``): the API server opens one per proxied call, and this keeps
the HTTP handling to a few lines over ``asyncio`` streams.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from node.logs import LogOptions, exec_problem, log_problem, parse_time_ns, read_log, runs_again

log = logging.getLogger(__name__)

DEFAULT_PORT = 10250
APISERVER_USER = "kube-apiserver-kubelet-client"
CERT_FILE = "kubelet.crt"  # under the agent's data dir when no --tls-cert-file is given
KEY_FILE = "kubelet.key"
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
HEAD_TIMEOUT = 30.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}

Pod = dict[str, Any]


class LogsExecRuntime(Protocol):
    """What this endpoint needs of a node's runtime (part of :class:`node.runtime.base.Runtime`)."""

    async def exec_sync(
        self, pod_uid: str, container: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes, bytes]: ...

    def container_log_path(
        self, pod_uid: str, container: str, previous: bool = False
    ) -> Path | None: ...


class PodCache(Protocol):
    def get(self, key: str) -> Any: ...


class PodSource(Protocol):
    """An informer of pods (only its cache is read)."""

    @property
    def store(self) -> PodCache: ...


@dataclass(frozen=True)
class AgentTLS:
    """The endpoint's certificate and the CA its callers' certificates must chain to."""

    cert_file: Path
    key_file: Path
    client_ca_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        ctx.load_verify_locations(cadata=self.client_ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL  # no certificate: an HTTP 401, not a TLS error
        return ctx


def load_agent_tls(
    cert_file: str | Path | None,
    key_file: str | Path | None,
    client_ca_pem: bytes | None,
    data_dir: str | Path | None = None,
) -> AgentTLS | None:
    """The TLS settings from ``--tls-cert-file``/``--tls-private-key-file`` (else
    ``DATA_DIR/kubelet.crt|key``) and the cluster CA (the kubeconfig's, or
    ``--client-ca-file``); None, with one log line saying why, when something is missing."""
    if cert_file is None and key_file is None and data_dir is not None:
        cert_file, key_file = Path(data_dir) / CERT_FILE, Path(data_dir) / KEY_FILE
    missing = [str(p) for p in (cert_file, key_file) if p is None or not Path(p).is_file()]
    if cert_file is None or key_file is None or missing:
        where = ", ".join(missing) or "--tls-cert-file/--tls-private-key-file"
        log.warning(
            "no serving certificate (%s): logs and exec are unavailable on this node; "
            "get one with `kctl kubeconfig create-node NAME --node-ip IP`",
            where,
        )
        return None
    if not client_ca_pem:
        log.warning(
            "no cluster CA to check the API server's certificate against (the kubeconfig "
            "has none; give --client-ca-file): logs and exec are unavailable on this node"
        )
        return None
    return AgentTLS(Path(cert_file), Path(key_file), client_ca_pem)


class HttpError(Exception):
    """An answer other than 200: status code and plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    user: str = ""  # the client certificate's CN

    def flag(self, name: str) -> bool:
        return (self.query.get(name) or [""])[-1].lower() in ("true", "1")

    def number(self, name: str) -> int | None:
        values = self.query.get(name)
        if not values:
            return None
        try:
            return int(values[-1])
        except ValueError:
            raise HttpError(400, f"invalid value for {name}: {values[-1]!r}") from None


async def read_request(reader: asyncio.StreamReader) -> HttpRequest:
    """One HTTP/1.1 request: the head, then a Content-Length body."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
    except asyncio.LimitOverrunError:
        raise HttpError(400, "request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise HttpError(400, "malformed request line") from None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY:
        raise HttpError(413, "request body too large")
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    return HttpRequest(method, url.path, parse_qs(url.query, keep_blank_values=True), headers, body)


def _cert_user(writer: asyncio.StreamWriter) -> str | None:
    """The verified client certificate's CN, or None without a certificate."""
    cert = writer.get_extra_info("peercert")
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""


async def _write_head(
    writer: asyncio.StreamWriter, status: int, content_type: str, length: int | None
) -> None:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    writer.write(
        (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    await writer.drain()


async def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str
) -> None:
    await _write_head(writer, status, content_type, len(body))
    writer.write(body)
    await writer.drain()


@dataclass
class AgentApi:
    """The endpoint's request handling (no sockets: :func:`serve_agent_api` adds those)."""

    runtime_for: Callable[[str], LogsExecRuntime | None]  # node name -> its runtime (ours)
    pods: PodSource
    exec_timeout: float = 0.0  # seconds; 0: the command runs as long as it takes
    poll: float = 0.1  # seconds between looks at an idle followed log
    clock: Callable[[], float] = time.time
    _connections: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: one request, one answer."""
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass
        except Exception:
            log.exception("agent endpoint: request failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            self._authenticate(request, writer)
            stream = await self._route(request)
        except HttpError as err:
            await _respond(writer, err.status, str(err).encode(), "text/plain; charset=utf-8")
            return
        if isinstance(stream, bytes):
            await _respond(writer, 200, stream, "application/json")
            return
        await self._stream(reader, writer, stream)

    def _authenticate(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        user = _cert_user(writer)
        if user is None:
            raise HttpError(401, "Unauthorized")
        if user != APISERVER_USER:
            verb = {"GET": "get", "POST": "create"}.get(request.method, request.method.lower())
            raise HttpError(
                403,
                f"Forbidden (user={user}, verb={verb}, resource=nodes, subresource=proxy)",
            )
        request.user = user

    async def _route(self, request: HttpRequest) -> bytes | AsyncIterator[bytes]:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if len(parts) != 4 or parts[0] not in ("containerLogs", "exec") or not all(parts):
            raise HttpError(404, "404 page not found")
        kind, namespace, name, container = parts
        wanted = "GET" if kind == "containerLogs" else "POST"
        if request.method != wanted:
            raise HttpError(405, f"{request.method} is not allowed on /{kind}")
        pod, runtime = self._pod(namespace, name)
        if not any(c.get("name") == container for c in _containers(pod)):
            raise HttpError(404, f'container "{container}" not found in pod "{name}"')
        if kind == "exec":
            return await self._exec(request, pod, runtime, container)
        return self._logs(request, pod, runtime, container)

    def _pod(self, namespace: str, name: str) -> tuple[Pod, LogsExecRuntime]:
        pod = self.pods.store.get(f"{namespace}/{name}")
        runtime = None
        if pod is not None:
            runtime = self.runtime_for(str((pod.get("spec") or {}).get("nodeName") or ""))
        if pod is None or runtime is None:
            raise HttpError(404, f'pod "{name}" does not exist')
        return pod, runtime

    # --- logs ----------------------------------------------------------------------------

    def _log_options(self, request: HttpRequest) -> LogOptions:
        tail = request.number("tailLines")
        limit = request.number("limitBytes")
        since_seconds = request.number("sinceSeconds")
        since_time = (request.query.get("sinceTime") or [""])[-1]
        if (
            (tail is not None and tail < 0)
            or (limit is not None and limit < 1)
            or (since_seconds is not None and (since_seconds < 1 or since_time))
        ):
            raise HttpError(422, '{"message": "Invalid request."}')
        since_ns = None
        if since_seconds is not None:
            since_ns = int((self.clock() - since_seconds) * 1_000_000_000)
        elif since_time:
            try:
                since_ns = parse_time_ns(since_time)
            except ValueError:
                raise HttpError(400, '{"message": "Unable to decode query."}') from None
        return LogOptions(
            follow=request.flag("follow"),
            tail_lines=tail,
            since_ns=since_ns,
            timestamps=request.flag("timestamps"),
            limit_bytes=limit,
        )

    def _logs(
        self, request: HttpRequest, pod: Pod, runtime: LogsExecRuntime, container: str
    ) -> AsyncIterator[bytes]:
        opts = self._log_options(request)
        previous = request.flag("previous")
        problem = log_problem(pod, container, previous)
        if problem:
            raise HttpError(400, problem)
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        path = runtime.container_log_path(uid, container, previous)
        if path is None or not path.is_file():
            raise HttpError(
                400,
                f'failed to open log file of container "{container}" in pod "{meta.get("name")}"'
                + (f": {path} does not exist" if path is not None else ""),
            )
        key = f"{meta.get('namespace')}/{meta.get('name')}"

        def alive() -> bool:
            current = self.pods.store.get(key)
            if current is None or (current.get("metadata") or {}).get("uid") != uid:
                return False
            return not previous and runs_again(current, container)

        return read_log(path, opts, alive=alive, poll=self.poll)

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        chunks: AsyncIterator[bytes],
    ) -> None:
        """Chunked transfer of ``chunks``; ends early when the caller hangs up."""
        await _write_head(writer, 200, "text/plain", None)

        async def pump() -> None:
            async for chunk in chunks:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

        sender = asyncio.ensure_future(pump())
        hangup = asyncio.ensure_future(reader.read(1))  # EOF: the caller went away
        try:
            await asyncio.wait({sender, hangup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hangup.cancel()
            if not sender.done():
                sender.cancel()
            await asyncio.gather(sender, hangup, return_exceptions=True)
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    # --- exec ------------------------------------------------------------------------------

    async def _exec(
        self, request: HttpRequest, pod: Pod, runtime: LogsExecRuntime, container: str
    ) -> bytes:
        command = request.query.get("command") or []
        if not command:
            raise HttpError(400, "you must specify at least one command for the container")
        if _stdin_of(request.body):
            raise HttpError(
                400,
                "stdin is not supported: commands run through the runtime's ExecSync, "
                "which takes no input",
            )
        problem = exec_problem(pod, container)
        if problem:
            raise HttpError(400, problem)
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        try:
            code, out, err = await runtime.exec_sync(uid, container, command, self.exec_timeout)
        except Exception as exc:  # the runtime's failure, reported to the caller
            raise HttpError(500, str(exc) or type(exc).__name__) from None
        return orjson.dumps(
            {
                "stdout": out.decode("utf-8", "replace"),
                "stderr": err.decode("utf-8", "replace"),
                "exitCode": code,
            }
        )

    async def close_connections(self) -> None:
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)


def _containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = pod.get("spec") or {}
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]


def _stdin_of(body: bytes) -> str:
    if not body.strip():
        return ""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HttpError(400, "the request body is not valid JSON") from None
    return str(value.get("stdin") or "") if isinstance(value, dict) else ""


async def serve_agent_api(
    runtime_for: Callable[[str], LogsExecRuntime | None],
    pods: PodSource,
    bind: str,
    port: int,
    tls: AgentTLS | None,
    *,
    exec_timeout: float = 0.0,
    started: asyncio.Event | None = None,
) -> None:
    """Serve the endpoint on ``bind:port`` until cancelled (then close open streams).
    Without ``tls`` (:func:`load_agent_tls` has said why) there is nothing to serve."""
    if tls is None:
        return
    api = AgentApi(runtime_for, pods, exec_timeout=exec_timeout)
    try:
        server = await asyncio.start_server(
            api.handle, bind, port, ssl=tls.server_context(), limit=MAX_HEAD
        )
    except OSError as exc:
        log.error("agent endpoint: cannot listen on %s:%d: %s", bind, port, exc)
        raise
    log.info("agent endpoint (logs, exec) serving on https://%s:%d", bind, port)
    if started is not None:
        started.set()
    try:
        async with server:
            await server.serve_forever()
    finally:
        await api.close_connections()
