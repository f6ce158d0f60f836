"""Watch latency from a write to its delivery, 100 watchers at 200 writes/s.

The issue's goal: p99 <= 20 ms from commit to delivery with 100 watch streams while a
writer commits 200 objects a second. Everything goes through the HTTP API, as a
controller sees it: 100 streams ``GET /api/v1/namespaces/bench/configmaps?watch=true
&resourceVersion=RV`` held open by a separate process (:mod:`benchmarks.watchers`), and a
writer here that creates one ConfigMap every 5 ms on an open-loop schedule with
``data.t = time.time()`` taken just before it sends the request. A watcher's latency for
an event is its receive time minus ``t`` (one machine, one clock).

``t`` is taken before the write, so each figure also contains the write's own request
handling and durable commit: it is an upper bound on commit-to-delivery. The write's
latency (POST to acknowledgement) is reported beside it. The watcher and writer
processes share the two cores with the server; their CPU use is reported, so a
saturated load generator would be visible in the result.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from benchmarks.common import (
    REPO,
    ApiServer,
    Goal,
    LoadError,
    Report,
    Table,
    arg_parser,
    ensure_namespace,
    proc_cpu_seconds,
    publish,
    run_apiserver,
    stop_process,
    summarize,
    temp_dir,
)

NAMESPACE = "bench"


@dataclass(frozen=True)
class Sizes:
    watchers: int
    rate: float  # writes per second
    duration: float  # seconds of writing
    writers: int = 8  # writer threads sharing the schedule


FULL = Sizes(watchers=100, rate=200.0, duration=20.0)
QUICK = Sizes(watchers=5, rate=50.0, duration=1.0)


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _wait_line(proc: subprocess.Popen[bytes], want: bytes, timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LoadError(f"watchers did not print {want!r} in {timeout}s")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            if not line:
                raise LoadError(f"watchers exited ({proc.wait()}) before {want!r}")
            if line.strip() == want:
                return


@dataclass
class Writes:
    sent: list[float]  # time.time() just before each write's request (= data.t)
    latency: list[float]  # seconds from request to acknowledgement
    lag: list[float]  # seconds each write was sent after its scheduled slot
    wall: float  # seconds from the first slot to the last acknowledgement


def write_paced(server: ApiServer, n: int, rate: float, writers: int) -> Writes:
    """Create ``n`` objects on an open-loop schedule of ``rate``/s.

    Write i is due at ``start + i / rate``. ``writers`` threads, each with its own
    connection, take the slots in turn, so one slow acknowledgement does not delay the
    next write (a single closed-loop writer falls behind as soon as a write takes longer
    than the 5 ms interval, and would then measure a lower rate than the goal's).
    """
    w = Writes([0.0] * n, [0.0] * n, [0.0] * n, 0.0)
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    headers = {"Content-Type": "application/json"}
    clients = [server.client() for _ in range(writers)]
    errors: list[BaseException] = []
    try:
        for c in clients:
            c.get("/readyz").raise_for_status()
        start = time.perf_counter() + 0.05

        def writer(k: int) -> None:
            c = clients[k]
            try:
                for i in range(k, n, writers):
                    slot = start + i / rate
                    delay = slot - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    t0 = time.perf_counter()
                    t = time.time()
                    body = orjson.dumps(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": f"w-{i:06d}", "namespace": NAMESPACE},
                            "data": {"i": str(i), "t": repr(t)},
                        }
                    )
                    r = c.post(path, content=body, headers=headers)
                    w.latency[i] = time.perf_counter() - t0
                    w.sent[i] = t
                    w.lag[i] = max(0.0, t0 - slot)
                    if r.status_code != 201:
                        raise LoadError(f"create: {r.status_code} {r.text[:300]}")
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        w.wall = time.perf_counter() - start
        if errors:
            raise LoadError(f"writer failed: {errors[0]!r}") from errors[0]
        r = clients[0].post(
            path,
            content=orjson.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "end", "namespace": NAMESPACE},
                    "data": {"end": "1"},
                }
            ),
            headers=headers,
        )
        if r.status_code != 201:
            raise LoadError(f"create end marker: {r.status_code} {r.text[:300]}")
    finally:
        for c in clients:
            c.close()
    return w


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    n = int(sizes.rate * sizes.duration)
    with run_apiserver() as server, temp_dir("kctl-bench-watch-") as d:
        with server.client() as c:
            ensure_namespace(c, NAMESPACE)
            r = c.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps")
            r.raise_for_status()
            rv = r.json()["metadata"]["resourceVersion"]
        out = d / "watchers.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.watchers",
            "--port",
            str(server.port),
            "--ca",
            str(server.ca),
            "--namespace",
            NAMESPACE,
            "--rv",
            str(rv),
            "--watchers",
            str(sizes.watchers),
            "--events",
            str(n),
            "--timeout",
            str(sizes.duration + 60),
            "--out",
            str(out),
        ]
        env = {
            **os.environ,
            "KCTL_BENCH_TOKEN": server.token,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=REPO
        )
        try:
            _wait_line(proc, b"READY", 60)
            time.sleep(0.2)  # let every stream settle before the first write
            srv0, me0 = proc_cpu_seconds(server.proc.pid), self_cpu_seconds()
            writes = write_paced(server, n, sizes.rate, sizes.writers)
            srv1, me1 = proc_cpu_seconds(server.proc.pid), self_cpu_seconds()
            _wait_line(proc, b"DONE", sizes.duration + 90)
            proc.wait(30)
        finally:
            stop_process(proc)
        result: dict[str, Any] = orjson.loads(out.read_bytes())

    delays: list[float] = []
    missing = 0
    for recv in result["recv"]:
        for i, t in enumerate(recv):
            if t is None:
                missing += 1
            else:
                delays.append(t - writes.sent[i])
    if not delays:
        raise LoadError(f"no watch event was delivered: {result['errors']}")
    s = summarize(delays)
    w = summarize(writes.latency, writes.wall)
    lag = summarize(writes.lag)
    wall = writes.wall
    achieved = n / wall
    expected = n * sizes.watchers
    latency = Table(
        title=f"{sizes.watchers} watch streams, {sizes.rate:.0f} creates/s for "
        f"{sizes.duration:.0f} s (write sent -> event received)",
        columns=[
            "watchers",
            "writes",
            "writes/s achieved",
            "events expected",
            "delivered",
            "missing",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "write p50 ms",
            "write p99 ms",
            "send lag p99 ms",
        ],
        rows=[
            [
                sizes.watchers,
                n,
                achieved,
                expected,
                len(delays),
                missing,
                s.p50_ms,
                s.p90_ms,
                s.p99_ms,
                s.max_ms,
                w.p50_ms,
                w.p99_ms,
                lag.p99_ms,
            ]
        ],
    )
    cpu = Table(
        title="CPU during the writing phase (% of one core; the machine has 2)",
        columns=["API server", "writer process", "watcher process"],
        rows=[
            [
                f"{(srv1 - srv0) / wall * 100:.0f}%",
                f"{(me1 - me0) / wall * 100:.0f}%",
                f"{result['cpu_s'] / result['wall_s'] * 100:.0f}%",
            ]
        ],
    )
    held = achieved >= 0.95 * sizes.rate
    goals = [
        Goal(
            "watch delivery p99, 100 watchers at 200 writes/s",
            "<= 20 ms",
            f"{s.p99_ms:.1f} ms at {achieved:.0f} writes/s"
            + ("" if held else " (rate NOT held)")
            + (f", {missing} missing" if missing else ""),
            s.p99_ms <= 20.0 and missing == 0 and held,
        ),
    ]
    notes = [
        "Latency is measured from just before the write's POST, so it includes the write "
        "request and its durable commit (upper bound on commit -> delivery).",
        f"{sizes.writers} writer threads keep an open-loop schedule; 'send lag' is how late "
        "a write left against its slot (a large lag means the rate was not held).",
        f"Ordering: {result['out_of_order']} out-of-order and {result['duplicates']} duplicate "
        f"events; {result['finished']}/{sizes.watchers} streams saw the end marker.",
    ]
    if result["errors"]:
        notes.append(f"Watcher stream errors: {result['errors']}")
    if (sizes.watchers, sizes.rate) != (FULL.watchers, FULL.rate):
        goals[0].what = (
            f"watch delivery p99, {sizes.watchers} watchers at "
            f"{sizes.rate:.0f} writes/s (reduced run)"
        )
    return [latency, cpu], goals, notes


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--watchers", type=int, help="override the number of watch streams")
    p.add_argument("--rate", type=float, help="override writes per second")
    p.add_argument("--duration", type=float, help="override seconds of writing")
    p.add_argument("--writers", type=int, help="writer threads (default 8)")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        watchers=args.watchers or base.watchers,
        rate=args.rate or base.rate,
        duration=args.duration or base.duration,
        writers=args.writers or base.writers,
    )
    return publish(
        "bench_watch_latency", "Watch latency through the HTTP API", argv, run(sizes), args.json
    )


if __name__ == "__main__":
    main()
