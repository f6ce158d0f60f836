"""A whole cluster on real parts: API server, reconciler, one containerd node agent (with
its service proxy), a Deployment of busybox httpd pods and a ClusterIP Service.

What a user of kind would check first: the pods run and answer on their IPs, ``kctl
logs``/``kubectl logs`` show their output, ``kctl exec`` returns the command's exit code,
and the Service's ClusterIP reaches all ready pods from the host.

Needs root, containerd, runc and the CNI plugins: skipped locally without them, a
failure under CI (``CI`` set). Everything the node created is removed by
``kctl node --cleanup`` at teardown, even when a test fails.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.client.http import Client
from kctl.client.resources import DEPLOYMENTS, NODES, SERVICES
from tests.e2e.helpers import running_ready, wait_for
from tests.fixtures.apiserver import ApiServerProcess, free_port, start_apiserver
from tests.fixtures.containerd import require_containerd
from tests.fixtures.processes import Components, start_component

NODE = "e2e-n1"
CLUSTER_CIDR = "10.250.32.0/20"  # the test ranges of this project: 10.250.x
IMAGE = "kctl.local/busybox:e2e"
HTTPD = (
    "mkdir -p /www && echo \"hello from $HOSTNAME\" > /www/index.html && "
    "echo \"started $HOSTNAME\" && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"
)


def kctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "kctl.cli.main", *args], capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, f"kctl {' '.join(args)}: {done.stderr}"
    return done


@dataclass
class Cluster:
    server: ApiServerProcess
    client: Client
    node_dir: Path

    def kctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kctl("--kubeconfig", str(self.server.kubeconfig), *args, check=check)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_containerd()
    base = tmp_path_factory.mktemp("containerd-cluster")
    server = start_apiserver(base / "server", extra=["--cluster-cidr", CLUSTER_CIDR])
    components = Components(base / "logs")
    client = Client.from_kubeconfig(str(server.kubeconfig))
    node_dir = base / "node"
    try:
        kctl("kubeconfig", "create-node", NODE, "--data-dir", str(server.data_dir), "--node-ip", "127.0.0.1")
        creds = server.data_dir / "nodes"
        components.reconciler(server.kubeconfig, "--no-leader-elect")
        agent = [
            "node", "--kubeconfig", str(creds / f"{NODE}.kubeconfig"), "--name", NODE,
            "--runtime", "containerd", "--data-dir", str(node_dir),
            "--agent-port", str(free_port()), "--cluster-cidr", CLUSTER_CIDR,
            "--tls-cert-file", str(creds / f"{NODE}.crt"),
            "--tls-private-key-file", str(creds / f"{NODE}.key"),
        ]
        components.started.append(start_component("agent", agent, components.log_dir))

        def ready() -> bool:
            try:
                node = client.get(NODES, NODE)
            except Exception:
                return False
            conds = {c["type"]: c["status"] for c in node["status"].get("conditions") or []}
            return conds.get("Ready") == "True"

        wait_for("the containerd node Ready", ready, timeout=120)
        archive = base / "busybox.tar"
        kctl("image", "busybox", "-t", IMAGE, "-o", str(archive))
        kctl("image", "load", str(archive), "--containerd-socket", str(node_dir / "containerd.sock"))
        yield Cluster(server, client, node_dir)
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()
        components.stop_all()
        cleanup = kctl("node", "--name", NODE, "--data-dir", str(node_dir), "--cleanup", check=False)
        server.stop()
        assert cleanup.returncode == 0, cleanup.stderr


def web(replicas: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "web",
                        "image": IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", HTTPD],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
                    }],
                },
            },
        },
    }


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
