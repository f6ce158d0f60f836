"""A whole cluster on real parts: API server, reconciler, one containerd node agent (with
its service proxy), a Deployment of busybox httpd pods and a ClusterIP Service.

What a user of kind would check first: the pods run and answer on their IPs, ``kctl
logs``/``kubectl logs`` show their output, ``kctl exec`` returns the command's exit code,
and the Service's ClusterIP reaches all ready pods from the host.

Needs root, containerd, runc and the CNI plugins: skipped locally without them, a
failure under CI (``CI`` set). Everything the node created is removed by
``kctl node --cleanup`` at teardown, even when a test fails, and iptables is checked
to hold nothing of kctl's afterwards (:mod:`tests.e2e.cluster`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from kctl.client.resources import DEPLOYMENTS, SERVICES
from tests.e2e.cluster import Cluster, running_cluster, web
from tests.e2e.helpers import running_ready, wait_for

NODE = "e2e-n1"
CLUSTER_CIDR = "10.250.32.0/20"  # the test ranges of this project: 10.250.x


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("containerd-cluster"), NODE, CLUSTER_CIDR) as up:
        yield up


def test_pods_serve_http_and_answer_logs_and_exec(cluster: Cluster) -> None:
    client = cluster.client
    client.create(DEPLOYMENTS, web(2))
    pods = wait_for("2 web pods Running and Ready", lambda: running_ready(client, "web", 2), timeout=120)
    for pod in pods:
        name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
        assert ip.startswith("10.250.")
        answer = httpx.get(f"http://{ip}:8080/", timeout=5)
        assert answer.status_code == 200 and f"hello from {name}" in answer.text
        logs = cluster.kctl("logs", name)
        assert f"started {name}" in logs.stdout
        kubectl = subprocess.run(
            ["kubectl", "--kubeconfig", str(cluster.server.kubeconfig), "logs", name],
            capture_output=True, text=True, timeout=60,
        )
        assert kubectl.returncode == 0 and f"started {name}" in kubectl.stdout, kubectl.stderr
        done = cluster.kctl("exec", name, "--", "sh", "-c", "cat /www/index.html; exit 3", check=False)
        assert done.returncode == 3 and f"hello from {name}" in done.stdout, done.stderr


def test_cluster_ip_reaches_every_ready_pod(cluster: Cluster) -> None:
    client = cluster.client
    client.create(SERVICES, {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })
    pods = wait_for("2 web pods", lambda: running_ready(client, "web", 2), timeout=120)
    ip = client.get(SERVICES, "web", "default")["spec"]["clusterIP"]

    def answered_by() -> set[str]:
        seen = set()
        for _ in range(30):
            try:
                text = httpx.get(f"http://{ip}/", timeout=2).text
            except httpx.HTTPError:
                continue
            seen.add(text.strip().removeprefix("hello from "))
        return seen

    names = {p["metadata"]["name"] for p in pods}
    wait_for("the ClusterIP spreads over both pods", lambda: answered_by() == names or None, timeout=30)
