"""Service networking on a real cluster: containerd pods behind the iptables proxy.

Issue 6's acceptance, each check as a user would see it, from the host and from a pod
(``kctl exec`` running busybox ``wget``; busybox 1.35 ``wget -T`` segfaults, so each
call is bounded by ``timeout -s KILL``):

- ``ClusterIP:port`` reaches the Service's ready pods, spread over all of them;
- a pod reaches itself through its own Service (hairpin);
- a NodePort answers on the node's address, on its bridge address and on 127.0.0.1;
- a Service without endpoints refuses connections at once (REJECT, not a timeout);
- a pod turning NotReady (its exec readiness probe tests /www/ready) stops receiving;
- scaling the Deployment changes the set within 1 s of the Endpoints update.

One cluster serves the whole module (:mod:`tests.e2e.cluster`); its teardown checks
that ``kctl node --cleanup`` left iptables as it found it. Traffic goes only to pod
IPs, ClusterIPs and the host's own addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from kctl.client.http import Client
from kctl.client.resources import DEPLOYMENTS, ENDPOINTS, NODES, PODS, SERVICES
from tests.e2e.cluster import Cluster, running_cluster, web
from tests.e2e.helpers import is_ready, live, pods_of, running_ready, wait_for

NODE = "e2e-svc"
CLUSTER_CIDR = "10.250.48.0/20"  # apart from test_containerd_cluster's 10.250.32.0/20
REPLICAS = 3
READY_FILE_PROBE: dict[str, Any] = {
    "exec": {"command": ["test", "-f", "/www/ready"]},
    "periodSeconds": 1,
    "failureThreshold": 1,
}
SCALE_BOUND = 1.0  # seconds from the Endpoints update to the new pod answering
NOT_READY_BOUND = 2.5  # seconds from the probe's file removal to the last answer
REFUSE_BOUND = 0.5


def service(name: str, selector: dict[str, str], node_port: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": selector,
        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
    }
    if node_port:
        spec["type"] = "NodePort"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


@dataclass
class App:
    cluster: Cluster
    ips: dict[str, str]  # Service name -> ClusterIP
    node_ports: dict[str, int]

    @property
    def client(self) -> Client:
        return self.cluster.client

    def url(self, svc: str = "web") -> str:
        return f"http://{self.ips[svc]}/"

    def ready_pods(self) -> list[str]:
        return sorted(p["metadata"]["name"] for p in live(pods_of(self.client, "web")) if is_ready(p))

    def from_pod(self, pod: str, url: str, count: int, stop_on_success: bool = False) -> list[str]:
        """The pod names answering ``count`` wgets of ``url`` run inside ``pod``."""
        then = "break" if stop_on_success else "true"
        script = (
            f"for i in $(seq {count}); do timeout -s KILL 2 wget -q -O- {url} && {then}; "
            "sleep 0.05; done"
        )
        done = self.cluster.kctl("exec", pod, "--", "sh", "-c", script, check=False)
        return answers(done.stdout)


def answers(text: str) -> list[str]:
    return [line.removeprefix("hello from ").strip() for line in text.splitlines() if line.startswith("hello from ")]


def ask(url: str, timeout: float = 1.0) -> str | None:
    """One request on a new connection (so each one is load-balanced anew)."""
    try:
        found = answers(httpx.get(url, timeout=timeout).text)
    except httpx.HTTPError:
        return None
    return found[0] if found else None


def spread(url: str, requests: int) -> Counter[str]:
    return Counter(name for name in (ask(url) for _ in range(requests)) if name)


def reaches(url: str, pods: set[str], requests: int = 30) -> bool:
    return set(spread(url, requests)) == pods


def refused_after(host: str, port: int, timeout: float = 2.0) -> float | None:
    """Seconds until the connection was refused; None if it was accepted or timed out."""
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return time.monotonic() - start
    except OSError:
        return None


@dataclass
class EndpointsWatcher:
    """Records, with the time it saw them, the ready addresses of one Endpoints object."""

    cluster: Cluster
    name: str
    seen: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        client = Client.from_kubeconfig(str(self.cluster.server.kubeconfig))
        listed = client.list(ENDPOINTS, "default", field_selector=f"metadata.name={self.name}")
        for obj in listed["items"]:
            self.seen.append((time.monotonic(), ready_ips(obj)))
        rv = listed["metadata"]["resourceVersion"]
        self._thread = threading.Thread(target=self._run, args=(client, rv), daemon=True)
        self._thread.start()

    def _run(self, client: Client, rv: str) -> None:
        selector = f"metadata.name={self.name}"
        try:
            while not self._stop.is_set():
                for kind, obj in client.watch(ENDPOINTS, "default", resource_version=rv, field_selector=selector, timeout_seconds=1):
                    rv = obj["metadata"]["resourceVersion"]
                    if kind in ("ADDED", "MODIFIED"):
                        self.seen.append((time.monotonic(), ready_ips(obj)))
        finally:
            client.close()

    def first(self, condition: Callable[[frozenset[str]], bool]) -> float | None:
        return next((t for t, ips in list(self.seen) if condition(ips)), None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def ready_ips(endpoints: dict[str, Any]) -> frozenset[str]:
    return frozenset(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or [])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("svc-cluster"), NODE, CLUSTER_CIDR) as up:
        yield up


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> App:
    """``web`` pods behind a NodePort Service ``web``; ``solo`` (one labelled pod, for the
    hairpin test) and ``empty`` (selects nothing)."""
    client = cluster.client
    client.create(DEPLOYMENTS, web(REPLICAS, READY_FILE_PROBE))
    for svc in (
        service("web", {"app": "web"}, node_port=True),
        service("solo", {"app": "web", "solo": "yes"}),
        service("empty", {"app": "nothing"}, node_port=True),
    ):
        client.create(SERVICES, svc)
    wait_for(f"{REPLICAS} web pods Running and Ready", lambda: running_ready(client, "web", REPLICAS), timeout=120)
    ips, node_ports = {}, {}
    for name in ("web", "solo", "empty"):
        spec = client.get(SERVICES, name, "default")["spec"]
        ips[name] = spec["clusterIP"]
        if spec.get("type") == "NodePort":
            node_ports[name] = int(spec["ports"][0]["nodePort"])
    return App(cluster, ips, node_ports)


def test_cluster_ip_spreads_over_every_ready_pod_from_host_and_pod(app: App) -> None:
    pods = app.ready_pods()
    wait_for("the ClusterIP reaching every pod", partial(reaches, app.url(), set(pods)), timeout=20)
    counts = spread(app.url(), 60)
    assert set(counts) == set(pods) and min(counts.values()) >= 6, counts
    from_pod = Counter(app.from_pod(pods[0], app.url(), 30))
    assert set(from_pod) == set(pods), from_pod


def test_a_pod_reaches_itself_through_its_service(app: App) -> None:
    pod = app.ready_pods()[0]
    app.client.patch(PODS, pod, {"metadata": {"labels": {"solo": "yes"}}}, "default")
    # hairpin: the DNAT picks the caller itself; its reply must come back through NAT
    assert app.from_pod(pod, app.url("solo"), 40, stop_on_success=True) == [pod]
    other = next(p for p in app.ready_pods() if p != pod)
    assert app.from_pod(other, app.url("solo"), 5) == [pod] * 5


def test_node_port_answers_on_node_addresses_and_loopback(app: App) -> None:
    port = app.node_ports["web"]
    node = app.client.get(NODES, NODE)
    internal = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    bridge = str(ipaddress.ip_network(node["spec"]["podCIDR"]).network_address + 1)
    pods = set(app.ready_pods())
    for host in dict.fromkeys([internal, "127.0.0.1", bridge]):
        url = f"http://{host}:{port}/"
        wait_for(f"NodePort on {host} reaching every pod", partial(reaches, url, pods), timeout=10)
    from_pod = app.from_pod(sorted(pods)[0], f"http://{bridge}:{port}/", 20)
    assert set(from_pod) == pods, from_pod


def test_service_without_endpoints_refuses_at_once(app: App) -> None:
    targets = [(app.ips["empty"], 80), ("127.0.0.1", app.node_ports["empty"])]
    for host, port in targets:
        wait_for(f"{host}:{port} refusing", partial(refused_after, host, port, REFUSE_BOUND), timeout=10)
        times = [refused_after(host, port) for _ in range(5)]
        print(f"no endpoints: {host}:{port} refused in {times}")
        assert all(t is not None and t < REFUSE_BOUND for t in times), (host, port, times)
    done = app.cluster.kctl(
        "exec", app.ready_pods()[0], "--", "sh", "-c",
        f"timeout -s KILL 3 wget -q -O- {app.url('empty')} 2>&1; echo rc=$?", check=False,
    )
    assert "Connection refused" in done.stdout and "rc=137" not in done.stdout, done.stdout


def test_a_pod_turning_not_ready_stops_receiving(app: App) -> None:
    pods = app.ready_pods()
    victim = pods[0]
    app.cluster.kctl("exec", victim, "--", "rm", "/www/ready")
    start = time.monotonic()
    seen: list[tuple[float, str]] = []
    while time.monotonic() - start < NOT_READY_BOUND + 2.0:
        name = ask(app.url())
        if name:
            seen.append((time.monotonic() - start, name))
    last = max((t for t, name in seen if name == victim), default=0.0)
    after = {name for t, name in seen if t > last}
    print(f"NotReady: last answer from {victim} {last:.2f}s after its probe file went")
    assert last < NOT_READY_BOUND, f"{victim} still answered {last:.2f}s after its probe file went"
    assert after == set(pods) - {victim}, after
    ep = app.client.get(ENDPOINTS, "web", "default")
    not_ready = {a["targetRef"]["name"] for s in ep["subsets"] for a in s.get("notReadyAddresses") or []}
    assert victim in not_ready, ep
    app.cluster.kctl("exec", victim, "--", "touch", "/www/ready")
    wait_for(f"{victim} answering again", lambda: victim in spread(app.url(), 20) or None, timeout=15)


def answers_until(url: str, done: Callable[[], bool], timeout: float) -> list[tuple[float, str | None]]:
    """Ask ``url`` back to back until ``done()``; (time, answering pod or None) each."""
    out: list[tuple[float, str | None]] = []
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out; answers: {Counter(n for _, n in out)}"
        out.append((time.monotonic(), ask(url, timeout=0.5)))
    return out


def test_scaling_changes_the_set_within_a_second(app: App) -> None:
    before = set(app.ready_pods())
    watcher = EndpointsWatcher(app.cluster, "web")
    watcher.start()
    try:
        app.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": REPLICAS + 1}}, "default")
        new_answer: tuple[float, str] | None = None
        deadline = time.monotonic() + 90
        while new_answer is None:
            assert time.monotonic() < deadline, "the new pod never answered"
            name = ask(app.url(), timeout=0.5)
            if name and name not in before:
                new_answer = (time.monotonic(), name)
        new_ip = app.client.get(PODS, new_answer[1], "default")["status"]["podIP"]
        listed = watcher.first(lambda ips: new_ip in ips)
        assert listed is not None, watcher.seen
        print(f"scale up: the new pod answered {new_answer[0] - listed:.3f}s after the Endpoints update")
        assert new_answer[0] - listed < SCALE_BOUND, f"new pod answered {new_answer[0] - listed:.2f}s after the Endpoints update"
        four = set(app.ready_pods())
        wait_for("all pods answering", partial(reaches, app.url(), four), timeout=10)

        keep = REPLICAS - 1
        app.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": keep}}, "default")

        def shrunk_at() -> float | None:
            return watcher.first(lambda ips: len(ips) == keep)

        def settled() -> bool:
            at = shrunk_at()
            return at is not None and time.monotonic() > at + SCALE_BOUND + 1.0

        got = answers_until(app.url(), settled, 60)
        shrunk = shrunk_at()
        assert shrunk is not None
        late = [(t - shrunk, n) for t, n in got if t > shrunk + SCALE_BOUND]
        remaining = set(app.ready_pods())
        assert len(remaining) == keep and late
        wrong = [(round(t, 2), n) for t, n in late if n not in remaining]
        assert not wrong, f"answers {SCALE_BOUND}s after the Endpoints update not from {remaining}: {wrong}"
    finally:
        watcher.stop()
