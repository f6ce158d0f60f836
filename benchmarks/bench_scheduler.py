"""Scheduler throughput, kube-scheduler's SchedulingBasic shape, through a real API server.

Setup (not measured): ``kctl apiserver`` on loopback; N Ready Node objects (4 cpu,
32Gi, 110 pods; no agents, no leases) created through the API; 1,000 pods created
already bound (spread over the nodes); then 10,000 pending pods (100m cpu, 128Mi).

Measured: the scheduler (``reconciler.scheduler.new`` on its own AsyncClient, informer
factory and event recorder, in this process) is started; its informers list the
cluster and it binds every pending pod. Throughput is pods bound per second between
10% and 90% of the pending pods bound (API-acknowledged bindings), as
scheduler_perf reports it. Where time goes is reported beside it: the scheduler
process's CPU (all of it: informers, JSON, HTTP, decisions), the part spent deciding
(filter + score + assume), the API server's CPU, and binding latency.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    ensure_namespace,
    percentile,
    publish,
    run_apiserver,
    threaded_load,
)

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


def _proc_cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    nodes: int
    pending: int
    rate: float  # pods/s from 10% to 90% bound
    wall: float  # start of the scheduler to the last binding
    sync: float  # informers listed (start -> run loop started)
    sched_cpu: float
    decide_s: float
    api_cpu: float
    bind_p50_ms: float
    bind_p99_ms: float
    failed: int


async def _measure(server: ApiServer, nodes: int, pending: int, options: dict[str, str]) -> Run:
    from kctl.client.http import AsyncClient
    from kctl.client.informer import InformerFactory
    from reconciler.controller import ControllerContext
    from reconciler.scheduler import new

    client = AsyncClient.from_kubeconfig(str(server.kubeconfig))
    informers = InformerFactory(client)
    ctx = ControllerContext(client=client, informers=informers, options=options)
    controller = new(ctx)
    sched = controller.scheduler
    decide = [0.0]
    inner = sched.schedule_one

    def timed_schedule_one(qp: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(qp)
        finally:
            decide[0] += time.perf_counter() - t0

    sched.schedule_one = timed_schedule_one  # type: ignore[method-assign]
    bind_lat: list[float] = []
    create = client.create

    async def timed_create(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await create(*args, **kwargs)
        finally:
            if kwargs.get("subresource") == "binding":
                bind_lat.append(time.perf_counter() - t0)

    client.create = timed_create  # type: ignore[method-assign]
    marks: list[float] = []
    lo, hi = int(pending * 0.1), int(pending * 0.9)
    cpu0, api0 = time.process_time(), _proc_cpu_seconds(server.proc.pid)
    t0 = time.perf_counter()
    await informers.start()
    task = asyncio.create_task(controller.run())
    await informers.wait_synced()
    synced = time.perf_counter() - t0
    try:
        while sched.bound < pending:
            if task.done():
                task.result()
                raise LoadError("scheduler stopped")
            if len(marks) == 0 and sched.bound >= lo:
                marks.append(time.perf_counter())
            if len(marks) == 1 and sched.bound >= hi:
                marks.append(time.perf_counter())
            if time.perf_counter() - t0 > 600:
                raise LoadError(f"only {sched.bound}/{pending} bound after 600 s")
            await asyncio.sleep(0.005)
        wall = time.perf_counter() - t0
        if len(marks) < 2:
            marks = [t0, time.perf_counter()]
        cpu, api = time.process_time() - cpu0, _proc_cpu_seconds(server.proc.pid) - api0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await informers.stop()
        await ctx.recorder("default-scheduler").aclose()
        await client.aclose()
    lat = sorted(bind_lat)
    return Run(
        nodes,
        pending,
        (hi - lo) / (marks[1] - marks[0]),
        wall,
        synced,
        cpu,
        decide[0],
        api,
        percentile(lat, 50) * 1e3,
        percentile(lat, 99) * 1e3,
        sched.failed,
    )


def one(nodes: int, sizes: Sizes) -> Run:
    with run_apiserver() as server:
        with server.client() as c:
            ensure_namespace(c, NAMESPACE)
        create_nodes(server, nodes, sizes.clients)
        create_pods(server, "bound", sizes.bound, sizes.clients, nodes)
        create_pods(server, "pending", sizes.pending, sizes.clients)
        return asyncio.run(_measure(server, nodes, sizes.pending, sizes.options))


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    runs = [one(n, sizes) for n in sizes.nodes]
    rows: list[list[Any]] = [
        [
            f"{r.nodes:,}",
            f"{r.pending:,}",
            r.rate,
            r.wall,
            r.sync,
            f"{r.sched_cpu:.1f} s ({r.sched_cpu / r.wall * 100:.0f}%)",
            f"{r.decide_s:.1f} s ({r.decide_s / r.pending * 1e6:.0f} us/pod)",
            f"{r.api_cpu:.1f} s ({r.api_cpu / r.wall * 100:.0f}%)",
            r.bind_p50_ms,
            r.bind_p99_ms,
        ]
        for r in runs
    ]
    table = Table(
        title=f"Scheduling {sizes.pending:,} pending pods ({sizes.bound:,} already bound), through kctl apiserver",
        columns=[
            "nodes",
            "pods",
            "pods/s (10-90%)",
            "wall s",
            "informer sync s",
            "scheduler CPU (of wall)",
            "deciding",
            "apiserver CPU (of wall)",
            "bind p50 ms",
            "bind p99 ms",
        ],
        rows=rows,
    )
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
        "Bound = the API server acknowledged the pods/binding POST; the scheduler also "
        "records a Scheduled event per pod (through its event recorder).",
        "Deciding = filter + score + assume (the synchronous part of a scheduling cycle); "
        "the rest of the scheduler's CPU is HTTP (bindings, events), the informers' JSON "
        "decoding and the event loop.",
        f"Unschedulable outcomes during the runs: {', '.join(str(r.failed) for r in runs)}.",
    ]
    return [table], goals, notes


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
        help="a scheduler controller option",
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
