"""Failures that must converge: a reconciler leader that dies or is frozen, and a node
that stops renewing its Lease. Real processes throughout; SIGKILL and SIGSTOP are sent
to PIDs this test started."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kctl.client.http import Client
from kctl.client.resources import DEPLOYMENTS, LEASES, NODES
from tests.e2e.helpers import deployment, live, pods_of, running_ready, wait_for
from tests.fixtures.apiserver import ApiServerProcess, start_apiserver
from tests.fixtures.processes import ComponentProcess, Components

LEASE = ("--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "0.5s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServerProcess]:
    srv = start_apiserver(tmp_path / "server")
    try:
        yield srv
    finally:
        srv.stop()


def holder(client: Client) -> str:
    try:
        return str(client.get(LEASES, "kctl-reconciler", "kube-system")["spec"].get("holderIdentity") or "")
    except Exception:
        return ""


def log_lines_after(proc: ComponentProcess, wall: float) -> list[str]:
    """Log lines (``%(asctime)s`` stamped) written after ``wall`` (seconds since epoch)."""
    lines = []
    for line in proc.logs().splitlines():
        try:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if stamp > wall:
            lines.append(line)
    return lines


def test_only_the_leader_runs_and_a_frozen_leader_writes_nothing_after_takeover(
    server: ApiServerProcess, components: Components
) -> None:
    client = Client.from_kubeconfig(str(server.kubeconfig))
    try:
        a = components.reconciler(server.kubeconfig, *LEASE, "--identity", "rec-a", "--v", "4", name="rec-a")
        wait_for("rec-a leads", lambda: holder(client) == "rec-a")
        b = components.reconciler(server.kubeconfig, *LEASE, "--identity", "rec-b", "--v", "4", name="rec-b")
        components.hollow_nodes(server.kubeconfig, 2, "--name-prefix", "n-")
        client.create(DEPLOYMENTS, deployment("le", 2))
        wait_for("2 pods", lambda: running_ready(client, "le", 2), timeout=60)
        assert "wrote:" not in b.logs() and "running controllers" not in b.logs()  # standby: no writes

        # Freeze the leader past its lease; the standby takes over and does the work.
        a.pause()
        paused_at = time.time()
        wait_for("rec-b takes over", lambda: holder(client) == "rec-b", timeout=10)
        took_over = time.time()
        assert took_over - paused_at < 3.0 + 2.0  # lease duration + a retry or two
        client.patch(DEPLOYMENTS, "le", {"spec": {"replicas": 4}}, "default", subresource="scale")
        wait_for("4 pods by rec-b", lambda: running_ready(client, "le", 4), timeout=60)

        # Wake the old leader with a stale cache: its fence must stop every write.
        resumed_at = time.time()
        a.resume()
        time.sleep(3.0)
        writes = [line for line in log_lines_after(a, resumed_at) if "wrote:" in line]
        assert writes == [], writes
        assert len(live(pods_of(client, "le"))) == 4
        assert holder(client) == "rec-b"

        # Killing the leader: the other takes over within the lease duration.
        b.stop(signal.SIGKILL)
        killed_at = time.time()
        wait_for("rec-a takes over", lambda: holder(client) == "rec-a", timeout=10)
        assert time.time() - killed_at < 3.0 + 2.0
        client.patch(DEPLOYMENTS, "le", {"spec": {"replicas": 1}}, "default", subresource="scale")
        wait_for("scaled to 1 by rec-a", lambda: running_ready(client, "le", 1), timeout=60)

        # SIGTERM releases the lease: a new candidate gets it at once.
        a.stop()
        c = components.reconciler(server.kubeconfig, *LEASE, "--identity", "rec-c", name="rec-c")
        started = time.time()
        wait_for("rec-c leads", lambda: holder(client) == "rec-c", timeout=10)
        assert time.time() - started < 2.5  # no wait for expiry (process start-up included)
        assert c.alive()
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()


def test_lost_node_pods_are_replaced_and_its_taint_goes_when_it_returns(
    server: ApiServerProcess, components: Components
) -> None:
    client = Client.from_kubeconfig(str(server.kubeconfig))
    try:
        components.reconciler(
            server.kubeconfig,
            "--no-leader-elect",
            "--controller-option", "nodelifecycle.node-monitor-grace-period=3s",
            "--controller-option", "nodelifecycle.node-monitor-period=0.5s",
        )
        nodes = {
            prefix: components.hollow_nodes(server.kubeconfig, 1, "--name-prefix", prefix, "--lease-renew-interval", "1", name=prefix)
            for prefix in ("a-", "b-", "c-")
        }
        wait_for("3 nodes", lambda: len(client.list(NODES)["items"]) == 3)
        tolerate = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]
        client.create(DEPLOYMENTS, deployment("lost", 6, pod_spec={"tolerations": tolerate}))
        pods = wait_for("6 pods", lambda: running_ready(client, "lost", 6), timeout=60)
        on_b = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == "b-0"]
        assert on_b, "the spread put nothing on b-0"

        nodes["b-"].pause()  # stops renewing its lease and running its pods
        def replaced() -> bool:
            alive = live(pods_of(client, "lost"))
            ready = running_ready(client, "lost", 6)
            return bool(ready) and all(p["spec"]["nodeName"] != "b-0" for p in alive)
        wait_for("pods replaced on a-0 and c-0", replaced, timeout=30)
        node_b = client.get(NODES, "b-0")
        assert {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"} in [
            {"key": t["key"], "effect": t["effect"]} for t in node_b["spec"].get("taints") or []
        ]
        ready = next(c for c in node_b["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown"

        nodes["b-"].resume()
        def untainted() -> bool:
            taints = client.get(NODES, "b-0")["spec"].get("taints") or []
            return not any(t["key"] == "node.kubernetes.io/unreachable" for t in taints)
        wait_for("b-0's taint removed", untainted, timeout=20)
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()
