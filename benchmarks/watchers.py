"""Many watch streams in one process, recording when each event arrives.

Run by :mod:`benchmarks.bench_watch_latency` as a separate process, so receiving
100 x 200 events/s does not share an interpreter (and a GIL) with the writer whose
timestamps it compares against. It must itself cost as little CPU as possible on a
two-core machine, or the benchmark measures the watchers instead of the server, so each
stream is a bare HTTP/1.1 request over an asyncio TLS connection (on uvloop), with the
chunked body decoded by hand and each line parsed once with orjson: no HTTP client
library per event.

Protocol with the parent: it prints ``READY`` once every stream has its response
headers, then receives until each stream has seen the object named ``end`` (or a
timeout), and writes JSON to ``--out``: per watcher, the receive time of event ``i`` in
``recv[i]`` (``None`` if it never came), plus counters and the process's CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson


class StreamError(RuntimeError):
    pass


async def _open_watch(
    host: str, port: int, path: str, token: str, ctx: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx, limit=1 << 22)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nUser-Agent: kctl-bench-watcher\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        rest = await asyncio.wait_for(reader.read(2000), 5)
        raise StreamError(f"watch {path}: {status!r} {rest[:500]!r}")
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, val = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in val.lower():
            chunked = True
    if not chunked:
        raise StreamError(f"watch {path}: expected a chunked response")
    return reader, writer


class Watcher:
    def __init__(self, n_events: int) -> None:
        self.recv: list[float | None] = [None] * n_events
        self.events = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.last_rv = 0
        self.done = False

    def feed_line(self, line: bytes, now: float) -> None:
        ev = orjson.loads(line)
        if ev.get("type") not in ("ADDED", "MODIFIED"):
            return
        obj = ev["object"]
        rv = int(obj["metadata"]["resourceVersion"])
        if rv <= self.last_rv:
            self.out_of_order += 1
        self.last_rv = rv
        data = obj.get("data") or {}
        if "end" in data:
            self.done = True
            return
        i = int(data.get("i", -1))
        if 0 <= i < len(self.recv):
            self.events += 1
            if self.recv[i] is not None:
                self.duplicates += 1
            self.recv[i] = now


async def _run_stream(w: Watcher, reader: asyncio.StreamReader) -> None:
    buf = b""
    clock = time.time
    while not w.done:
        size_line = await reader.readline()
        if not size_line:
            raise StreamError("watch stream closed by the server")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            raise StreamError("watch stream ended by the server")
        chunk = await reader.readexactly(size + 2)
        now = clock()
        buf += chunk[:-2]
        if b"\n" not in buf:
            continue
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.strip():
                w.feed_line(line, now)


async def watch_all(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ["KCTL_BENCH_TOKEN"]
    ctx = ssl.create_default_context(cafile=args.ca)
    path = (
        f"/api/v1/namespaces/{args.namespace}/configmaps"
        f"?watch=true&resourceVersion={args.rv}&allowWatchBookmarks=true"
    )
    watchers = [Watcher(args.events) for _ in range(args.watchers)]
    conns = await asyncio.gather(
        *(_open_watch(args.host, args.port, path, token, ctx) for _ in watchers)
    )
    print("READY", flush=True)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    tasks = [
        asyncio.ensure_future(_run_stream(w, r)) for w, (r, _) in zip(watchers, conns, strict=True)
    ]
    errors: list[str] = []
    try:
        done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        for t in pending:
            t.cancel()
        for t in done:
            if t.exception() is not None:
                errors.append(repr(t.exception()))
    finally:
        for _, wr in conns:
            wr.close()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - t0
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "recv": [w.recv for w in watchers],
        "events": [w.events for w in watchers],
        "duplicates": sum(w.duplicates for w in watchers),
        "out_of_order": sum(w.out_of_order for w in watchers),
        "finished": sum(w.done for w in watchers),
        "errors": errors[:5],
        "cpu_s": cpu,
        "wall_s": wall,
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--namespace", default="bench")
    p.add_argument("--rv", required=True)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--events", type=int, required=True, help="events numbered 0..N-1")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(watch_all(args))
    Path(args.out).write_bytes(orjson.dumps(result))
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
