"""Client and AsyncClient are one client with two senders: every verb must put the same
request on the wire and give back the same answer, and streams (watch, stream_lines)
must end, fail and map errors the same way. Runs on ``httpx.MockTransport``, no sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from kctl.api import errors
from kctl.client.http import AsyncClient, Client, ConnectionFailed
from kctl.client.kubeconfig import config_for
from tests.client.conftest import DEPLOYMENTS, NODES, PODS

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team"}}
SERVER = "http://k8s.test"

Handler = Callable[[httpx.Request], httpx.Response]


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"path": request.url.path}, headers={"Warning": '299 - "careful"'}
    )


class Wire:
    """Both clients on one handler; records every request as plain data."""

    def __init__(self, handler: Handler = _ok) -> None:
        self.handler = handler
        self.sent: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.warnings: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(
            (request.method, str(request.url), request.headers.multi_items(), request.content)
        )
        return self.handler(request)

    def options(self) -> dict[str, Any]:
        return {"transport": httpx.MockTransport(self), "on_warning": self.warnings.append}

    def sync(self) -> Client:
        return Client(config_for(SERVER, token="t", namespace="team"), **self.options())

    def async_(self) -> AsyncClient:
        return AsyncClient(config_for(SERVER, token="t", namespace="team"), **self.options())


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("get", (PODS, "web"), {}),
    (
        "get",
        (DEPLOYMENTS, "d", "x"),
        {"subresource": "scale", "resource_version": "5", "params": {"pretty": True}},
    ),
    ("list", (PODS,), {"label_selector": "a=b", "limit": 5, "continue_token": "c"}),
    ("list", (NODES, "ignored"), {"resource_version": "0"}),
    ("create", (PODS, POD), {"field_manager": "m", "dry_run": True, "field_validation": "Strict"}),
    ("create", (PODS, b'{"raw": 1}', "ns"), {"name": "web", "subresource": "eviction"}),
    ("replace", (PODS, POD), {"field_manager": "m"}),
    ("replace", (PODS, {"metadata": {}}, "ns"), {"name": "x", "subresource": "status"}),
    (
        "patch",
        (PODS, "web", {"a": 1}),
        {"patch_type": "apply", "field_manager": "m", "force": True},
    ),
    ("patch", (PODS, "web", [{"op": "remove", "path": "/a"}]), {"patch_type": "json"}),
    ("patch", (PODS, "web", "{}", "ns"), {"patch_type": "strategic", "dry_run": True}),
    (
        "delete",
        (PODS, "web"),
        {
            "propagation_policy": "Foreground",
            "grace_period_seconds": 0,
            "preconditions": {"a": "b"},
        },
    ),
    ("delete", (NODES, "n"), {"dry_run": True}),
    ("delete_collection", (PODS, "team"), {"label_selector": "a", "propagation_policy": "Orphan"}),
    ("delete_collection", (PODS,), {"field_selector": "x=y", "grace_period_seconds": 3}),
    ("request", ("post", "/apis/x"), {"params": {"a": 1}, "body": "raw", "content_type": "text/a"}),
    ("request", ("GET", "/version"), {}),
]


@pytest.mark.parametrize(("verb", "args", "kwargs"), CALLS)
def test_verbs_send_the_same_request_sync_and_async(
    verb: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    sync_wire, async_wire = Wire(), Wire()
    with sync_wire.sync() as c:
        sync_result = getattr(c, verb)(*args, **kwargs)

    async def run() -> Any:
        async with async_wire.async_() as ac:
            return await getattr(ac, verb)(*args, **kwargs)

    async_result = asyncio.run(run())
    assert len(sync_wire.sent) == 1
    assert sync_wire.sent == async_wire.sent
    assert sync_result == async_result == {"path": httpx.URL(sync_wire.sent[0][1]).path}
    assert sync_wire.warnings == async_wire.warnings == ["careful"]


def test_bad_arguments_raise_at_call_time_on_both_clients() -> None:
    wire = Wire()
    with wire.sync() as c:
        with pytest.raises(ValueError, match="unknown patch type"):
            c.patch(PODS, "web", {}, patch_type="bogus")
        with pytest.raises(ValueError, match="needs a name"):
            c.replace(PODS, {"metadata": {}})
    ac = wire.async_()
    with pytest.raises(ValueError, match="field_manager"):
        ac.patch(PODS, "web", {}, patch_type="apply")  # before any await
    asyncio.run(ac.aclose())
    assert wire.sent == []


def test_errors_and_connection_failures_map_the_same() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/refused":
            raise httpx.ConnectError("Connection refused")
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("timed out")
        body = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "no pod"}
        return httpx.Response(404, json=body)

    wire = Wire(refuse)
    seen: list[str] = []
    with wire.sync() as c:
        for path in ("/refused", "/slow", "/missing"):
            with pytest.raises((ConnectionFailed, errors.NotFound)) as info:
                c.request("GET", path)
            seen.append(f"{type(info.value).__name__}: {info.value}")

    async def run() -> list[str]:
        out = []
        async with wire.async_() as ac:
            for path in ("/refused", "/slow", "/missing"):
                with pytest.raises((ConnectionFailed, errors.NotFound)) as info:
                    await ac.request("GET", path)
                out.append(f"{type(info.value).__name__}: {info.value}")
        return out

    assert asyncio.run(run()) == seen
    assert seen == [
        "ConnectionFailed: The connection to the server k8s.test was refused - did you "
        "specify the right host or port?",
        "ConnectionFailed: Unable to connect to the server: timed out",
        "NotFound: no pod",
    ]


# --- streams ---------------------------------------------------------------------------------


def _event(etype: str, n: int) -> bytes:
    return orjson.dumps({"type": etype, "object": {"n": n}}) + b"\n"


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Sends ``chunks``, then raises ``fail`` (a broken or silent server) if given."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks, self.fail = chunks, fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail


def _streaming(fail: Exception | None = None, code: int = 200) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if code != 200:
            return httpx.Response(code, json={"kind": "Status", "code": code, "message": "no"})
        chunks = [_event("ADDED", 1)[:5], _event("ADDED", 1)[5:], b"\n", _event("DELETED", 2)]
        if request.url.params.get("watch") != "true":
            chunks = [b"line one\n", b"\n", b"line three"]
        return httpx.Response(200, stream=_Chunks(chunks, fail))

    return handle


def _collect_sync(wire: Wire, method: str, *args: Any, **kwargs: Any) -> tuple[list[Any], str]:
    out: list[Any] = []
    with wire.sync() as c:
        try:
            for item in getattr(c, method)(*args, **kwargs):
                out.append(item)
        except Exception as exc:
            return out, f"{type(exc).__name__}: {exc}"
    return out, ""


def _collect_async(wire: Wire, method: str, *args: Any, **kwargs: Any) -> tuple[list[Any], str]:
    async def run() -> tuple[list[Any], str]:
        out: list[Any] = []
        async with wire.async_() as ac:
            try:
                async for item in getattr(ac, method)(*args, **kwargs):
                    out.append(item)
            except Exception as exc:
                return out, f"{type(exc).__name__}: {exc}"
        return out, ""

    return asyncio.run(run())


EVENTS = [("ADDED", {"n": 1}), ("DELETED", {"n": 2})]
REFUSED = (
    "ConnectionFailed: The connection to the server k8s.test was refused - did you specify "
    "the right host or port?"
)


@pytest.mark.parametrize("collect", [_collect_sync, _collect_async], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("fail", "code", "timeout_seconds", "expected"),
    [
        (None, 200, None, (EVENTS, "")),
        (None, 200, 30, (EVENTS, "")),
        # timeoutSeconds given: a read timeout ends the watch like the server would
        (httpx.ReadTimeout("quiet"), 200, 30, (EVENTS, "")),
        (
            httpx.ReadTimeout("quiet"),
            200,
            None,
            (EVENTS, "ConnectionFailed: Unable to connect to the server: quiet"),
        ),
        (
            httpx.RemoteProtocolError("cut"),
            200,
            30,
            (EVENTS, "ConnectionFailed: Unable to connect to the server: cut"),
        ),
        (httpx.ConnectError("refused"), 200, 30, (EVENTS, REFUSED)),
        (None, 403, 30, ([], "Forbidden: no")),
    ],
)
def test_watch_ends_and_fails_the_same(
    collect: Callable[..., tuple[list[Any], str]],
    fail: Exception | None,
    code: int,
    timeout_seconds: int | None,
    expected: tuple[list[Any], str],
) -> None:
    wire = Wire(_streaming(fail, code))
    got = collect(
        wire, "watch", PODS, "team", timeout_seconds=timeout_seconds, resource_version="7"
    )
    assert got == expected
    method, url, headers, body = wire.sent[0]
    query = "watch=true&resourceVersion=7"
    if timeout_seconds is not None:
        query += f"&timeoutSeconds={timeout_seconds}"
    assert (method, url, body) == (
        "GET",
        f"{SERVER}/api/v1/namespaces/team/pods?{query}&allowWatchBookmarks=true",
        b"",
    )
    assert dict(headers)["authorization"] == "Bearer t"


def test_watch_error_event_raises_on_both() -> None:
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    lines = _event("ADDED", 1) + orjson.dumps({"type": "ERROR", "object": gone}) + b"\n"
    wire = Wire(lambda request: httpx.Response(200, content=lines))
    expected = ([("ADDED", {"n": 1})], "Gone: too old")
    assert _collect_sync(wire, "watch", PODS) == expected
    assert _collect_async(wire, "watch", PODS) == expected
    assert [sent[1] for sent in wire.sent] == [
        f"{SERVER}/api/v1/pods?watch=true&allowWatchBookmarks=true"
    ] * 2


def test_watch_and_stream_lines_start_on_first_iteration() -> None:
    wire = Wire(_streaming())
    with wire.sync() as c:
        stream = c.watch(PODS, 123)  # type: ignore[arg-type]  # a bad namespace, not used yet
        lines = c.stream_lines("/logs", params=["not", "a", "mapping"])  # type: ignore[arg-type]
        assert wire.sent == []
        with pytest.raises(TypeError):
            next(iter(stream))
        with pytest.raises((TypeError, ValueError)):
            next(iter(lines))
    assert wire.sent == []


def test_stream_lines_sync() -> None:
    wire = Wire(_streaming())
    got = _collect_sync(
        wire, "stream_lines", "/api/v1/namespaces/team/pods/web/log", {"follow": True}
    )
    assert got == (["line one", "", "line three"], "")
    assert wire.sent[0][:2] == ("GET", f"{SERVER}/api/v1/namespaces/team/pods/web/log?follow=true")
    broken = Wire(_streaming(httpx.ReadError("reset")))
    assert _collect_sync(broken, "stream_lines", "/log") == (
        ["line one", ""],  # the unfinished last line is lost with the connection
        "ConnectionFailed: Unable to connect to the server: reset",
    )
    assert _collect_sync(Wire(_streaming(code=404)), "stream_lines", "/log") == ([], "NotFound: no")


def test_stream_lines_async() -> None:
    wire = Wire(_streaming())
    got = _collect_async(wire, "stream_lines", "/api/v1/namespaces/team/pods/web/log", {"tail": 1})
    assert got == (["line one", "", "line three"], "")
    assert wire.sent[0][:2] == ("GET", f"{SERVER}/api/v1/namespaces/team/pods/web/log?tail=1")
    assert _collect_async(Wire(_streaming(httpx.ReadError("reset"))), "stream_lines", "/l") == (
        ["line one", ""],
        "ConnectionFailed: Unable to connect to the server: reset",
    )
    assert _collect_async(Wire(_streaming(code=404)), "stream_lines", "/l") == ([], "NotFound: no")


def test_client_requests_builds_what_the_client_sends() -> None:
    wire = Wire()
    with wire.sync() as c:
        spec = c.requests.patch(PODS, "web", {"a": 1}, patch_type="strategic", dry_run=True)
        c.patch(PODS, "web", {"a": 1}, patch_type="strategic", dry_run=True)
        watch = c.requests.watch(PODS, timeout_seconds=5, allow_bookmarks=False)
        assert c.namespace == c.default_namespace == "team"
    method, url, headers, body = wire.sent[0]
    assert (spec.method, spec.path, spec.content) == (
        method,
        "/api/v1/namespaces/team/pods/web",
        body,
    )
    assert httpx.URL(url).params == httpx.QueryParams(spec.params)
    assert dict(headers)["content-type"] == spec.headers["Content-Type"]
    assert (watch.method, watch.path, watch.params) == (
        "GET",
        "/api/v1/pods",
        (("watch", "true"), ("timeoutSeconds", "5")),
    )
