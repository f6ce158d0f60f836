"""End to end on hollow nodes: a Deployment of 10,000 replicas on 1,000 nodes.

The issue's goals: from ``apply`` to all 10,000 pods Running and Ready in <= 60 s, with
the API server, the reconciler and the hollow nodes on this 2-core machine (KWOK's CI
allows 240 s for 10,000 pods on a larger runner); and the API server plus reconciler
holding 1,000 nodes and 10,000 pods in <= 400 MB RSS.

Set-up, as a user would run it: ``kctl apiserver``; ``kctl node --runtime hollow
--count N`` (one process for all nodes); ``kctl reconciler`` (all controllers, leader
election on). The clock starts when the Deployment is created and stops when its
status reports every replica ready and available; the pod list is then checked (every
pod Running and Ready, on a node). Progress is sampled every second from the
Deployment's status. RSS is read from /proc for each process once everything is
settled (VmRSS, not counting children).

There is no same-run baseline here: no other Kubernetes distribution can run on this
machine without pulling images; the comparison is with the published bounds above.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.common import (
    ApiServer,
    Goal,
    Report,
    Table,
    arg_parser,
    component,
    publish,
    run_apiserver,
    temp_dir,
    wait,
)


@dataclass(frozen=True)
class Sizes:
    nodes: int
    replicas: int


FULL = Sizes(nodes=1000, replicas=10_000)
QUICK = Sizes(nodes=20, replicas=200)
GOAL_SECONDS = 60.0
GOAL_RSS_MB = 400.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deployment(replicas: int) -> dict[str, object]:
    labels = {"app": "scale"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scale", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "registry.local/scale:1",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


def count_nodes(client: httpx.Client) -> int:
    return len(client.get("/api/v1/nodes").json()["items"])


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    with run_apiserver() as server, temp_dir("kctl-bench-e2e-") as logs:
        return _measure(server, logs, sizes)


def _measure(
    server: ApiServer, logs: Path, sizes: Sizes
) -> tuple[list[Table], list[Goal], list[str]]:
    kc = str(server.kubeconfig)
    client = server.client()
    node_args = [
        "node",
        "--kubeconfig",
        kc,
        "--runtime",
        "hollow",
        "--count",
        str(sizes.nodes),
        "--cpu",
        "32",
        "--memory",
        "256Gi",
    ]
    t_nodes = time.monotonic()
    with component(node_args, logs / "nodes.log") as nodes:
        wait(f"{sizes.nodes} nodes", lambda: count_nodes(client) >= sizes.nodes, timeout=300)
        nodes_s = time.monotonic() - t_nodes
        with component(["reconciler", "--kubeconfig", kc], logs / "reconciler.log") as reconciler:

            def leading() -> bool:
                r = client.get(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kctl-reconciler"
                )
                return r.status_code == 200 and bool(r.json()["spec"].get("holderIdentity"))

            wait("the reconciler to lead", leading, timeout=60, interval=0.1)
            time.sleep(2.0)  # informers synced, all nodes given podCIDRs
            samples: list[list[object]] = []
            t0 = time.monotonic()
            r = client.post(
                "/apis/apps/v1/namespaces/default/deployments", json=deployment(sizes.replicas)
            )
            r.raise_for_status()
            next_sample = t0 + 1.0
            while True:
                st = (
                    client.get("/apis/apps/v1/namespaces/default/deployments/scale")
                    .json()
                    .get("status")
                    or {}
                )
                now = time.monotonic()
                if now >= next_sample:
                    samples.append(
                        [
                            round(now - t0),
                            st.get("replicas", 0),
                            st.get("readyReplicas", 0),
                            st.get("availableReplicas", 0),
                        ]
                    )
                    next_sample += 1.0
                if (
                    st.get("readyReplicas") == sizes.replicas
                    and st.get("availableReplicas") == sizes.replicas
                ):
                    # the last row: the moment all were ready (a short run may have no other)
                    samples.append(
                        [
                            round(now - t0, 1),
                            st.get("replicas", 0),
                            st["readyReplicas"],
                            st["availableReplicas"],
                        ]
                    )
                    break
                if now - t0 > 600:
                    raise RuntimeError(f"not all ready after 600 s: {st}")
                time.sleep(0.2)
            elapsed = time.monotonic() - t0
            pods = client.get(
                "/api/v1/namespaces/default/pods", params={"labelSelector": "app=scale"}
            ).json()["items"]
            ready = [
                p
                for p in pods
                if p["status"].get("phase") == "Running" and p["spec"].get("nodeName")
            ]
            if len(ready) != sizes.replicas:
                raise RuntimeError(f"{len(ready)} of {sizes.replicas} pods Running")
            time.sleep(3.0)  # settle before reading memory
            rss_server, rss_reconciler, rss_nodes = (
                rss_mb(server.proc.pid),
                rss_mb(reconciler.pid),
                rss_mb(nodes.pid),
            )
    client.close()
    total = rss_server + rss_reconciler
    tables = [
        Table(
            f"{sizes.replicas:,} replicas on {sizes.nodes:,} hollow nodes",
            ["measure", "value"],
            [
                ["nodes registered (s)", nodes_s],
                ["apply -> all Running and Ready (s)", elapsed],
                ["pods per second", sizes.replicas / elapsed],
                ["RSS apiserver (MB)", rss_server],
                ["RSS reconciler (MB)", rss_reconciler],
                ["RSS hollow nodes process (MB)", rss_nodes],
            ],
        ),
        Table(
            "progress (Deployment status, sampled every second)",
            ["t (s)", "replicas", "ready", "available"],
            samples[:: max(1, len(samples) // 30)],
        ),
    ]
    goals = [
        Goal(
            f"apply -> {sizes.replicas:,} Ready",
            f"<= {GOAL_SECONDS:.0f} s",
            f"{elapsed:.1f} s",
            elapsed <= GOAL_SECONDS,
        ),
        Goal(
            "RSS apiserver + reconciler",
            f"<= {GOAL_RSS_MB:.0f} MB",
            f"{total:.0f} MB",
            total <= GOAL_RSS_MB,
        ),
    ]
    notes = [
        "Published comparisons: KWOK's CI allows 240 s for 10,000 pods (larger runner); k3s documents ~1.6 GB for its server.",
        f"CPUs: {os.cpu_count()}; all three processes share them.",
    ]
    return tables, goals, notes


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int)
    p.add_argument("--replicas", type=int)
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(args.nodes or base.nodes, args.replicas or base.replicas)
    return publish(
        "bench_e2e_hollow",
        f"End to end: {sizes.replicas:,} replicas on {sizes.nodes:,} hollow nodes",
        argv,
        run(sizes),
        args.json,
    )


if __name__ == "__main__":
    main()
