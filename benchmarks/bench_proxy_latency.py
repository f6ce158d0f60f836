"""Network programming latency: an Endpoints change written to the API -> its rule in the kernel.

Kubernetes' SLI (network programming latency, from a Service/Endpoints change to the
rules programmed on a node; upstream p50 was ~5 s at 5,000 nodes after KEP-3453) under
10 changes per second, with the issue's goal p50 <= 1 s. Everything is real: a ``kctl
apiserver`` process, the proxy as its own process (``run_proxy`` in iptables mode,
default sync settings, its own informers over HTTPS, as a node agent runs it),
iptables, and a network namespace that answers on the endpoint addresses.

The cluster: 1,000 service ports (1,000 Services, one port each) in a ``bench``
namespace. 950 have 10 endpoints at addresses nothing answers on (they only make the
ruleset the size the issue names: ~10,000 endpoint chains); 50 "probe" services have
one endpoint each, an address of the benchmark's network namespace, where one server
listens on every address and answers each connection with the address it was reached
at. A change replaces a probe service's endpoint with a new address of that
namespace (round robin over the probe services, so one service changes every 5 s).

How "the rule is in the kernel" is detected: by traffic, not by reading rules. From
the host, fresh TCP connections to the changed service's ClusterIP (each a new
conntrack entry, so a new NAT decision) every few milliseconds until the answer
names the new address: then the DNAT rule is in the kernel and used. The latency is
from just before the write is sent to that answer (the write's own round trip, API
server -> watch -> informer -> sync -> iptables-restore, and the probe interval, all
included); the API write alone is reported beside it. Probing costs microseconds per
connection, where ``iptables-save`` of 40,000 lines would cost the proxy's CPU.

Safety: ClusterIPs are in 10.100.0.0/16, covered during the run by a service-CIDR
guard chain of the benchmark's own (untranslated traffic is dropped on the machine);
the endpoints that answer are in the benchmark's namespace (10.204.0.0/16, a veth
pair of its own); nothing is sent anywhere else. The namespace, the guard, the
proxy's chains and the API server (with its data) are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Goal,
    Table,
    arg_parser,
    ensure_namespace,
    percentile,
    publish,
    run_apiserver,
    stop_process,
    temp_dir,
)
from kctl.client.http import AsyncClient
from kctl.client.resources import ENDPOINTS, SERVICES
from node.network import guard
from node.proxy.cleanup import cleanup_proxy
from node.proxy.lock import NetnsLock, lock_path

NAMESPACE = "bench"
SERVICE_CIDR = "10.100.0.0/16"
POD_CIDR = "10.204.0.0/16"
HOST_ADDRESS = "10.204.0.1"
PORT = 8080
GUARD_CHAIN = f"KCTL-BENCH-GUARD-{os.getpid() % 100000}"
PROBE_INTERVAL = 0.005  # seconds between two probe connections of one change
GIVE_UP = 30.0  # seconds: a change not seen by then counts as lost


@dataclass(frozen=True)
class Sizes:
    services: int
    endpoints: int  # per filler service
    probes: int  # probe services (one answering endpoint each)
    rate: float  # changes per second
    seconds: float  # of changes


FULL = Sizes(services=1000, endpoints=10, probes=50, rate=10.0, seconds=60.0)
QUICK = Sizes(services=100, endpoints=10, probes=20, rate=10.0, seconds=5.0)


def answering(i: int) -> str:
    """The i-th address the benchmark's namespace answers on."""
    return f"10.204.{1 + i // 250}.{i % 250 + 1}"


def cluster_ip(i: int) -> str:
    return f"10.100.{i // 250}.{i % 250 + 1}"


# --- the namespace that answers -------------------------------------------------------

SERVER = """
import socketserver, sys
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(self.request.getsockname()[0].encode())
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"""


def sh(*argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


@contextlib.contextmanager
def answering_namespace(addresses: int) -> Any:
    """A netns behind a veth pair, answering on ``addresses`` addresses; all removed after."""
    pid = os.getpid() % 100000
    ns, host_end, ns_end = f"kctl-bench-{pid}", f"kctlb{pid}h", f"kctlb{pid}p"
    server: subprocess.Popen[bytes] | None = None
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        sh("ip", "link", "set", ns_end, "netns", ns)
        sh("ip", "addr", "add", f"{HOST_ADDRESS}/16", "dev", host_end)
        sh("ip", "link", "set", host_end, "up")
        batch = [f"link set {ns_end} name eth0", "link set lo up", "link set eth0 up"]
        batch += [f"addr add {answering(i)}/16 dev eth0" for i in range(addresses)]
        batch.append(f"route add default via {HOST_ADDRESS}")
        sh("ip", "-n", ns, "-batch", "-", stdin="\n".join(batch) + "\n")
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, str(PORT)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        yield ns
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)


async def probe(ip: str, timeout: float = 0.5) -> str:
    """The address a fresh connection to ``ip:80`` was answered at ("" if none)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, 80), timeout)
    except (OSError, TimeoutError):
        return ""
    try:
        return (await asyncio.wait_for(reader.read(64), timeout)).decode()
    except (OSError, TimeoutError):
        return ""
    finally:
        writer.close()


async def until_answered(ip: str, want: str, deadline: float) -> float | None:
    """Probe until ``ip`` answers at ``want``; the monotonic time it did (None: never)."""
    while time.monotonic() < deadline:
        if await probe(ip) == want:
            return time.monotonic()
        await asyncio.sleep(PROBE_INTERVAL)
    return None


# --- the cluster ------------------------------------------------------------------------


def service(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i}", "namespace": NAMESPACE},
        "spec": {
            "clusterIP": cluster_ip(i),
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": PORT}],
        },
    }


def endpoints(i: int, ips: list[str], rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"svc-{i}", "namespace": NAMESPACE}
    if rv:
        meta["resourceVersion"] = rv
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": meta,
        "subsets": [
            {"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "http", "port": PORT}]}
        ],
    }


def filler_ips(i: int, n: int) -> list[str]:
    return [f"10.202.{(i * n + j) // 250}.{(i * n + j) % 250 + 1}" for j in range(n)]


async def create_cluster(client: AsyncClient, sizes: Sizes) -> dict[int, str]:
    """All Services and Endpoints; the resourceVersion of each probe's Endpoints."""
    versions: dict[int, str] = {}

    async def one(i: int) -> None:
        await client.create(SERVICES, service(i), NAMESPACE)
        ips = [answering(i)] if i < sizes.probes else filler_ips(i, sizes.endpoints)
        created = await client.create(ENDPOINTS, endpoints(i, ips), NAMESPACE)
        if i < sizes.probes:
            versions[i] = created["metadata"]["resourceVersion"]

    for start in range(0, sizes.services, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 50, sizes.services))))
    return versions


# --- the proxy, as its own process --------------------------------------------------------


def proxy_child(kubeconfig: str, lock_dir: str) -> None:
    """``--proxy-child``: run_proxy (iptables) until killed, logging to stderr."""
    from node.proxy.runner import ProxySettings, run_proxy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        client = AsyncClient.from_kubeconfig(kubeconfig)
        settings = ProxySettings(lock_dir=Path(lock_dir))
        await run_proxy(
            client, "bench-node", [HOST_ADDRESS], POD_CIDR, "iptables", settings=settings
        )

    asyncio.run(main())


# --- the run --------------------------------------------------------------------------------


@dataclass
class Samples:
    first_sync: float
    latencies: list[float]  # write sent -> new address answers
    writes: list[float]  # write sent -> API answered
    lost: int
    behind: int  # changes started late (the generator could not keep the rate)


async def measure(
    client: AsyncClient, sizes: Sizes, versions: dict[int, str], started: float
) -> Samples:
    deadline = time.monotonic() + 120
    answered = await asyncio.gather(
        *(until_answered(cluster_ip(i), answering(i), deadline) for i in range(sizes.probes))
    )
    if None in answered:
        raise RuntimeError("the proxy did not program every probe service within 120 s")
    first_sync = max(t for t in answered if t is not None) - started

    latencies: list[float] = []
    writes: list[float] = []
    lost = behind = 0
    pending: list[asyncio.Task[None]] = []

    async def change(n: int) -> None:
        nonlocal lost
        i = n % sizes.probes
        new = answering(sizes.probes + n)
        sent = time.monotonic()
        done = await client.replace(ENDPOINTS, endpoints(i, [new], versions[i]), NAMESPACE)
        writes.append(time.monotonic() - sent)
        versions[i] = done["metadata"]["resourceVersion"]
        seen = await until_answered(cluster_ip(i), new, sent + GIVE_UP)
        if seen is None:
            lost += 1
        else:
            latencies.append(seen - sent)

    total = int(sizes.rate * sizes.seconds)
    begin = time.monotonic()
    for n in range(total):
        at = begin + n / sizes.rate
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            behind += 1
        pending.append(asyncio.create_task(change(n)))
    await asyncio.gather(*pending)
    return Samples(first_sync, latencies, writes, lost, behind)


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(run_apiserver())
        tmp = stack.enter_context(temp_dir("kctl-bench-latency-"))
        total = int(sizes.rate * sizes.seconds)
        stack.enter_context(answering_namespace(sizes.probes + total))
        guard.install(GUARD_CHAIN, [SERVICE_CIDR])
        stack.callback(guard.remove, GUARD_CHAIN)
        stack.callback(cleanup_proxy)
        with api.client() as http:
            ensure_namespace(http, NAMESPACE)

        log = stack.enter_context(open(tmp / "proxy.log", "wb"))

        async def scenario() -> Samples:
            client = AsyncClient.from_kubeconfig(str(api.kubeconfig))
            try:
                versions = await create_cluster(client, sizes)
                started = time.monotonic()
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.bench_proxy_latency",
                        "--proxy-child",
                        str(api.kubeconfig),
                        str(tmp),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                try:
                    return await measure(client, sizes, versions, started)
                except BaseException:
                    sys.stderr.write((tmp / "proxy.log").read_text()[-4000:])
                    raise
                finally:
                    stop_process(proc)
            finally:
                await client.aclose()

        samples = asyncio.run(scenario())

    lat = sorted(x * 1000 for x in samples.latencies)
    writes = sorted(x * 1000 for x in samples.writes)
    p50 = percentile(lat, 50)
    table = Table(
        f"{sizes.services:,} service ports ({sizes.services - sizes.probes} x {sizes.endpoints} "
        f"endpoints + {sizes.probes} probe services), {sizes.rate:g} Endpoints changes/s "
        f"for {sizes.seconds:g} s, iptables mode",
        ["what", "p50", "p90", "p99", "max", "count"],
        [
            [
                "write sent -> new endpoint answers (ms)",
                f"{p50:.0f}",
                f"{percentile(lat, 90):.0f}",
                f"{percentile(lat, 99):.0f}",
                f"{lat[-1]:.0f}" if lat else "-",
                len(lat),
            ],
            [
                "API write round trip (ms)",
                f"{percentile(writes, 50):.1f}",
                f"{percentile(writes, 90):.1f}",
                f"{percentile(writes, 99):.1f}",
                f"{writes[-1]:.1f}" if writes else "-",
                len(writes),
            ],
        ],
    )
    goals = [
        Goal("network programming latency p50", "<= 1 s", f"{p50:.0f} ms", p50 <= 1000),
        Goal(
            "changes lost (not in the kernel within 30 s)",
            "0",
            str(samples.lost),
            samples.lost == 0,
        ),
    ]
    notes = [
        f"proxy start (process start -> every probe service programmed, incl. listing "
        f"{sizes.services:,} Services and Endpoints and the first full restore): "
        f"{samples.first_sync:.2f} s",
        f"detection: fresh TCP connections every {PROBE_INTERVAL * 1000:.0f} ms to the "
        "changed ClusterIP until the new endpoint answers",
    ]
    if samples.behind:
        notes.append(f"{samples.behind} changes started over 50 ms late (rate not kept)")
    return [table], goals, notes


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--proxy-child"]:
        proxy_child(argv[1], argv[2])
        return
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, help="how long changes are made")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        base.services, base.endpoints, base.probes, base.rate, args.seconds or base.seconds
    )
    if os.geteuid() != 0:
        sys.exit("needs root (iptables, network namespaces)")
    lock = NetnsLock(lock_path())
    if not lock.try_acquire("bench_proxy_latency"):
        sys.exit(
            f"a kctl proxy ({lock.holder()}) programs this network namespace: not benchmarking here"
        )
    try:
        publish("bench_proxy_latency", "Network programming latency", argv, run(sizes), args.json)
    finally:
        lock.release()


if __name__ == "__main__":
    main()
