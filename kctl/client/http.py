"""The Kubernetes REST client every kctl component uses (CLI, reconciler, node agent).

Design:

* **Every verb written once, two senders.** :class:`RequestSpec` is a plain description
  of an HTTP call (method, path, query, headers, body). Each verb (get/list/create/
  replace/patch/delete/delete_collection/request) is written once, in :class:`_Verbs`,
  as "build a spec, return ``self._run(spec)``"; ``watch``/``stream_lines`` likewise
  build a :class:`StreamSpec` (the request, a per-line parser, the timeout rule) and
  return ``self._stream(stream)``. What a call gives back is the subclass's hook, and
  the class's type parameters say so for the type checker:

  - :class:`RequestBuilder` (``_Verbs[RequestSpec, ...]``): returns the spec, no I/O;
  - :class:`Client` (``_Verbs[Any, Generator[...], ...]``): sends on ``httpx.Client``
    and returns the decoded answer; streams are generators;
  - :class:`AsyncClient` (``_Verbs[Awaitable[Any], AsyncGenerator[...], ...]``):
    ``_run`` is ``async def``, so every verb returns a coroutine for the same answer;
    streams are async generators.

  :class:`_BaseClient` holds what the two clients share beyond the verbs: construction
  (``_open`` makes the httpx client), ``from_kubeconfig``, the httpx arguments of a send
  and the handling of its response (warnings, decoding, error mapping). The only code
  written per client is the part that has to ``await`` or not: one ``request`` call,
  one streamed response loop (``iter_lines`` vs ``aiter_lines``), and closing.
* **Kubernetes errors stay Kubernetes errors.** A non-2xx answer becomes the
  :mod:`kctl.api.errors` type its ``Status`` names (``NotFound``, ``Conflict``,
  ``Gone``...), so callers catch the same classes the server raises. Transport
  failures (refused, TLS, timeouts) become :class:`ConnectionFailed`; no httpx
  exception escapes this module.
* **Namespaces as kubectl uses them.** For reads/writes of one object, ``namespace=None``
  means the object's ``metadata.namespace`` (writes) or the kubeconfig context's
  namespace. For ``list``/``watch``/``delete_collection``, ``None`` means all namespaces
  (the cluster-wide path), as in client-go. Cluster-scoped kinds ignore the namespace.
* **Streams start lazily.** Watches are streamed NDJSON; an ``ERROR`` event raises
  (410 -> :class:`Gone`, so informers know to relist), and ``timeoutSeconds`` ends the
  stream normally (so does a read timeout past it plus :data:`WATCH_SLACK`). A stream's
  request is built and sent on the first ``next``, as from a generator function.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx
import orjson

from kctl.api import errors
from kctl.client import transport as lean
from kctl.client.kubeconfig import ClientConfig, load_client_config

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

log = logging.getLogger(__name__)

USER_AGENT = "kctl/0.1.0"
DEFAULT_TIMEOUT = 30.0
WATCH_SLACK = 10.0  # seconds past timeoutSeconds before the client gives up on the server
MAX_CONNECTIONS = 100

PATCH_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

# kubectl's wording when the server's error body is not a Status.
_GENERIC_MESSAGES = {
    400: "the server rejected our request for an unknown reason",
    401: "Unauthorized",
    403: "Forbidden",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    410: "the resource has expired",
    415: "the server does not support the media type sent",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted",
}


class ConnectionFailed(Exception):
    """The API server could not be reached or the connection broke (no HTTP answer)."""

    def __init__(self, message: str, server: str = "") -> None:
        super().__init__(message)
        self.server = server


# --- request building (shared) ---------------------------------------------------------


@dataclass
class RequestSpec:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


ItemT = TypeVar("ItemT")
WatchEvent = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class StreamSpec(Generic[ItemT]):
    """A streamed GET (watch, ``follow=true`` logs), read line by line.

    ``build`` makes the :class:`RequestSpec` when the stream is opened -- on the first
    ``next``, so a bad argument raises there, as from a generator function. ``parse``
    turns a line into an item, ``None`` meaning "skip it" (a watch's keep-alive blank
    lines). ``timeout_seconds`` is the server-side limit the caller asked for: the read
    timeout is that plus :data:`WATCH_SLACK` (none without it), and a read timeout then
    ends the stream normally instead of raising.
    """

    build: Callable[[], RequestSpec]
    parse: Callable[[str], ItemT | None]
    timeout_seconds: int | None = None

    def timeout(self, connect: float) -> httpx.Timeout:
        read = None if self.timeout_seconds is None else self.timeout_seconds + WATCH_SLACK
        return httpx.Timeout(connect, read=read)


def resource_path(
    info: ResourceInfo,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """``/api/v1/namespaces/ns/pods/name/status``, ``/apis/apps/v1/deployments``..."""
    prefix = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    parts = [prefix]
    if info.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(info.plural)
    if name:
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    elif subresource:
        raise ValueError(f"subresource {subresource!r} needs an object name")
    return "/".join(parts)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _query(**values: Any) -> tuple[tuple[str, str], ...]:
    """Query parameters in Kubernetes spelling; ``None`` values are left out."""
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None or (key == "dryRun" and not value):
            continue
        if key == "dryRun":
            out.append(("dryRun", "All"))
        elif isinstance(value, bool):
            out.append((key, _bool(value)))
        else:
            out.append((key, str(value)))
    return tuple(out)


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return orjson.dumps(body)


def _delete_options(
    propagation_policy: str | None,
    grace_period_seconds: int | None,
    preconditions: Mapping[str, str] | None,
) -> bytes | None:
    opts: dict[str, Any] = {}
    if propagation_policy:
        opts["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        opts["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        opts["preconditions"] = dict(preconditions)
    if not opts:
        return None
    return orjson.dumps({"kind": "DeleteOptions", "apiVersion": "v1", **opts})


# --- response handling (shared) ----------------------------------------------------------


def error_from_response(code: int, content: bytes) -> errors.ApiError:
    """Map a non-2xx answer to the ApiError its Status names (kubectl's fallbacks
    for bodies that are not a Status)."""
    status: dict[str, Any] | None = None
    try:
        parsed = orjson.loads(content) if content else None
        if isinstance(parsed, dict) and parsed.get("kind") == "Status":
            status = parsed
    except orjson.JSONDecodeError:
        pass
    if status is None:
        message = _GENERIC_MESSAGES.get(code)
        if message is None:
            text = content.decode(errors="replace").strip()
            message = f'an error on the server ("{text}") has prevented the request from succeeding'
        status = {"code": code, "message": message}
    return errors.from_status(status, code)


def decode_response(code: int, content: bytes, content_type: str = "") -> Any:
    """A 2xx body as Python data (JSON), or text for non-JSON media types."""
    if not 200 <= code < 300:
        raise error_from_response(code, content)
    if not content:
        return {}
    if content_type and "json" not in content_type:
        return content.decode(errors="replace")
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise errors.InternalError(f"the server sent invalid JSON (HTTP {code})") from None


def parse_watch_line(line: bytes | str) -> tuple[str, dict[str, Any]] | None:
    """One NDJSON watch line -> ``(type, object)``; blank lines -> None; ERROR raises."""
    if not line or not line.strip():
        return None
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise errors.InternalError(f"malformed watch event: {line[:200]!r}") from None
    etype = str(event.get("type") or "")
    obj = event.get("object") or {}
    if etype == "ERROR":
        raise errors.from_status(obj, obj.get("code"))
    return etype, obj


def _connection_failed(server: str, exc: Exception) -> ConnectionFailed:
    refused = (
        exc.refused
        if isinstance(exc, lean.ConnectError)
        else isinstance(exc, httpx.ConnectError) and "ssl" not in str(exc).lower()
    )
    if refused:
        host = server.split("://", 1)[-1]
        return ConnectionFailed(
            f"The connection to the server {host} was refused - did you specify the right "
            "host or port?",
            server,
        )
    return ConnectionFailed(f"Unable to connect to the server: {exc or type(exc).__name__}", server)


class _TransportErrors:
    """``with`` block (around sync or async I/O alike) that turns any httpx or
    :mod:`~kctl.client.transport` failure into :class:`ConnectionFailed`. With
    ``timeout_ends`` a read timeout ends the block quietly: a watch whose
    ``timeoutSeconds`` (plus slack) ran out without the server closing."""

    def __init__(self, server: str, *, timeout_ends: bool = False) -> None:
        self.server = server
        self.timeout_ends = timeout_ends

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if not isinstance(exc, httpx.HTTPError | lean.TransportError):
            return False
        if self.timeout_ends and isinstance(exc, httpx.ReadTimeout | lean.ReadTimeout):
            return True
        raise _connection_failed(self.server, exc) from None


# --- the verbs, written once ---------------------------------------------------------------

R = TypeVar("R")  # what a verb gives: its RequestSpec, the decoded answer, or an awaitable of it
EventsT = TypeVar("EventsT")  # what watch() gives: its RequestSpec, or an (async) iterator
LinesT = TypeVar("LinesT")  # what stream_lines() gives: its RequestSpec, or an (async) iterator


def _line(line: str) -> str:
    return line


class _Verbs(Generic[R, EventsT, LinesT]):
    """Every verb, written once: build the :class:`RequestSpec` and hand it to ``_run``
    (a streamed one: a :class:`StreamSpec` to ``_stream``). The hooks decide what a call
    gives back: the spec itself (:class:`RequestBuilder`), the decoded answer
    (:class:`Client`) or a coroutine for it (:class:`AsyncClient`)."""

    default_namespace: str

    def _run(self, spec: RequestSpec) -> R:
        raise NotImplementedError

    def _stream(self, stream: StreamSpec[Any]) -> Any:
        """``stream``'s items: an ``EventsT`` for watch, a ``LinesT`` for stream_lines."""
        raise NotImplementedError

    def _ns(self, info: ResourceInfo, namespace: str | None, body: Any = None) -> str | None:
        if not info.namespaced:
            return None
        if namespace:
            return namespace
        if isinstance(body, Mapping):
            from_body = (body.get("metadata") or {}).get("namespace")
            if from_body:
                return str(from_body)
        return self.default_namespace

    def _write(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        field_manager: str | None,
        dry_run: bool,
        field_validation: str | None,
        force: bool | None = None,
    ) -> R:
        query = _query(
            dryRun=dry_run,
            fieldManager=field_manager,
            fieldValidation=field_validation,
            force=force,
        )
        headers = {"Content-Type": content_type}
        return self._run(RequestSpec(method, path, query, headers, _encode(body)))

    def get(
        self,
        info: ResourceInfo,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        resource_version: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> R:
        path = resource_path(info, self._ns(info, namespace), name, subresource)
        query = _query(resourceVersion=resource_version, **dict(params or {}))
        return self._run(RequestSpec("GET", path, query))

    def watch(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> EventsT:
        """Yield ``(type, object)`` until the server ends the stream (timeoutSeconds)
        or the caller stops iterating. ERROR events raise (410 -> Gone)."""

        def build() -> RequestSpec:
            query = _query(
                watch=True,
                resourceVersion=resource_version,
                labelSelector=label_selector or None,
                fieldSelector=field_selector or None,
                timeoutSeconds=timeout_seconds,
                allowWatchBookmarks=True if allow_bookmarks else None,
            )
            return RequestSpec("GET", resource_path(info, namespace), query)

        return self._stream(StreamSpec(build, parse_watch_line, timeout_seconds))

    def stream_lines(self, path: str, params: Mapping[str, Any] | None = None) -> LinesT:
        """Lines of a streamed text answer (``pods/x/log?follow=true``)."""

        def build() -> RequestSpec:
            return RequestSpec("GET", path, _query(**dict(params or {})))

        return self._stream(StreamSpec(build, _line))

    def create(
        self,
        info: ResourceInfo,
        body: Any,
        namespace: str | None = None,
        *,
        name: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> R:
        path = resource_path(info, self._ns(info, namespace, body), name, subresource)
        return self._write(
            "POST", path, body, "application/json", field_manager, dry_run, field_validation
        )

    def replace(
        self,
        info: ResourceInfo,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        name: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> R:
        name = name or (body.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("replace needs a name (argument or metadata.name)")
        path = resource_path(info, self._ns(info, namespace, body), name, subresource)
        return self._write(
            "PUT", path, body, "application/json", field_manager, dry_run, field_validation
        )

    def patch(
        self,
        info: ResourceInfo,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> R:
        """``patch_type``: ``merge`` | ``strategic`` | ``json`` | ``apply`` (or a media type)."""
        content_type = PATCH_TYPES.get(patch_type, patch_type)
        if content_type not in PATCH_TYPES.values():
            raise ValueError(f"unknown patch type {patch_type!r}")
        if content_type == PATCH_TYPES["apply"] and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        path = resource_path(info, self._ns(info, namespace), name, subresource)
        return self._write(
            "PATCH", path, patch, content_type, field_manager, dry_run, field_validation, force
        )

    def delete(
        self,
        info: ResourceInfo,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, str] | None = None,
        dry_run: bool = False,
    ) -> R:
        """``preconditions``: ``{"uid": ..., "resourceVersion": ...}``."""
        path = resource_path(info, self._ns(info, namespace), name)
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions)
        headers = {"Content-Type": "application/json"} if body else {}
        return self._run(RequestSpec("DELETE", path, _query(dryRun=dry_run), headers, body))

    def delete_collection(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> R:
        query = _query(
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            dryRun=dry_run,
        )
        body = _delete_options(propagation_policy, grace_period_seconds, None)
        headers = {"Content-Type": "application/json"} if body else {}
        return self._run(
            RequestSpec("DELETE", resource_path(info, namespace), query, headers, body)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> R:
        """Any other call (``/version``, ``pods/x/log``): JSON answers parsed, text as str."""
        headers = {"Content-Type": content_type} if body is not None else {}
        query = _query(**dict(params or {}))
        content = _encode(body) if body is not None else None
        return self._run(RequestSpec(method.upper(), path, query, headers, content))

    # Defined last: inside this class body the name ``list`` is the method.
    def list(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> R:
        """``namespace=None`` lists across all namespaces."""
        query = _query(
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            resourceVersion=resource_version,
            limit=limit,
            **{"continue": continue_token or None},
        )
        return self._run(RequestSpec("GET", resource_path(info, namespace), query))


class RequestBuilder(_Verbs[RequestSpec, RequestSpec, RequestSpec]):
    """The verbs with no I/O: each call returns the :class:`RequestSpec` it would send."""

    def __init__(self, default_namespace: str = "default") -> None:
        self.default_namespace = default_namespace

    def _run(self, spec: RequestSpec) -> RequestSpec:
        return spec

    def _stream(self, stream: StreamSpec[Any]) -> RequestSpec:
        return stream.build()


# --- transport setup ---------------------------------------------------------------------


def ssl_context(config: ClientConfig) -> ssl.SSLContext | bool:
    """Verification as the kubeconfig says: its CA (else system roots), or none when
    ``insecure-skip-tls-verify``; client certificate if configured."""
    if not config.server.startswith("https://"):
        return True
    if config.insecure_skip_tls_verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif config.ca_pem:
        ctx = ssl.create_default_context(cadata=config.ca_pem.decode())
    else:
        ctx = ssl.create_default_context()
    if config.client_cert_pem and config.client_key_pem:
        _load_client_cert(ctx, config.client_cert_pem, config.client_key_pem)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl only loads certificates from files: stage them in a private directory.
    with tempfile.TemporaryDirectory(prefix="kctl-cert-") as tmp:
        cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        ctx.load_cert_chain(cert_path, key_path)


def _base_headers(config: ClientConfig, user_agent: str) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    return headers


def _http_options(config: ClientConfig, timeout: float, user_agent: str) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "base_url": config.server,
        "headers": _base_headers(config, user_agent),
        "timeout": httpx.Timeout(timeout),
        "verify": ssl_context(config),
        "limits": httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=20),
        "trust_env": False,  # a cluster on loopback must not go through $HTTP_PROXY
    }
    if config.username and config.password and not config.token:
        opts["auth"] = httpx.BasicAuth(config.username, config.password)
    return opts


def _extensions(config: ClientConfig) -> dict[str, Any]:
    return {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}


WarningHandler = Callable[[str], None]


def _log_warning(text: str) -> None:
    log.warning("server warning: %s", text)


def warning_text(value: str) -> str:
    """The text of one ``Warning`` header (RFC 7234: ``299 - "quoted \\"text\\""``)."""
    _, sep, rest = value.partition(" - ")
    rest = rest.strip() if sep else value.strip()
    if not rest.startswith('"'):
        return rest
    out: list[str] = []
    escaped = False
    for ch in rest[1:]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            break
        else:
            out.append(ch)
    return "".join(out)


def _report_warnings(headers: httpx.Headers, handler: WarningHandler) -> None:
    for value in headers.get_list("warning"):
        handler(warning_text(value))


# --- the clients: one base, two senders ------------------------------------------------------

TransportT = TypeVar("TransportT")  # httpx.BaseTransport or httpx.AsyncBaseTransport


class _BaseClient(_Verbs[R, EventsT, LinesT], Generic[R, EventsT, LinesT, TransportT]):
    """A client but for sending: construction, the verbs, and both halves of a send that
    do not block (the httpx arguments before it, the warnings and decoding after it).

    A subclass adds ``_open`` (make ``self._http``), ``_run`` (send one spec and return
    :meth:`_answer` of the response, or a coroutine for it) and ``_stream`` (iterate a
    :class:`StreamSpec` with ``for`` or ``async for``).
    """

    config: ClientConfig
    requests: RequestBuilder  # the same verbs without I/O: what this client would send

    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
        on_warning: WarningHandler = _log_warning,
        transport: TransportT | None = None,
    ) -> None:
        self.config = config
        self.requests = RequestBuilder(config.namespace)
        self.timeout = timeout
        self.on_warning = on_warning
        opts = _http_options(config, timeout, user_agent)
        if transport is not None:
            opts["transport"] = transport
        self._open(opts)
        self._ext = _extensions(config)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """Load like kubectl (``--kubeconfig``, ``--context``, ``--namespace``)."""
        return cls(load_client_config(path, context=context, namespace=namespace), **kwargs)

    @property
    def namespace(self) -> str:
        """The default namespace (the kubeconfig context's)."""
        return self.requests.default_namespace

    @property
    def default_namespace(self) -> str:  # one value, kept by self.requests
        return self.requests.default_namespace

    @default_namespace.setter
    def default_namespace(self, value: str) -> None:
        self.requests.default_namespace = value

    def _open(self, options: dict[str, Any]) -> None:
        """Create ``self._http`` from httpx client options."""
        raise NotImplementedError

    def _send_args(self, spec: RequestSpec, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``httpx.(Async)Client.request`` / ``.stream``."""
        return {
            "method": spec.method,
            "url": spec.path,
            "params": spec.params,
            "headers": spec.headers,
            "content": spec.content,
            "extensions": self._ext,
            **extra,
        }

    def _stream_args(self, stream: StreamSpec[Any]) -> dict[str, Any]:
        return self._send_args(stream.build(), timeout=stream.timeout(self.timeout))

    def _transport_errors(self, stream: StreamSpec[Any] | None = None) -> _TransportErrors:
        timeout_ends = stream is not None and stream.timeout_seconds is not None
        return _TransportErrors(self.config.server, timeout_ends=timeout_ends)

    def _answer(self, resp: httpx.Response) -> Any:
        """Report the response's warnings, then decode it (or raise its ApiError)."""
        _report_warnings(resp.headers, self.on_warning)
        return decode_response(resp.status_code, resp.content, resp.headers.get("content-type", ""))


# --- sync client ---------------------------------------------------------------------------


class Client(
    _BaseClient[
        Any,
        Generator[WatchEvent, None, None],
        Iterator[str],
        httpx.BaseTransport,
    ]
):
    """Synchronous client over one keep-alive ``httpx.Client``. Thread-safe."""

    _http: httpx.Client

    def _open(self, options: dict[str, Any]) -> None:
        self._http = httpx.Client(**options)

    def _run(self, spec: RequestSpec) -> Any:
        with self._transport_errors():
            resp = self._http.request(**self._send_args(spec))
        return self._answer(resp)

    def _stream(self, stream: StreamSpec[ItemT]) -> Generator[ItemT, None, None]:
        args = self._stream_args(stream)
        with self._transport_errors(stream), self._http.stream(**args) as resp:
            if resp.status_code != 200:
                raise error_from_response(resp.status_code, resp.read())
            for line in resp.iter_lines():
                item = stream.parse(line)
                if item is not None:
                    yield item

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- async client --------------------------------------------------------------------------


class AsyncClient(
    _BaseClient[
        Awaitable[Any],
        AsyncGenerator[WatchEvent, None],
        AsyncIterator[str],
        httpx.AsyncBaseTransport,
    ]
):
    """The same surface, asynchronous: every verb returns an awaitable,
    ``watch``/``stream_lines`` return async iterators.

    Requests go over :mod:`kctl.client.transport` (a lean keep-alive pool: the
    scheduler's binding rate depends on it); a client given an httpx ``transport``
    (tests' ``MockTransport``) sends through ``httpx.AsyncClient`` instead.
    """

    _http: httpx.AsyncClient | None
    _pool: lean.ConnectionPool | None

    def _open(self, options: dict[str, Any]) -> None:
        self._http, self._pool = None, None
        if "transport" in options:
            self._http = httpx.AsyncClient(**options)
            return
        verify = options["verify"]
        self._pool = lean.ConnectionPool(
            lean.Endpoint.from_url(
                self.config.server,
                verify if isinstance(verify, ssl.SSLContext) else None,
                self.config.tls_server_name,
            ),
            max_connections=MAX_CONNECTIONS,
            connect_timeout=self.timeout,
        )
        headers = dict(options["headers"])
        auth = options.get("auth")
        if auth is not None:
            headers["Authorization"] = _basic_auth(self.config)
        self._headers = headers
        self._header_names = {k.lower() for k in headers}
        self._header_block = lean.header_block(list(headers.items()))
        self._header_cache: dict[tuple[tuple[str, str], ...], bytes] = {}

    def _lean_headers(self, extra: Mapping[str, str]) -> bytes:
        """The client's headers with a request's own (which win), encoded; the few
        distinct combinations (one per content type) are remembered."""
        if not extra:
            return self._header_block
        items = tuple(extra.items())
        block = self._header_cache.get(items)
        if block is None:
            if self._header_names.isdisjoint(k.lower() for k in extra):
                block = self._header_block + lean.header_block(items)
            else:
                names = {k.lower() for k in extra}
                merged = {k: v for k, v in self._headers.items() if k.lower() not in names}
                merged.update(extra)
                block = lean.header_block(list(merged.items()))
            if len(self._header_cache) < 32:
                self._header_cache[items] = block
        return block

    async def _run(self, spec: RequestSpec) -> Any:
        if self._pool is None:
            assert self._http is not None
            with self._transport_errors():
                resp = await self._http.request(**self._send_args(spec))
            return self._answer(resp)
        with self._transport_errors():
            answer = await self._pool.request(
                spec.method,
                _target(spec),
                self._lean_headers(spec.headers),
                spec.content,
                self.timeout,
            )
        for value in answer.header_list("warning"):
            self.on_warning(warning_text(value))
        return decode_response(answer.status, answer.body, answer.header("content-type"))

    async def _stream(self, stream: StreamSpec[ItemT]) -> AsyncGenerator[ItemT, None]:
        if self._pool is None:
            async for item in self._httpx_stream(stream):
                yield item
            return
        spec = stream.build()
        read = None if stream.timeout_seconds is None else stream.timeout_seconds + WATCH_SLACK
        with self._transport_errors(stream):
            resp = await self._pool.stream(
                spec.method, _target(spec), self._lean_headers(spec.headers), read
            )
            try:
                if resp.status != 200:
                    raise error_from_response(resp.status, await resp.aread())
                async for line in resp.aiter_lines():
                    parsed = stream.parse(line)
                    if parsed is not None:
                        yield parsed
            finally:
                await resp.aclose()

    async def _httpx_stream(self, stream: StreamSpec[ItemT]) -> AsyncGenerator[ItemT, None]:
        assert self._http is not None
        args = self._stream_args(stream)
        with self._transport_errors(stream):
            async with self._http.stream(**args) as resp:
                if resp.status_code != 200:
                    raise error_from_response(resp.status_code, await resp.aread())
                async for line in resp.aiter_lines():
                    item = stream.parse(line)
                    if item is not None:
                        yield item

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.aclose()


# Characters left as they are in a request path (RFC 3986 pchar and "/"; "%" keeps
# escapes the path already has).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _target(spec: RequestSpec) -> str:
    """The request target: the path (escaped where it must be) and the query."""
    path = quote(spec.path, safe=_PATH_SAFE)
    if not spec.params:
        return path
    return f"{path}?{urlencode(spec.params, quote_via=quote)}"


def _basic_auth(config: ClientConfig) -> str:
    pair = f"{config.username}:{config.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
