"""Scheduler throughput, kube-scheduler's SchedulingBasic shape, through a real API server.

Setup (not measured), as scheduler_perf sets it up: ``kctl apiserver`` on loopback; N
Ready Node objects (4 cpu, 32Gi, 110 pods; no agents, no leases) created through the
API; 1,000 pods created already bound (spread over the nodes); then 10,000 pending pods
(100m cpu, 128Mi).

Measured: ``kctl reconciler --controllers scheduler`` is started as its own process, as
a user starts it; its informers list the cluster and it binds every pending pod. The
benchmark sees the bindings only from the outside, through a watch on the pods, and
reads CPU from /proc: throughput is pods bound per second between 10% and 90% of the
pending pods bound, as scheduler_perf reports it, and progress is sampled every second.
Beside it: the scheduler's and the API server's CPU, and the CPU that other processes
on this shared two-core machine took meanwhile (it slows the run).
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.common import (
    ApiServer,
    Goal,
    LoadError,
    Report,
    Table,
    arg_parser,
    busy_cpu_seconds,
    component,
    ensure_namespace,
    proc_cpu_seconds,
    publish,
    run_apiserver,
    temp_dir,
    threaded_load,
)
from kctl.client.http import AsyncClient
from kctl.client.resources import PODS

NAMESPACE = "sched"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
GOAL_PODS_PER_S = 700.0


@dataclass(frozen=True)
class Sizes:
    nodes: tuple[int, ...]
    bound: int
    pending: int
    clients: int = 8
    options: dict[str, str] = field(default_factory=dict)


FULL = Sizes(nodes=(5000, 500), bound=1000, pending=10_000)
QUICK = Sizes(nodes=(100,), bound=100, pending=500)


def node_body(i: int) -> dict[str, Any]:
    name = f"node-{i:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": f"zone-{i % 3}",
            },
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }


def pod_body(name: str, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "pause",
                "image": "registry.k8s.io/pause:3.9",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            }
        ]
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "bench"}},
        "spec": spec,
    }


def _fill(
    server: ApiServer, n: int, clients: int, op_for: Callable[[httpx.Client, int], None]
) -> None:
    per = -(-n // clients)
    conns: list[httpx.Client] = []

    def setup(i: int) -> Callable[[int], object]:
        c = server.client()
        conns.append(c)

        def op(j: int) -> object:
            k = i * per + j
            if k < n:
                op_for(c, k)
            return None

        return op

    try:
        threaded_load(clients, per, setup)
    finally:
        for c in conns:
            c.close()


def _expect(r: httpx.Response, *codes: int) -> None:
    if r.status_code not in codes:
        raise LoadError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")


def create_nodes(server: ApiServer, n: int, clients: int) -> None:
    def op(c: httpx.Client, i: int) -> None:
        body = node_body(i)
        r = c.post("/api/v1/nodes", content=orjson.dumps(body), headers=JSON)
        _expect(r, 201)
        created = r.json()
        if (created.get("status") or {}).get("allocatable") != body["status"]["allocatable"]:
            created["status"] = body["status"]
            name = body["metadata"]["name"]
            r = c.put(f"/api/v1/nodes/{name}/status", content=orjson.dumps(created), headers=JSON)
            _expect(r, 200)

    _fill(server, n, clients, op)


def create_pods(server: ApiServer, prefix: str, n: int, clients: int, nodes: int = 0) -> None:
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"

    def op(c: httpx.Client, i: int) -> None:
        node = f"node-{i % nodes:05d}" if nodes else ""
        r = c.post(path, content=orjson.dumps(pod_body(f"{prefix}-{i:05d}", node)), headers=JSON)
        _expect(r, 201)

    _fill(server, n, clients, op)


# --- watching the scheduler from the outside ----------------------------------------


@dataclass(frozen=True)
class Usage:
    """CPU seconds each party used over ``wall`` seconds."""

    wall: float
    scheduler: float
    apiserver: float
    own: float  # this benchmark process: the pod watch
    others: float  # everything else on the machine

    def cores(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.wall if self.wall > 0 else 0.0


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far, read at one moment ``at`` (perf_counter) from /proc."""

    at: float
    scheduler: float
    apiserver: float
    own: float
    busy: float  # all processors, every process

    @classmethod
    def read(cls, scheduler_pid: int, apiserver_pid: int) -> Cpu:
        return cls(
            time.perf_counter(),
            proc_cpu_seconds(scheduler_pid),
            proc_cpu_seconds(apiserver_pid),
            time.process_time(),
            busy_cpu_seconds(),
        )

    def since(self, earlier: Cpu) -> Usage:
        scheduler = self.scheduler - earlier.scheduler
        apiserver = self.apiserver - earlier.apiserver
        own = self.own - earlier.own
        busy = self.busy - earlier.busy
        return Usage(
            self.at - earlier.at,
            scheduler,
            apiserver,
            own,
            max(0.0, busy - scheduler - apiserver - own),
        )


def _unschedulable(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
        for c in (pod.get("status") or {}).get("conditions") or ()
    )


@dataclass
class BindWatch:
    """One watch on the benchmark's pods: when each was first seen bound.

    Bound = ``spec.nodeName`` set, the binding as every other client sees it; the time is
    the watch event's arrival here. At the counts in ``marks`` the CPU is read through
    ``probe`` at once, so the CPU figures of the 10%-90% window start and stop with it.
    """

    client: AsyncClient
    resource_version: str
    marks: set[int]
    probe: Callable[[], Cpu] | None = None
    bound: list[float] = field(default_factory=list)  # arrival times, in order
    at_mark: dict[int, Cpu] = field(default_factory=dict)
    unschedulable: set[str] = field(default_factory=set)
    error: Exception | None = None
    _seen: set[str] = field(default_factory=set)

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # shown by the measuring loop, not lost in the task
            self.error = exc
            raise

    async def _run(self) -> None:
        rv = self.resource_version
        while True:
            async for kind, obj in self.client.watch(PODS, NAMESPACE, resource_version=rv):
                now = time.perf_counter()
                md = obj.get("metadata") or {}
                rv = str(md.get("resourceVersion") or rv)
                if kind not in ("ADDED", "MODIFIED"):
                    continue
                name = str(md.get("name"))
                if name in self._seen:
                    continue
                if (obj.get("spec") or {}).get("nodeName"):
                    self._seen.add(name)
                    self.bound.append(now)
                    if len(self.bound) in self.marks and self.probe is not None:
                        self.at_mark[len(self.bound)] = self.probe()
                elif _unschedulable(obj):
                    self.unschedulable.add(name)


@dataclass
class Run:
    nodes: int
    pending: int
    rate: float  # pods/s from 10% to 90% bound
    wall: float  # scheduler process started -> last pod seen bound
    first: float  # scheduler process started -> first pod seen bound
    scheduler_cpu: float  # the scheduler process's CPU seconds, from exec to the last pod
    window: Usage  # 10% -> 90% bound
    whole: Usage  # process started -> last pod bound
    unschedulable: int
    progress: list[list[Any]]


def _scheduler_args(kubeconfig: str, options: dict[str, str]) -> list[str]:
    """``kctl reconciler --controllers scheduler`` as a user starts it (leader election
    on, as by default)."""
    args = ["reconciler", "--kubeconfig", kubeconfig, "--controllers", "scheduler"]
    for key, value in options.items():
        args += ["--controller-option", f"{key}={value}"]
    return args


async def _follow(
    watch: BindWatch,
    proc: subprocess.Popen[bytes],
    probe: Callable[[], Cpu],
    start: Cpu,
    pending: int,
    timeout: float = 600.0,
) -> list[tuple[Cpu, int]]:
    """Wait until every pending pod is seen bound, reading CPU and progress every second."""
    samples = [(start, 0)]
    next_at = start.at + 1.0
    while len(watch.bound) < pending:
        if watch.error is not None:
            raise LoadError(f"the pod watch failed: {watch.error!r}") from watch.error
        if proc.poll() is not None:
            raise LoadError(f"the scheduler exited with status {proc.returncode}")
        now = time.perf_counter()
        if now - start.at > timeout:
            raise LoadError(f"only {len(watch.bound):,}/{pending:,} bound after {timeout:.0f} s")
        if now >= next_at:
            samples.append((probe(), len(watch.bound)))
            next_at += 1.0
        await asyncio.sleep(0.02)
    if samples[-1][0].at > watch.at_mark[pending].at - 0.25 and len(samples) > 1:
        samples.pop()  # a last interval of a few ms would give meaningless rates
    return [*samples, (watch.at_mark[pending], pending)]


def _progress(samples: list[tuple[Cpu, int]], max_rows: int = 30) -> list[list[Any]]:
    """Rows of (t, bound, pods/s, CPU cores of each party) between chosen samples."""
    step = max(1, -(-(len(samples) - 1) // max_rows))
    chosen = samples[::step]
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    start = samples[0][0]
    rows: list[list[Any]] = []
    for (a, bound_a), (b, bound_b) in pairwise(chosen):
        u = b.since(a)
        rows.append(
            [
                round(b.at - start.at, 1),
                bound_b,
                (bound_b - bound_a) / u.wall,
                u.cores(u.scheduler),
                u.cores(u.apiserver),
                u.cores(u.others),
            ]
        )
    return rows


async def _measure(
    server: ApiServer, logs: Path, nodes: int, pending: int, options: dict[str, str]
) -> Run:
    lo, hi = max(1, pending // 10), max(1, pending * 9 // 10)
    client = AsyncClient.from_kubeconfig(str(server.kubeconfig))
    try:
        listed = await client.list(PODS, NAMESPACE)
        waiting = sum(1 for p in listed["items"] if not (p.get("spec") or {}).get("nodeName"))
        if waiting != pending:
            raise LoadError(f"{waiting:,} pods wait for a node, not {pending:,}")
        watch = BindWatch(client, str(listed["metadata"]["resourceVersion"]), {lo, hi, pending})
        task = asyncio.create_task(watch.run())
        args = _scheduler_args(str(server.kubeconfig), options)
        try:
            with component(args, logs / "scheduler.log") as proc:

                def probe() -> Cpu:
                    return Cpu.read(proc.pid, server.proc.pid)

                watch.probe = probe
                start = probe()
                samples = await _follow(watch, proc, probe, start, pending)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await client.aclose()
    end = watch.at_mark[pending]
    t = watch.bound
    return Run(
        nodes,
        pending,
        (hi - lo) / (t[hi - 1] - t[lo - 1]) if hi > lo else math.nan,
        t[-1] - start.at,
        t[0] - start.at,
        end.scheduler,
        watch.at_mark[hi].since(watch.at_mark[lo]),
        end.since(start),
        len(watch.unschedulable),
        _progress(samples),
    )


def one(nodes: int, sizes: Sizes) -> Run:
    with run_apiserver() as server, temp_dir("kctl-bench-sched-") as logs:
        with server.client() as c:
            ensure_namespace(c, NAMESPACE)
        create_nodes(server, nodes, sizes.clients)
        create_pods(server, "bound", sizes.bound, sizes.clients, nodes)
        create_pods(server, "pending", sizes.pending, sizes.clients)
        return asyncio.run(_measure(server, logs, nodes, sizes.pending, sizes.options))


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    runs = [one(n, sizes) for n in sizes.nodes]
    table = Table(
        title=f"Scheduling {sizes.pending:,} pending pods ({sizes.bound:,} already bound): "
        "kctl reconciler --controllers scheduler against kctl apiserver",
        columns=[
            "nodes",
            "pods",
            "pods/s (10-90%)",
            "wall s",
            "first bound s",
            "scheduler CPU s",
            "scheduler cores (10-90%)",
            "apiserver cores (10-90%)",
            "others' cores (10-90%)",
            "others' cores (wall)",
        ],
        rows=[
            [
                r.nodes,
                r.pending,
                r.rate,
                r.wall,
                r.first,
                r.scheduler_cpu,
                r.window.cores(r.window.scheduler),
                r.window.cores(r.window.apiserver),
                r.window.cores(r.window.others),
                r.whole.cores(r.whole.others),
            ]
            for r in runs
        ],
    )
    progress = [
        Table(
            f"progress, {r.nodes:,} nodes (sampled every second from the scheduler's start)",
            ["t (s)", "bound", "pods/s", "scheduler cores", "apiserver cores", "others' cores"],
            r.progress,
        )
        for r in runs
    ]
    goals = [
        Goal(
            f"pods bound/s, {r.nodes:,} nodes",
            f">= {GOAL_PODS_PER_S:.0f} pods/s",
            f"{r.rate:,.0f} pods/s",
            r.rate >= GOAL_PODS_PER_S,
        )
        for r in runs
    ]
    notes = [
        "The scheduler is the real process, started as a user starts it: `python -m "
        "kctl.cli.main reconciler --kubeconfig K --controllers scheduler` (leader election "
        "on, as by default). Wall and first bound count from its start, so they include "
        "the interpreter's start, imports, taking the Lease and the informers' lists.",
        "Bound = the pod's spec.nodeName seen set through one watch on the namespace's pods "
        "in the benchmark process, timed at the event's arrival; pods/s is (90% - 10% of the "
        "pending pods) / the time between those two arrivals.",
        "CPU: user + system seconds from /proc/PID/stat of the scheduler and the API server "
        "(all threads); cores = CPU seconds / wall seconds of the interval. Others = all "
        "busy CPU from /proc/stat minus the two of them and this benchmark process (whose "
        "watch used "
        + ", ".join(f"{r.whole.own:.1f} s" for r in runs)
        + "): the machine is shared, and others' CPU on 2 cores slows the run.",
        f"Pods marked Unschedulable during the runs: {', '.join(str(r.unschedulable) for r in runs)}.",
    ]
    return [table, *progress], goals, notes


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, action="append", help="node count (repeatable)")
    p.add_argument("--pending", type=int, help="pending pods to schedule")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a scheduler option, passed as --controller-option (e.g. scheduler.KEY=VALUE)",
    )
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    options = dict(pair.split("=", 1) for pair in args.option)
    sizes = Sizes(
        tuple(args.nodes or base.nodes),
        base.bound,
        args.pending or base.pending,
        base.clients,
        options,
    )
    return publish(
        "bench_scheduler",
        "Scheduler throughput (SchedulingBasic)",
        argv,
        run(sizes),
        args.json,
    )


if __name__ == "__main__":
    main()
