"""The Kubernetes REST client every kctl component uses (CLI, reconciler, node agent).

Design:

* **One request builder, two senders.** :class:`RequestSpec` is a plain description of
  an HTTP call (method, path, query, headers, body). The verbs (get/list/create/
  replace/patch/delete/delete_collection) are written once, in :class:`_Verbs`, as
  "build a spec, hand it to ``_run``". :class:`Client` runs specs on ``httpx.Client``
  and returns dicts; :class:`AsyncClient` runs them on ``httpx.AsyncClient`` and
  returns awaitables of the same dicts. Response decoding, error mapping and watch-line
  parsing are shared functions, so the two clients cannot drift apart.
* **Kubernetes errors stay Kubernetes errors.** A non-2xx answer becomes the
  :mod:`kctl.api.errors` type its ``Status`` names (``NotFound``, ``Conflict``,
  ``Gone``...), so callers catch the same classes the server raises. Transport
  failures (refused, TLS, timeouts) become :class:`ConnectionFailed`; no httpx
  exception escapes this module.
* **Namespaces as kubectl uses them.** For reads/writes of one object, ``namespace=None``
  means the object's ``metadata.namespace`` (writes) or the kubeconfig context's
  namespace. For ``list``/``watch``/``delete_collection``, ``None`` means all namespaces
  (the cluster-wide path), as in client-go. Cluster-scoped kinds ignore the namespace.
* Watches are streamed NDJSON; an ``ERROR`` event raises (410 -> :class:`Gone`, so
  informers know to relist), and ``timeoutSeconds`` ends the stream normally.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import orjson

from kctl.api import errors
from kctl.client.kubeconfig import ClientConfig, load_client_config

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

log = logging.getLogger(__name__)

USER_AGENT = "kctl/0.1.0"
DEFAULT_TIMEOUT = 30.0
WATCH_SLACK = 10.0  # seconds past timeoutSeconds before the client gives up on the server

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


class RequestBuilder:
    """Turns verb calls into :class:`RequestSpec` (no I/O)."""

    def __init__(self, default_namespace: str = "default") -> None:
        self.default_namespace = default_namespace

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

    def get(
        self,
        info: ResourceInfo,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        resource_version: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> RequestSpec:
        path = resource_path(info, self._ns(info, namespace), name, subresource)
        query = _query(resourceVersion=resource_version, **dict(params or {}))
        return RequestSpec("GET", path, query)

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
    ) -> RequestSpec:
        query = _query(
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            resourceVersion=resource_version,
            limit=limit,
            **{"continue": continue_token or None},
        )
        return RequestSpec("GET", resource_path(info, namespace), query)

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
    ) -> RequestSpec:
        query = _query(
            watch=True,
            resourceVersion=resource_version,
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks=True if allow_bookmarks else None,
        )
        return RequestSpec("GET", resource_path(info, namespace), query)

    def _write(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        *,
        field_manager: str | None,
        dry_run: bool,
        field_validation: str | None,
        force: bool | None = None,
    ) -> RequestSpec:
        query = _query(
            dryRun=dry_run,
            fieldManager=field_manager,
            fieldValidation=field_validation,
            force=force,
        )
        return RequestSpec(method, path, query, {"Content-Type": content_type}, _encode(body))

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
    ) -> RequestSpec:
        path = resource_path(info, self._ns(info, namespace, body), name, subresource)
        return self._write(
            "POST",
            path,
            body,
            "application/json",
            field_manager=field_manager,
            dry_run=dry_run,
            field_validation=field_validation,
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
    ) -> RequestSpec:
        name = name or (body.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("replace needs a name (argument or metadata.name)")
        path = resource_path(info, self._ns(info, namespace, body), name, subresource)
        return self._write(
            "PUT",
            path,
            body,
            "application/json",
            field_manager=field_manager,
            dry_run=dry_run,
            field_validation=field_validation,
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
    ) -> RequestSpec:
        content_type = PATCH_TYPES.get(patch_type, patch_type)
        if content_type not in PATCH_TYPES.values():
            raise ValueError(f"unknown patch type {patch_type!r}")
        if content_type == PATCH_TYPES["apply"] and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        path = resource_path(info, self._ns(info, namespace), name, subresource)
        return self._write(
            "PATCH",
            path,
            patch,
            content_type,
            field_manager=field_manager,
            dry_run=dry_run,
            field_validation=field_validation,
            force=force,
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
    ) -> RequestSpec:
        path = resource_path(info, self._ns(info, namespace), name)
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions)
        headers = {"Content-Type": "application/json"} if body else {}
        return RequestSpec("DELETE", path, _query(dryRun=dry_run), headers, body)

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
    ) -> RequestSpec:
        query = _query(
            labelSelector=label_selector or None,
            fieldSelector=field_selector or None,
            dryRun=dry_run,
        )
        body = _delete_options(propagation_policy, grace_period_seconds, None)
        headers = {"Content-Type": "application/json"} if body else {}
        return RequestSpec("DELETE", resource_path(info, namespace), query, headers, body)


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
    if isinstance(exc, httpx.ConnectError) and "ssl" not in str(exc).lower():
        host = server.split("://", 1)[-1]
        return ConnectionFailed(
            f"The connection to the server {host} was refused - did you specify the right "
            "host or port?",
            server,
        )
    return ConnectionFailed(f"Unable to connect to the server: {exc or type(exc).__name__}", server)


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
        "limits": httpx.Limits(max_connections=100, max_keepalive_connections=20),
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


# --- the verbs, written once ----------------------------------------------------------------

R = TypeVar("R")


class _Verbs(Generic[R]):
    """Every REST verb as "build a spec, run it"; subclasses say how to run."""

    config: ClientConfig
    requests: RequestBuilder

    def _run(self, spec: RequestSpec) -> R:
        raise NotImplementedError

    @property
    def namespace(self) -> str:
        """The default namespace (the kubeconfig context's)."""
        return self.requests.default_namespace

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
        return self._run(
            self.requests.get(
                info,
                name,
                namespace,
                subresource=subresource,
                resource_version=resource_version,
                params=params,
            )
        )

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
        return self._run(
            self.requests.create(
                info,
                body,
                namespace,
                name=name,
                subresource=subresource,
                field_manager=field_manager,
                dry_run=dry_run,
                field_validation=field_validation,
            )
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
        return self._run(
            self.requests.replace(
                info,
                body,
                namespace,
                name=name,
                subresource=subresource,
                field_manager=field_manager,
                dry_run=dry_run,
                field_validation=field_validation,
            )
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
        return self._run(
            self.requests.patch(
                info,
                name,
                patch,
                namespace,
                patch_type=patch_type,
                subresource=subresource,
                field_manager=field_manager,
                force=force,
                dry_run=dry_run,
                field_validation=field_validation,
            )
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
        return self._run(
            self.requests.delete(
                info,
                name,
                namespace,
                propagation_policy=propagation_policy,
                grace_period_seconds=grace_period_seconds,
                preconditions=preconditions,
                dry_run=dry_run,
            )
        )

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
        return self._run(
            self.requests.delete_collection(
                info,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                propagation_policy=propagation_policy,
                grace_period_seconds=grace_period_seconds,
                dry_run=dry_run,
            )
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
        return self._run(
            self.requests.list(
                info,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=resource_version,
                limit=limit,
                continue_token=continue_token,
            )
        )


def _watch_timeout(timeout_seconds: int | None, connect: float) -> httpx.Timeout:
    read = None if timeout_seconds is None else timeout_seconds + WATCH_SLACK
    return httpx.Timeout(connect, read=read)


# --- sync client ---------------------------------------------------------------------------


class Client(_Verbs[Any]):
    """Synchronous client over one keep-alive ``httpx.Client``. Thread-safe."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
        on_warning: WarningHandler = _log_warning,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.requests = RequestBuilder(config.namespace)
        self.timeout = timeout
        self.on_warning = on_warning
        opts = _http_options(config, timeout, user_agent)
        if transport is not None:
            opts["transport"] = transport
        self._http = httpx.Client(**opts)
        self._ext = _extensions(config)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> Client:
        """Load like kubectl (``--kubeconfig``, ``--context``, ``--namespace``)."""
        return cls(load_client_config(path, context=context, namespace=namespace), **kwargs)

    def _run(self, spec: RequestSpec) -> Any:
        try:
            resp = self._http.request(
                spec.method,
                spec.path,
                params=spec.params,
                headers=spec.headers,
                content=spec.content,
                extensions=self._ext,
            )
        except httpx.HTTPError as exc:
            raise _connection_failed(self.config.server, exc) from None
        _report_warnings(resp.headers, self.on_warning)
        return decode_response(resp.status_code, resp.content, resp.headers.get("content-type", ""))

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
    ) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """Yield ``(type, object)`` until the server ends the stream (timeoutSeconds)
        or the caller stops iterating. ERROR events raise (410 -> Gone)."""
        spec = self.requests.watch(
            info,
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
            allow_bookmarks=allow_bookmarks,
        )
        timeout = _watch_timeout(timeout_seconds, self.timeout)
        try:
            with self._http.stream(
                "GET",
                spec.path,
                params=spec.params,
                timeout=timeout,
                extensions=self._ext,
            ) as resp:
                if resp.status_code != 200:
                    raise error_from_response(resp.status_code, resp.read())
                for line in resp.iter_lines():
                    event = parse_watch_line(line)
                    if event is not None:
                        yield event
        except httpx.ReadTimeout as exc:
            if timeout_seconds is None:
                raise _connection_failed(self.config.server, exc) from None
        except httpx.HTTPError as exc:
            raise _connection_failed(self.config.server, exc) from None

    def stream_lines(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Lines of a streamed text answer (``pods/x/log?follow=true``)."""
        try:
            with self._http.stream(
                "GET",
                path,
                params=_query(**dict(params or {})),
                timeout=httpx.Timeout(self.timeout, read=None),
                extensions=self._ext,
            ) as resp:
                if resp.status_code != 200:
                    raise error_from_response(resp.status_code, resp.read())
                yield from resp.iter_lines()
        except httpx.HTTPError as exc:
            raise _connection_failed(self.config.server, exc) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- async client --------------------------------------------------------------------------


class AsyncClient(_Verbs[Awaitable[Any]]):
    """The same surface on ``httpx.AsyncClient``: every verb returns an awaitable."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = USER_AGENT,
        on_warning: WarningHandler = _log_warning,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.requests = RequestBuilder(config.namespace)
        self.timeout = timeout
        self.on_warning = on_warning
        opts = _http_options(config, timeout, user_agent)
        if transport is not None:
            opts["transport"] = transport
        self._http = httpx.AsyncClient(**opts)
        self._ext = _extensions(config)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> AsyncClient:
        """Load like kubectl (``--kubeconfig``, ``--context``, ``--namespace``)."""
        return cls(load_client_config(path, context=context, namespace=namespace), **kwargs)

    def _run(self, spec: RequestSpec) -> Awaitable[Any]:
        return self._send(spec)

    async def _send(self, spec: RequestSpec) -> Any:
        try:
            resp = await self._http.request(
                spec.method,
                spec.path,
                params=spec.params,
                headers=spec.headers,
                content=spec.content,
                extensions=self._ext,
            )
        except httpx.HTTPError as exc:
            raise _connection_failed(self.config.server, exc) from None
        _report_warnings(resp.headers, self.on_warning)
        return decode_response(resp.status_code, resp.content, resp.headers.get("content-type", ""))

    async def watch(
        self,
        info: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        """Async twin of :meth:`Client.watch` (same spec, same line parser)."""
        spec = self.requests.watch(
            info,
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
            allow_bookmarks=allow_bookmarks,
        )
        timeout = _watch_timeout(timeout_seconds, self.timeout)
        try:
            async with self._http.stream(
                "GET",
                spec.path,
                params=spec.params,
                timeout=timeout,
                extensions=self._ext,
            ) as resp:
                if resp.status_code != 200:
                    raise error_from_response(resp.status_code, await resp.aread())
                async for line in resp.aiter_lines():
                    event = parse_watch_line(line)
                    if event is not None:
                        yield event
        except httpx.ReadTimeout as exc:
            if timeout_seconds is None:
                raise _connection_failed(self.config.server, exc) from None
        except httpx.HTTPError as exc:
            raise _connection_failed(self.config.server, exc) from None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.aclose()
