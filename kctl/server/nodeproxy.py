"""``pods/log`` and ``pods/exec``: answered by the pod's node agent, through the API server.

As in kube-apiserver (``registry/core/pod``: ``LogLocation``, ``streamLocation``), the
server does the Kubernetes part itself, then forwards:

1. validate the options (``PodLogOptions``: 422 Invalid with the apiserver's messages);
2. find the pod (404), check the container (400 ``container X is not valid for pod Y``,
   or which one to choose when there are several), and its node (400 ``pod P does not
   have a host assigned``: kube-apiserver answers an unscheduled pod's log with an
   empty 204, kctl says why);
3. connect to the node's InternalIP (ExternalIP if it has none; never the Hostname,
   which nothing here resolves) at ``status.daemonEndpoints.kubeletEndpoint.Port``,
   over TLS verifying the agent's certificate against the cluster CA
   (``insecureSkipTLSVerifyBackend=true`` skips that, as in Kubernetes) and presenting
   the API server's kubelet-client certificate;
4. relay the answer: a log is streamed through as it arrives (each chunk the agent
   flushes goes out at once, so ``-f`` shows lines as they are written), an exec
   answer (``{"stdout","stderr","exitCode"}``, see :mod:`node.server`) is returned
   whole (kubectl's streaming exec, an ``Upgrade`` to SPDY or WebSocket, is refused
   with 400 before the command runs). The agent's errors become ``Status`` as kube-apiserver's
   ``GenericHttpResponseChecker`` makes them (400 keeps the agent's text, so kubectl
   prints ``container "c" in pod "p" is waiting to start: ContainerCreating``); an
   unreachable node is a reason-less 500 (``Error from server: Get "https://...": ...``).

The caller leaving ends the relay and closes the connection to the agent, which stops
following the file.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from kctl.api import errors
from kctl.server.request import JSON, Request, Response
from kctl.server.resources import Resources, key_of

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
SendFn = Callable[[dict[str, Any]], Awaitable[None]]

DEFAULT_KUBELET_PORT = 10250
ADDRESS_TYPES = ("InternalIP", "ExternalIP")
MAX_ERROR_BODY = 50_000  # kube-apiserver reads this much of an error answer
CONNECT_TIMEOUT = 5.0
_LOG_INTS = ("sinceSeconds", "tailLines", "limitBytes")
_LOG_FLAGS = ("follow", "previous", "timestamps")
_EXEC_FLAGS = ("stdin", "stdout", "stderr", "tty")


class _Unknown(errors.InternalError):
    """A failure that is no API status (kube-apiserver's ``StatusReasonUnknown`` 500)."""

    reason = ""


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _int(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def log_query(name: str, query: dict[str, str]) -> list[tuple[str, str]]:
    """``PodLogOptions`` validated, as the query forwarded to the agent."""
    numbers = {key: _int(query, key) for key in _LOG_INTS}
    since_time = query.get("sinceTime") or ""
    causes: list[errors.Cause] = []
    tail, limit, since = numbers["tailLines"], numbers["limitBytes"], numbers["sinceSeconds"]
    if tail is not None and tail < 0:
        causes.append(
            errors.Cause("tailLines", f"Invalid value: {tail}: must be greater than or equal to 0")
        )
    if limit is not None and limit < 1:
        causes.append(errors.Cause("limitBytes", f"Invalid value: {limit}: must be greater than 0"))
    if since is not None and since_time:
        causes.append(
            errors.Cause(
                "",
                "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
                "FieldValueForbidden",
            )
        )
    elif since is not None and since < 1:
        causes.append(
            errors.Cause("sinceSeconds", f"Invalid value: {since}: must be greater than 0")
        )
    if causes:
        raise errors.invalid("PodLogOptions", "", name, causes)
    out = [(flag, "true") for flag in _LOG_FLAGS if _true(query.get(flag))]
    if since_time:
        out.append(("sinceTime", since_time))
    out += [(key, str(value)) for key, value in numbers.items() if value is not None]
    return out


def choose_container(pod: dict[str, Any], wanted: str) -> str:
    """The container a request means (kube-apiserver's ``validateContainer``)."""
    spec = pod.get("spec") or {}
    name = str((pod.get("metadata") or {}).get("name") or "")

    def names(key: str) -> list[str]:
        return [str(c.get("name")) for c in spec.get(key) or []]

    containers = names("containers")
    if wanted:
        if wanted not in (*containers, *names("initContainers"), *names("ephemeralContainers")):
            raise errors.BadRequest(f"container {wanted} is not valid for pod {name}")
        return wanted
    if len(containers) == 1:
        return containers[0]
    if not containers:
        raise errors.BadRequest(f"a container name must be specified for pod {name}")
    message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if names("initContainers"):
        message += f" or one of the init containers: [{' '.join(names('initContainers'))}]"
    if names("ephemeralContainers"):
        message += (
            f" or one of the ephemeral containers: [{' '.join(names('ephemeralContainers'))}]"
        )
    raise errors.BadRequest(message)


def node_endpoint(node: dict[str, Any]) -> tuple[str, int]:
    """The node agent's address and port, from the Node's status."""
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    port = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint", {}).get("Port") or 0
    for kind in ADDRESS_TYPES:
        for address in addresses:
            if address.get("type") == kind and address.get("address"):
                return str(address["address"]), int(port) or DEFAULT_KUBELET_PORT
    known = " ".join(f"{{{a.get('type')} {a.get('address')}}}" for a in addresses)
    raise _Unknown(f"no preferred addresses found; known addresses: [{known}]")


def upstream_error(code: int, body: bytes, resource: str, name: str) -> errors.ApiError:
    """An agent's non-2xx answer as kube-apiserver reports it."""
    text = body[:MAX_ERROR_BODY].decode("utf-8", "replace")
    if code == 400:
        return errors.BadRequest(text)
    if code == 500:
        return errors.InternalError(f"Internal error occurred: {text}")
    cls, message = {
        401: (errors.Unauthorized, "the server has asked for the client to provide credentials"),
        403: (errors.Forbidden, text),
        404: (errors.NotFound, "the server could not find the requested resource"),
        405: (
            errors.MethodNotAllowed,
            "the server does not allow this method on the requested resource",
        ),
        422: (errors.Invalid, "the server rejected our request due to an error in our request"),
        503: (errors.ServiceUnavailable, "the server is currently unable to handle the request"),
    }.get(
        code,
        (
            errors.InternalError,
            f'an error on the server ("{text}") has prevented the request from succeeding',
        ),
    )
    details = {"name": name, "kind": resource}
    return cls(f"{message} ( {resource} {name})", details)


@dataclass(frozen=True)
class KubeletClientTLS:
    """What the API server needs to call node agents (see :mod:`kctl.server.pki`)."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def context(self, verify: bool) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx


class NodeProxy:
    """Serves ``pods/log`` and ``pods/exec`` by calling the pod's node agent."""

    def __init__(self, resources: Resources, tls: KubeletClientTLS) -> None:
        self.resources = resources
        self.tls = tls
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=None)  # follows and commands take long
        self._clients = {
            verify: httpx.AsyncClient(verify=tls.context(verify), timeout=timeout)
            for verify in (True, False)
        }

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def serve(
        self,
        req: Request,
        raw_query: bytes,
        receive: Receive,
        send: SendFn,
        upgrade: str | None = None,
    ) -> Response | None:
        """Answer ``req`` (a pods/log or pods/exec request); None when it was streamed.
        ``upgrade``: the request's Upgrade header (kubectl's streaming exec asks for
        SPDY or WebSocket, which are not served: refused before anything runs)."""
        target = req.target
        name = target.name
        query = log_query(name, req.query) if target.subresource == "log" else []
        await self.resources.fresh()
        pod = self._object("pods", target.namespace, name)
        container = choose_container(pod, req.query.get("container", ""))
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if not node_name:
            raise errors.BadRequest(f"pod {name} does not have a host assigned")
        host, port = node_endpoint(self._object("nodes", "", node_name))
        base = f"https://{_host(host)}:{port}"
        path = f"{target.namespace}/{name}/{container}"
        verify = not _true(req.query.get("insecureSkipTLSVerifyBackend"))
        client = self._clients[verify]
        if target.subresource == "exec":
            if upgrade:
                raise errors.BadRequest(
                    f"exec over {upgrade} is not supported: this API server runs commands "
                    "in request/response form only (use kctl exec)"
                )
            pairs = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
            forwarded = [(k, v) for k, v in pairs if k == "command"]
            forwarded += [(k, "true") for k, v in pairs if k in _EXEC_FLAGS and _true(v)]
            url = f"{base}/exec/{path}?{urlencode(forwarded)}"
            return await self._exec(client, url, req.body, name)
        url = f"{base}/containerLogs/{path}" + (f"?{urlencode(query)}" if query else "")
        await self._relay_log(client, url, name, receive, send)
        return None

    def _object(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        info = self.resources.registry.by_resource(resource)
        assert info is not None
        entry = self.resources.store.get(key_of(info, namespace, name))
        if entry is None:
            raise errors.not_found(info.plural, info.group, name)
        return entry.object()

    async def _exec(self, client: httpx.AsyncClient, url: str, body: bytes, name: str) -> Response:
        headers = {"Content-Type": JSON} if body else {}
        try:
            resp = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error("Post", url, exc) from None
        if resp.status_code != 200:
            raise upstream_error(resp.status_code, resp.content, "pods/exec", name)
        return Response(200, resp.content, JSON)

    async def _relay_log(
        self, client: httpx.AsyncClient, url: str, name: str, receive: Receive, send: SendFn
    ) -> None:
        try:
            async with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    body = await _read_some(resp)
                    raise upstream_error(resp.status_code, body, "pods/log", name)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await _pump(resp, receive, send)
        except httpx.HTTPError as exc:
            raise _transport_error("Get", url, exc) from None


async def _read_some(resp: httpx.Response) -> bytes:
    body = b""
    async for chunk in resp.aiter_raw():
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return body


async def _pump(resp: httpx.Response, receive: Receive, send: SendFn) -> None:
    """Relay the body chunk by chunk until it ends or the caller disconnects."""
    closed = asyncio.Event()

    async def wait_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        closed.set()

    async def relay() -> None:
        async for chunk in resp.aiter_raw():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

    watcher = asyncio.ensure_future(wait_disconnect())
    relayer = asyncio.ensure_future(relay())
    try:
        await asyncio.wait({watcher, relayer}, return_when=asyncio.FIRST_COMPLETED)
        if relayer.done() and relayer.exception() is not None:
            log.info("relaying a log ended early: %s", relayer.exception())
    finally:
        for task in (watcher, relayer):
            task.cancel()
        await asyncio.gather(watcher, relayer, return_exceptions=True)
        if not closed.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _transport_error(method: str, url: str, exc: Exception) -> errors.ApiError:
    """Go's wording where the cause is a common one (kubectl users know these)."""
    host = urlsplit(url).netloc
    why = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            why = f"dial tcp {host}: connect: connection refused"
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = f"tls: failed to verify certificate: {cause.verify_message}"
            break
        if isinstance(cause, (httpx.ConnectTimeout, TimeoutError)):
            why = f"dial tcp {host}: i/o timeout"
            break
        cause = cause.__cause__ or cause.__context__
    return _Unknown(f'{method} "{url}": {why}')
