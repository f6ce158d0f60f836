"""Pod startup latency on a real containerd node, against raw CRI and ``ctr run``.

Kubernetes' pod startup SLO measures, for stateless pods whose image is already on the
node, the time from the pod's creation to all its containers reported started, as
observed through a watch. The pod's ``creationTimestamp`` has one-second resolution, so
the clock is the client's: the time just before the create request is sent, and the
time the watch (opened before any pod is created) first shows the pod with every
``containerStatuses[].state.running`` set. The node agent's work (sandbox, cgroup,
volumes, env, container create and start, status patch) and two API round trips (the
create and the status write seen through the watch) are inside it.

Measured in one run, on one ``kctl node --runtime containerd`` with its own containerd
(started as the e2e tests start it; image built with ``kctl image busybox`` and imported
first):

1. kctl, one pod at a time with ``spec.nodeName`` set (no scheduler: the SLO is about
   the node); each pod is deleted and waited for (gone from the API and its sandbox
   gone from CRI) before the next;
2. kctl, a batch of pods created at once on the node;
3. kctl, one pod at a time through the scheduler (``kctl reconciler`` started for it);
4. baseline: RunPodSandbox + CreateContainer + StartContainer straight against the same
   containerd (so the same CNI conflist and bridge), with sandboxes outside the node's
   labels and a cgroup parent of the benchmark's own;
5. baseline: ``ctr -n k8s.io run --rm IMAGE id echo hi`` against the same containerd;
6. baseline: as many raw CRI sequences as the batch has pods, all at once (what
   containerd alone makes of the batch on this machine).

Methods 1, 4 and 5 run interleaved, one sample of each per round, so the load of a
shared machine drifts over them alike.

Every method gets one unmeasured warm-up sample first. Everything is removed in
``finally``: pods, the agent (by PID), the node (``kctl node --cleanup``: containerd,
network, cgroups), the benchmark's own cgroups, the API server and the temp dirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Goal,
    Report,
    Summary,
    Table,
    arg_parser,
    component,
    free_port,
    publish,
    run_apiserver,
    summarize,
    temp_dir,
    wait,
)
from kctl.api import errors as api_errors
from kctl.client.http import AsyncClient, Client
from kctl.client.resources import NODES, PODS
from node.runtime import errors as cri_errors
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri.client import CriClient
from node.runtime.cri_runtime import cgroups, keys


@dataclass(frozen=True)
class Sizes:
    single: int
    batch: int
    scheduled: int


FULL = Sizes(single=20, batch=20, scheduled=10)
QUICK = Sizes(single=3, batch=3, scheduled=3)
GOAL_RATIO = 1.5  # single-pod p50 / raw CRI p50
GOAL_BATCH_P99_S = 2.5

NAMESPACE = "default"
CLUSTER_CIDR = "10.250.64.0/20"  # the project's test ranges are 10.250.x
POD_CIDR = "10.250.64.0/24"
IMAGE = "kctl.local/busybox:bench-startup"
COMMAND = ["sh", "-c", 'trap "exit 0" TERM; sleep 3600 & wait']
LABEL = "kctl-bench"
START_TIMEOUT = 120.0


def kctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "kctl.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"kctl {' '.join(args)}: {done.stderr[-2000:]}")
    return done


def pod_body(name: str, node: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {"name": "c", "image": IMAGE, "imagePullPolicy": "Never", "command": COMMAND}
        ],
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {LABEL: "startup"}},
        "spec": spec,
    }


def all_running(pod: dict[str, Any]) -> bool:
    """Every container of the pod reported running (the SLO's "started")."""
    wanted = len((pod.get("spec") or {}).get("containers") or ())
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    running = [s for s in statuses if (s.get("state") or {}).get("running")]
    return wanted > 0 and len(running) == wanted


# --- observing pods through one watch --------------------------------------------------


@dataclass
class StartWatch:
    """One watch on the benchmark's pods: when each was first seen running, and gone."""

    client: AsyncClient
    started: dict[str, float] = field(default_factory=dict)  # name -> perf_counter
    uids: dict[str, str] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    error: Exception | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # shown by the next wait instead of a silent timeout
            self.error = exc
            self._changed.set()
            raise

    async def _run(self) -> None:
        listed = await self.client.list(PODS, NAMESPACE, label_selector=f"{LABEL}=startup")
        rv = str(listed["metadata"]["resourceVersion"])
        self.present.update(p["metadata"]["name"] for p in listed["items"])
        self._ready.set()
        while True:
            async for kind, obj in self.client.watch(
                PODS, NAMESPACE, resource_version=rv, label_selector=f"{LABEL}=startup"
            ):
                now = time.perf_counter()
                md = obj.get("metadata") or {}
                rv = str(md.get("resourceVersion") or rv)
                if kind == "BOOKMARK":
                    continue
                name = str(md.get("name"))
                if kind == "DELETED":
                    self.present.discard(name)
                else:
                    self.present.add(name)
                    self.uids[name] = str(md.get("uid"))
                    if name not in self.started and all_running(obj):
                        self.started[name] = now
                self._changed.set()

    async def until(self, what: str, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.error is not None:
                raise RuntimeError(f"the pod watch failed: {self.error!r}") from self.error
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))

    async def wait_ready(self) -> None:
        await asyncio.wait_for(self._ready.wait(), 30)


class Cluster:
    """The API side of the run: a client for writes, the watch, CRI of the node."""

    def __init__(self, kubeconfig: Path, socket: str) -> None:
        self.client = AsyncClient.from_kubeconfig(str(kubeconfig))
        self.watch_client = AsyncClient.from_kubeconfig(str(kubeconfig))
        self.watch = StartWatch(self.watch_client)
        self.cri = CriClient(socket)
        self.create_rtt: list[float] = []  # POST round trips, every pod
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Cluster:
        self._task = asyncio.create_task(self.watch.run(), name="startup-watch")
        await self.watch.wait_ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()
        await self.watch_client.aclose()
        await self.cri.close()

    async def start_pods(self, names: Sequence[str], node: str | None) -> list[float]:
        """Create the pods at once; each one's latency from its create sent to running."""
        sent: dict[str, float] = {}

        async def create(name: str) -> None:
            sent[name] = time.perf_counter()
            await self.client.create(PODS, pod_body(name, node), NAMESPACE)
            self.create_rtt.append(time.perf_counter() - sent[name])

        await asyncio.gather(*(create(n) for n in names))
        started = self.watch.started
        await self.watch.until(
            f"pods {', '.join(names)} running",
            lambda: all(n in started for n in names),
            START_TIMEOUT,
        )
        return [started[n] - sent[n] for n in names]

    async def delete_pods(self, names: Sequence[str]) -> None:
        """Delete and wait until gone from the API and their sandboxes gone from CRI."""
        uids = [self.watch.uids[n] for n in names if n in self.watch.uids]
        for name in names:
            with contextlib.suppress(api_errors.NotFound):
                await self.client.delete(PODS, name, NAMESPACE)
        present = self.watch.present
        await self.watch.until(
            "pods deleted", lambda: not any(n in present for n in names), START_TIMEOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        for uid in uids:
            while await self.cri.list_pod_sandboxes(labels={keys.POD_UID: uid}):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sandbox of pod {uid} not removed")
                await asyncio.sleep(0.05)

    async def delete_all(self) -> None:
        await self.delete_pods(sorted(self.watch.present))


async def one_at_a_time(
    cluster: Cluster, prefix: str, samples: int, node: str | None
) -> list[float]:
    """``samples`` pods, one at a time, after one unmeasured warm-up pod."""
    out: list[float] = []
    for i in range(samples + 1):
        name = f"{prefix}-{i}"
        latency = (await cluster.start_pods([name], node))[0]
        if i:
            out.append(latency)
        await cluster.delete_pods([name])
    return out


# --- baselines ---------------------------------------------------------------------------


@dataclass
class RawSample:
    sandbox: float
    create: float
    start: float

    @property
    def total(self) -> float:
        return self.sandbox + self.create + self.start


def raw_configs(
    i: int, log_root: Path, cgroup_parent: str, image_id: str
) -> tuple[pb.PodSandboxConfig, pb.ContainerConfig]:
    uid = str(uuid.uuid4())
    name = f"raw-{i}"
    log_dir = log_root / uid
    log_dir.mkdir(parents=True, exist_ok=True)
    sandbox = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="kctl-bench-raw"),
        hostname=name,
        log_directory=str(log_dir),
        dns_config=pb.DNSConfig(
            servers=["10.96.0.10"], searches=["default.svc.cluster.local"], options=["ndots:5"]
        ),
        labels={LABEL: "raw", keys.POD_UID: uid},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"{cgroup_parent}/pod{uid}",
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)
            ),
        ),
    )
    container = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name="c"),
        image=pb.ImageSpec(image=image_id),
        command=COMMAND,
        log_path="c/0.log",
        labels={LABEL: "raw"},
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(cpu_shares=2, oom_score_adj=1000),
        ),
    )
    return sandbox, container


@dataclass
class Baselines:
    """Both baselines against the node's own containerd, one sample at a time."""

    cri: CriClient
    socket: str
    log_root: Path
    raw_cgroup: str  # the benchmark's own cgroup parents, removed at the end
    ctr_cgroup: str
    image_id: str = ""
    count: int = 0

    async def raw_start(self) -> tuple[RawSample, str]:
        """The CRI sequence a kubelet issues for a one-container pod, timed call by call;
        returns the timings and the sandbox id (for :meth:`raw_remove`)."""
        cri, clock = self.cri, time.perf_counter
        if not self.image_id:
            image = await cri.image_status(IMAGE)
            if image is None:
                raise RuntimeError(f"{IMAGE} is not in the node's containerd")
            self.image_id = image.id
        self.count += 1
        sandbox_config, container_config = raw_configs(
            self.count, self.log_root, self.raw_cgroup, self.image_id
        )
        t0 = clock()
        sid = await cri.run_pod_sandbox(sandbox_config)
        t1 = clock()
        cid = await cri.create_container(sid, container_config, sandbox_config)
        t2 = clock()
        await cri.start_container(cid)
        t3 = clock()
        return RawSample(t1 - t0, t2 - t1, t3 - t2), sid

    async def raw_remove(self, sandbox_id: str) -> None:
        """StopPodSandbox kills its containers; RemovePodSandbox removes them too."""
        await self.cri.stop_pod_sandbox(sandbox_id)
        await self.cri.remove_pod_sandbox(sandbox_id)

    async def raw_batch(self, count: int) -> list[RawSample]:
        """``count`` sequences at once: what containerd alone does with a batch."""
        started = await asyncio.gather(*(self.raw_start() for _ in range(count)))
        await asyncio.gather(*(self.raw_remove(sid) for _, sid in started))
        return [sample for sample, _ in started]

    async def ctr_sample(self) -> float:
        """``ctr run --rm IMAGE id echo hi``: containerd's own client, no CRI, no CNI."""
        cid = f"kctl-bench-ctr-{secrets.token_hex(4)}"
        cmd = [
            "ctr", "--address", self.socket, "-n", "k8s.io", "run", "--rm",
            "--cgroup", f"{self.ctr_cgroup}/{cid}", IMAGE, cid, "echo", "hi",
        ]  # fmt: skip
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0 or out.strip() != b"hi":
            raise RuntimeError(f"ctr run: {proc.returncode} {out!r} {err[-500:]!r}")
        return elapsed

    async def remove_leftovers(self) -> None:
        """Whatever a failed raw sample left behind (its label is the benchmark's own)."""
        for sandbox in await self.cri.list_pod_sandboxes(labels={LABEL: "raw"}):
            with contextlib.suppress(cri_errors.CriError):
                await self.cri.stop_pod_sandbox(sandbox.id)
                await self.cri.remove_pod_sandbox(sandbox.id)


# --- the run ----------------------------------------------------------------------------


@dataclass
class Measured:
    single: list[float] = field(default_factory=list)
    create_rtt: list[float] = field(default_factory=list)  # of the single pods
    batch: list[float] = field(default_factory=list)
    scheduled: list[float] = field(default_factory=list)
    raw: list[RawSample] = field(default_factory=list)
    raw_batch: list[float] = field(default_factory=list)
    ctr: list[float] = field(default_factory=list)
    load: list[str] = field(default_factory=list)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def node_ready(client: Client, name: str) -> bool:
    try:
        node = client.get(NODES, name)
    except api_errors.ApiError:
        return False
    conds = {c["type"]: c["status"] for c in (node.get("status") or {}).get("conditions") or ()}
    return conds.get("Ready") == "True"


async def interleaved(
    cluster: Cluster, baselines: Baselines, rounds: int, node: str, m: Measured
) -> None:
    """Round by round: one kctl pod, one raw CRI sequence, one ``ctr run``, so the load
    of a shared machine drifts over all three alike. Round 0 is the warm-up."""
    for i in range(rounds + 1):
        name = f"single-{i}"
        latency = (await cluster.start_pods([name], node))[0]
        create_rtt = cluster.create_rtt[-1]
        await cluster.delete_pods([name])
        raw, sandbox_id = await baselines.raw_start()
        await baselines.raw_remove(sandbox_id)
        ctr = await baselines.ctr_sample()
        if i:
            m.single.append(latency)
            m.create_rtt.append(create_rtt)
            m.raw.append(raw)
            m.ctr.append(ctr)


async def measure(
    kubeconfig: Path,
    socket: str,
    node: str,
    sizes: Sizes,
    baselines: Callable[[CriClient], Baselines],
    with_scheduler: Callable[[], contextlib.AbstractContextManager[None]],
) -> Measured:
    m = Measured()
    async with Cluster(kubeconfig, socket) as cluster:
        base = baselines(cluster.cri)
        try:
            await interleaved(cluster, base, sizes.single, node, m)
            await cluster.start_pods(["batch-warmup"], node)
            await cluster.delete_pods(["batch-warmup"])
            names = [f"batch-{i}" for i in range(sizes.batch)]
            m.batch = await cluster.start_pods(names, node)
            await cluster.delete_pods(names)
            m.raw_batch = [r.total for r in await base.raw_batch(sizes.batch)]
            if sizes.scheduled:
                with with_scheduler():
                    m.scheduled = await one_at_a_time(cluster, "sched", sizes.scheduled, None)
        finally:
            await cluster.delete_all()
            await base.remove_leftovers()
    return m


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    node = f"bench-startup-{secrets.token_hex(2)}"
    load_before = load_average()
    with (
        run_apiserver(["--cluster-cidr", CLUSTER_CIDR]) as server,
        temp_dir("kctl-bench-startup-") as base,
    ):
        node_dir = base / "node"
        suffix = secrets.token_hex(3)
        raw_cgroup, ctr_cgroup = f"/kctl-bench-raw-{suffix}", f"/kctl-bench-ctr-{suffix}"

        def baselines(cri: CriClient) -> Baselines:
            return Baselines(cri, cri.socket_path, base / "raw-logs", raw_cgroup, ctr_cgroup)

        try:
            m = _run_node(
                server.kubeconfig, server.data_dir, node, node_dir, base, sizes, baselines
            )
        finally:
            cleanup = kctl(
                "node", "--name", node, "--data-dir", str(node_dir), "--cleanup", check=False
            )
            for parent in (raw_cgroup, ctr_cgroup):
                cgroups.remove(parent)
            if cleanup.returncode != 0:
                sys.stderr.write(f"kctl node --cleanup failed: {cleanup.stderr[-2000:]}\n")
    m.load = [load_before, load_average()]
    return report(m, sizes)


def _run_node(
    kubeconfig: Path, server_dir: Path, node: str, node_dir: Path, base: Path, sizes: Sizes,
    baselines: Callable[[CriClient], Baselines],
) -> Measured:  # fmt: skip
    kctl("kubeconfig", "create-node", node, "--data-dir", str(server_dir), "--node-ip", "127.0.0.1")
    creds = server_dir / "nodes"
    logs = base / "logs"
    logs.mkdir()
    verbosity = os.environ.get("KCTL_BENCH_AGENT_V")  # -v 4 to profile the agent
    agent = [
        "node", "--kubeconfig", str(creds / f"{node}.kubeconfig"), "--name", node,
        "--runtime", "containerd", "--data-dir", str(node_dir),
        "--agent-port", str(free_port()), "--pod-cidr", POD_CIDR,
        "--cluster-cidr", CLUSTER_CIDR,
        "--tls-cert-file", str(creds / f"{node}.crt"),
        "--tls-private-key-file", str(creds / f"{node}.key"),
        *(["-v", verbosity] if verbosity else []),
    ]  # fmt: skip
    client = Client.from_kubeconfig(str(kubeconfig))

    @contextlib.contextmanager
    def with_scheduler() -> Iterator[None]:
        reconciler = ["reconciler", "--kubeconfig", str(kubeconfig), "--no-leader-elect"]
        with component(reconciler, logs / "reconciler.log"):
            yield

    try:
        with component(agent, logs / "agent.log"):
            wait("the containerd node Ready", lambda: node_ready(client, node), timeout=120)
            archive = base / "busybox.tar"
            kctl("image", "busybox", "-t", IMAGE, "-o", str(archive))
            socket = str(node_dir / "containerd.sock")
            kctl("image", "load", str(archive), "--containerd-socket", socket)
            try:
                return asyncio.run(
                    measure(kubeconfig, socket, node, sizes, baselines, with_scheduler)
                )
            finally:
                keep = os.environ.get("KCTL_BENCH_KEEP_LOG")  # where to copy the agent's log
                if keep:
                    Path(keep).write_bytes((logs / "agent.log").read_bytes())
    finally:
        client.close()


def _row(what: str, s: Summary, raw_p50: float) -> list[Any]:
    return [what, s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.mean_ms, s.p50_ms / raw_p50]


def report(m: Measured, sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    raw = summarize([r.total for r in m.raw])
    single, batch = summarize(m.single), summarize(m.batch)
    raw_batch = summarize(m.raw_batch)
    rows = [
        _row("kctl: one pod at a time (nodeName set)", single, raw.p50_ms),
        _row(
            "  of which the create request (POST round trip)", summarize(m.create_rtt), raw.p50_ms
        ),
        _row(f"kctl: batch of {sizes.batch} at once (nodeName set)", batch, raw.p50_ms),
    ]
    if m.scheduled:
        rows.append(
            _row("kctl: one pod at a time, via the scheduler", summarize(m.scheduled), raw.p50_ms)
        )
    rows += [
        _row("raw CRI: RunPodSandbox + CreateContainer + StartContainer", raw, raw.p50_ms),
        _row("  RunPodSandbox (incl. CNI ADD)", summarize([r.sandbox for r in m.raw]), raw.p50_ms),
        _row("  CreateContainer", summarize([r.create for r in m.raw]), raw.p50_ms),
        _row("  StartContainer", summarize([r.start for r in m.raw]), raw.p50_ms),
        _row(
            f"raw CRI: batch of {sizes.batch} sequences at once",
            raw_batch,
            raw.p50_ms,
        ),
        _row("ctr run --rm IMAGE id echo hi", summarize(m.ctr), raw.p50_ms),
    ]
    columns = ["method", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "p50 / raw CRI p50"]  # fmt: skip
    ratio = single.p50_ms / raw.p50_ms
    goals = [
        Goal(
            "single pod p50 / raw CRI sequence p50",
            f"<= {GOAL_RATIO}x",
            f"{ratio:.2f}x ({single.p50_ms:.0f} / {raw.p50_ms:.0f} ms)",
            ratio <= GOAL_RATIO,
        ),
        Goal(
            f"batch of {sizes.batch} pods: p99 startup",
            f"<= {GOAL_BATCH_P99_S} s",
            f"{batch.p99_ms / 1e3:.2f} s ({batch.p99_ms / raw_batch.p99_ms:.2f}x raw CRI batch p99)",
            batch.p99_ms / 1e3 <= GOAL_BATCH_P99_S,
        ),
    ]
    notes = [
        "Startup latency: from just before the create request is sent to the first watch "
        "event showing every container running (the client's clock: creationTimestamp has "
        "1 s resolution). Includes the API write, the agent's sync, CRI and the status "
        "patch delivered through the watch.",
        "Image already imported; busybox `sh -c 'trap \"exit 0\" TERM; sleep 3600 & wait'`; "
        "one unmeasured warm-up sample per method; one-at-a-time pods are deleted and "
        "waited for (gone from the API and from CRI) before the next; kctl single pods, "
        "raw CRI and ctr run are interleaved round by round.",
        "Raw CRI and ctr run against the node's own containerd (same CNI conflist); raw "
        "CRI times the three calls only (no status, no API); ctr run includes the "
        "process's own start and the container's exit and removal (--rm), no CNI.",
        f"Load average (1/5/15 min) before the run {m.load[0]}, after {m.load[1]}; "
        f"{os.cpu_count()} CPUs shared with the API server and the agent.",
    ]
    return [Table("Pod startup latency", columns, rows)], goals, notes


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, help="samples per one-at-a-time method")
    p.add_argument("--batch", type=int, help="pods in the batch")
    p.add_argument("--no-scheduler", action="store_true", help="skip the scheduler path")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    n = args.samples or base.single
    sizes = Sizes(
        single=n,
        batch=args.batch or base.batch,
        scheduled=0 if args.no_scheduler else (args.samples or base.scheduled),
    )
    return publish(
        "bench_pod_startup",
        f"Pod startup latency: one containerd node, batch of {sizes.batch}",
        argv,
        run(sizes),
        args.json,
    )


if __name__ == "__main__":
    main()
