"""The API server as one ASGI application.

The request path is kube-apiserver's, step by step: read the body (bounded), answer the
unauthenticated endpoints (health, version, discovery is authenticated), authenticate
the bearer token, resolve the REST path to a resource and verb, authorize, then run the
verb's handler. Every failure on the way is an :class:`~kctl.api.errors.ApiError`
rendered as a ``Status`` with its code, so kubectl prints Kubernetes' messages.
A plain ASGI callable (no framework) keeps the per-request cost to what the work needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from kctl.api import errors
from kctl.api.kinds import Registry
from kctl.server import subresources
from kctl.server.auth import (
    NODES_GROUP,
    Authorizer,
    RequestAttributes,
    TokenAuthenticator,
    UserInfo,
)
from kctl.server.content import parse_accept
from kctl.server.discovery import Discovery
from kctl.server.nodeproxy import NodeProxy
from kctl.server.request import JSON, Request, Response
from kctl.server.resources import Resources, key_of
from kctl.server.routing import Target, resolve
from kctl.server.tokens import TokenRegistry, handle_token_request
from kctl.server.watch import WatchStream

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
SendFn = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit for a request body
HEALTH_PATHS = frozenset({"/livez", "/readyz", "/healthz"})
READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass
class ApiApp:
    registry: Registry
    resources: Resources
    discovery: Discovery
    authenticator: TokenAuthenticator
    authorizer: Authorizer
    tokens: TokenRegistry
    ready: Callable[[], bool] = lambda: True
    node_proxy: NodeProxy | None = None  # pods/log and pods/exec (None: 503)

    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._handle(scope, receive, send)
        except errors.ApiError as err:
            response = Response.json(err.code, err.to_status())
        except Exception:  # a bug must still answer as a Status, and be logged
            log.exception("internal error serving %s %s", scope.get("method"), scope.get("path"))
            internal = errors.InternalError(
                "an error on the server prevented the request from succeeding"
            )
            response = Response.json(500, internal.to_status())
        if response is not None:
            await _send_response(send, response)

    async def _handle(self, scope: Scope, receive: Receive, send: SendFn) -> Response | None:
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )

        if path in HEALTH_PATHS or path.startswith(("/livez/", "/readyz/", "/healthz/")):
            if self.ready():
                return Response(200, b"ok", "text/plain; charset=utf-8")
            return Response(503, b"not ready", "text/plain; charset=utf-8")
        if path == "/version":
            return Response(200, self.discovery.docs["/version"])

        user = self.authenticator.authenticate(headers.get("authorization"))
        body = (
            await _read_body(receive, headers)
            if method in ("POST", "PUT", "PATCH", "DELETE")
            else b""
        )

        if path.startswith("/openapi/"):
            return self._openapi(path, query)
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments[0] not in ("api", "apis"):
            if path == "/kctl/v1/tokens" and method == "POST":
                try:
                    request_body = orjson.loads(body or b"{}")
                except orjson.JSONDecodeError as exc:
                    raise errors.BadRequest(f"the request body is not valid JSON: {exc}") from None
                result = await handle_token_request(user, request_body, self.tokens)
                return Response.json(201, result)
            raise errors.NotFound("the server could not find the requested resource")
        if method == "GET" and len(segments) <= (2 if segments[0] == "api" else 3):
            return self._discovery(path.rstrip("/"), headers.get("accept", ""))

        target = resolve(self.registry, method, segments, query)
        self._authorize(user, target, body)
        req = Request(
            target=target,
            user=user,
            query=query,
            body=body,
            content_type=headers.get("content-type"),
            accept=parse_accept(headers.get("accept"), query),
            user_agent=headers.get("user-agent", ""),
        )
        if target.verb == "watch":
            await self._watch(req, receive, send)
            return None
        if target.info.resource == "pods" and target.subresource in ("log", "exec"):
            if self.node_proxy is None:
                raise errors.ServiceUnavailable(
                    f"pods/{target.subresource} is not served: no node proxy is configured"
                )
            return await self.node_proxy.serve(
                req, scope.get("query_string", b""), receive, send, upgrade=headers.get("upgrade")
            )
        response = await self._dispatch(req)
        for warning in req.warnings:
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            response.headers.append((b"warning", f'299 - "{escaped}"'.encode()))
        return response

    async def _dispatch(self, req: Request) -> Response:
        r, target = self.resources, req.target
        sub, verb = target.subresource, target.verb
        if sub == "scale":
            if verb == "get":
                return await subresources.get_scale(r, req)
            return await subresources.write_scale(r, req)
        if sub == "binding":
            return await subresources.create_binding(r, req)
        handler = {
            "get": r.get,
            "list": r.list,
            "create": r.create,
            "update": r.update,
            "patch": r.patch,
            "delete": r.delete,
            "deletecollection": r.delete_collection,
        }.get(verb)
        if handler is None or verb not in target.info.verbs and not sub:
            raise errors.MethodNotAllowed(
                f"the server does not allow this method on the requested resource ({verb})"
            )
        return await handler(req)

    def _authorize(self, user: UserInfo, target: Target, body: bytes) -> None:
        # Only the node authorizer decides by the objects involved: decode them for nodes only.
        needs_objects = user.in_group(NODES_GROUP)
        existing = None
        if needs_objects and target.name and target.verb not in READ_VERBS:
            entry = self.resources.store.get(key_of(target.info, target.namespace, target.name))
            existing = entry.object() if entry is not None else None
        obj = None
        if needs_objects and body and target.verb in ("create", "update"):
            try:
                decoded = orjson.loads(body)
                obj = decoded if isinstance(decoded, dict) else None
            except orjson.JSONDecodeError:
                obj = None
        self.authorizer.authorize(
            user,
            RequestAttributes(
                verb=target.verb,
                group=target.info.group,
                resource=target.info.plural,
                subresource=target.subresource,
                namespace=target.namespace,
                name=target.name,
                object=obj,
                existing=existing,
            ),
        )

    async def _watch(self, req: Request, receive: Receive, send: SendFn) -> None:
        stream = WatchStream(self.resources, req)  # validates parameters before the 200 goes out
        closed = False

        async def wait_disconnect() -> None:
            nonlocal closed
            while (await receive())["type"] != "http.disconnect":
                pass
            closed = True
            stream.stop()

        watcher = asyncio.ensure_future(wait_disconnect())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", JSON.encode()), (b"cache-control", b"no-cache")],
            }
        )

        async def send_line(line: bytes) -> None:
            await send({"type": "http.response.body", "body": line, "more_body": True})

        try:
            await stream.run(send_line)
        finally:
            watcher.cancel()
            if not closed:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _discovery(self, path: str, accept: str) -> Response:
        path = path or "/"
        if path in ("/api", "/apis"):
            aggregated = self.discovery.aggregated(path, accept)
            if aggregated is not None:
                body, content_type = aggregated
                return Response(200, body, content_type, [(b"vary", b"Accept")])
        doc = self.discovery.docs.get(path)
        if doc is None:
            raise errors.NotFound("the server could not find the requested resource")
        return Response(200, doc)

    def _openapi(self, path: str, query: dict[str, str]) -> Response:
        if path == "/openapi/v2":
            return Response(200, b"", "application/octet-stream")
        doc = self.discovery.openapi.get(path.rstrip("/"))
        if doc is None:
            raise errors.NotFound("the server could not find the requested resource")
        headers: list[tuple[bytes, bytes]] = []
        digest = self.discovery.openapi.get(f"hash:{path.rstrip('/')}")
        if digest is not None:
            headers = [
                (b"etag", b'"' + digest + b'"'),
                (b"cache-control", b"public, immutable"),
                (b"expires", b"Fri, 01 Jan 2100 00:00:00 GMT"),
            ]
        return Response(200, doc, JSON, headers)


async def _read_body(receive: Receive, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge(
            f"the request body is too large: {declared} bytes, the limit is {MAX_BODY_BYTES}"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise errors.RequestEntityTooLarge(
                f"the request body is too large: more than {MAX_BODY_BYTES} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_response(send: SendFn, response: Response) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: SendFn) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
