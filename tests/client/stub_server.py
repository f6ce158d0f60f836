"""A tiny recording HTTP server on 127.0.0.1 for client tests (stdlib only).

Tests register responses per (method, path); every request is recorded with its
query, headers and body so tests can assert on exactly what went over the wire.
Streaming responses (watch) are sent with chunked transfer encoding, one chunk per
item, like kube-apiserver.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[0] if values else None


@dataclass
class Reply:
    code: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None  # streamed (chunked) when set


Responder = Callable[[Recorded], Reply]


def status_body(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class StubServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[tuple[str, str], Responder] = {}
        self._ssl = ssl_context
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def on(self, method: str, path: str, reply: Reply | Responder) -> None:
        if isinstance(reply, Reply):
            fixed = reply

            def constant(_req: Recorded) -> Reply:
                return fixed

            self.routes[(method, path)] = constant
        else:
            self.routes[(method, path)] = reply

    @property
    def url(self) -> str:
        assert self._httpd is not None
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                stub.requests.append(rec)
                responder = stub.routes.get((self.command, split.path))
                if responder is None:
                    reply = Reply(404, status_body(404, "NotFound", f"no route {split.path}"))
                else:
                    reply = responder(rec)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.code)
                headers = {"Content-Type": "application/json", **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                if reply.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in reply.chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if isinstance(reply.body, bytes):
                    data = reply.body
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                elif reply.body is None:
                    data = b""
                else:
                    data = json.dumps(reply.body).encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if self._ssl is not None:
            self._httpd.socket = self._ssl.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)


def watch_lines(*events: dict[str, Any]) -> list[bytes]:
    return [json.dumps(e).encode() + b"\n" for e in events]
