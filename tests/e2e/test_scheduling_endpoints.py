"""Scheduling failures and Endpoints readiness, end to end with hollow nodes.

- A pod that fits nowhere gets kube-scheduler's aggregated FailedScheduling message, and
  is bound within a second of a fitting node appearing.
- A pod turning NotReady moves from ``addresses`` to ``notReadyAddresses`` within a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kctl.client.http import Client
from kctl.client.resources import DEPLOYMENTS, ENDPOINTS, EVENTS, NODES, PODS, SERVICES
from tests.e2e.helpers import deployment, running_ready, wait_for
from tests.fixtures.apiserver import ApiServerProcess, start_apiserver
from tests.fixtures.processes import Components


@dataclass
class Cluster:
    server: ApiServerProcess
    components: Components
    client: Client


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("sched")
    server = start_apiserver(base / "server")
    components = Components(base / "logs")
    client = Client.from_kubeconfig(str(server.kubeconfig))
    try:
        components.reconciler(server.kubeconfig, "--no-leader-elect")
        components.hollow_nodes(server.kubeconfig, 3, "--name-prefix", "small-", "--cpu", "2")
        wait_for("3 nodes", lambda: len(client.list(NODES)["items"]) == 3)
        yield Cluster(server, components, client)
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()
        components.stop_all()
        server.stop()


def first_time(client: Client, info: Any, predicate: Any, found: dict[str, float], key: str, stop: threading.Event, **kw: Any) -> None:
    """Record in ``found[key]`` the wall time a watch first shows an object matching."""
    listed = client.list(info, **kw)
    rv = listed["metadata"]["resourceVersion"]
    if any(predicate(o) for o in listed["items"]):
        found[key] = time.time()
        return
    while not stop.is_set():
        for kind, obj in client.watch(info, resource_version=rv, timeout_seconds=1, **kw):
            rv = obj["metadata"]["resourceVersion"]
            if kind != "BOOKMARK" and predicate(obj):
                found[key] = time.time()
                return


def test_unschedulable_pod_gets_aggregated_message_then_binds_within_a_second_of_a_fitting_node(cluster: Cluster) -> None:
    client = cluster.client
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "big", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "registry.local/big:1", "resources": {"requests": {"cpu": "8"}}}]},
    }
    client.create(PODS, pod)

    def failed_event() -> str | None:
        for ev in client.list(EVENTS, "default", field_selector="involvedObject.name=big")["items"]:
            if ev.get("reason") == "FailedScheduling":
                return str(ev["message"])
        return None

    message = wait_for("FailedScheduling event", failed_event, timeout=20)
    assert message.startswith("0/3 nodes are available: 3 Insufficient cpu."), message

    def unschedulable_condition() -> dict[str, Any] | None:
        conds = client.get(PODS, "big", "default")["status"].get("conditions") or []
        return next((c for c in conds if c["type"] == "PodScheduled"), None)

    cond = wait_for("PodScheduled=False", unschedulable_condition, timeout=10)
    assert {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}.items() <= cond.items()

    found: dict[str, float] = {}
    stop = threading.Event()
    watchers = [
        threading.Thread(target=first_time, args=(client, NODES, lambda o: o["metadata"]["name"] == "large-0", found, "node", stop), daemon=True),
        threading.Thread(target=first_time, args=(client, PODS, lambda o: o["metadata"]["name"] == "big" and o["spec"].get("nodeName"), found, "bound", stop), kwargs={"namespace": "default"}, daemon=True),
    ]
    for t in watchers:
        t.start()
    time.sleep(0.3)
    cluster.components.hollow_nodes(cluster.server.kubeconfig, 1, "--name-prefix", "large-", "--cpu", "16", name="large")
    try:
        wait_for("bound", lambda: "bound" in found and "node" in found, timeout=30)
    finally:
        stop.set()
    assert client.get(PODS, "big", "default")["spec"]["nodeName"] == "large-0"
    assert found["bound"] - found["node"] <= 1.0, found
    client.delete(PODS, "big", "default", grace_period_seconds=0)


def subsets(client: Client, name: str) -> tuple[set[str], set[str]]:
    try:
        ep = client.get(ENDPOINTS, name, "default")
    except Exception:
        return set(), set()
    ready: set[str] = set()
    not_ready: set[str] = set()
    for subset in ep.get("subsets") or []:
        ready |= {a["targetRef"]["name"] for a in subset.get("addresses") or []}
        not_ready |= {a["targetRef"]["name"] for a in subset.get("notReadyAddresses") or []}
    return ready, not_ready


def test_endpoints_follow_readiness_within_a_second(cluster: Cluster) -> None:
    client = cluster.client
    client.create(DEPLOYMENTS, deployment("ep", 2))
    client.create(SERVICES, {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "ep", "namespace": "default"},
        "spec": {"selector": {"app": "ep"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })
    pods = wait_for("2 pods", lambda: running_ready(client, "ep", 2), timeout=60)
    names = {p["metadata"]["name"] for p in pods}
    wait_for("both ready in endpoints", lambda: subsets(client, "ep")[0] == names, timeout=10)
    ep = client.get(ENDPOINTS, "ep", "default")
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    victim = sorted(names)[0]
    started = time.monotonic()
    client.patch(PODS, victim, {"metadata": {"annotations": {"kctl.dev/hollow-ready": "false"}}}, "default")
    wait_for("moved to notReadyAddresses", lambda: subsets(client, "ep") == (names - {victim}, {victim}), timeout=10, interval=0.02)
    assert time.monotonic() - started <= 1.0

    started = time.monotonic()
    client.patch(PODS, victim, {"metadata": {"annotations": {"kctl.dev/hollow-ready": "true"}}}, "default")
    wait_for("back in addresses", lambda: subsets(client, "ep") == (names, set()), timeout=10, interval=0.02)
    assert time.monotonic() - started <= 1.0
