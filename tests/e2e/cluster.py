"""A whole cluster on real parts for end-to-end tests: API server, reconciler, one
containerd node agent (with its iptables service proxy), the busybox image loaded.

:func:`running_cluster` starts it and, even when a test failed, stops it and runs
``kctl node --cleanup`` of its (last) node; then it checks what the cluster left in
iptables: no ``KCTL-`` chain or rule, and every rule that was there before still
there (:mod:`tests.e2e.iptables_state`).

The service proxy programs the host's network namespace, and only one proxy per
namespace does (an flock, :mod:`node.proxy.lock`): the iptables snapshots are taken
while holding that lock, so nobody's chains are half-written then, and the cluster is
handed to the tests only once its own node's proxy holds it (another cluster's, or the
proxy benchmark, may hold it first on a shared machine).

Needs root, containerd, runc and the CNI plugins: skipped locally without them, a
failure under CI (``CI`` set).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kctl.client.http import Client
from kctl.client.resources import NODES
from node.network.config import DEFAULT_MACHINE_DIR, network_name
from node.network.machine import MachineRegistry
from node.proxy.lock import NetnsLock, lock_path
from tests.e2e import iptables_state
from tests.e2e.helpers import wait_for
from tests.fixtures.apiserver import ApiServerProcess, free_port, start_apiserver
from tests.fixtures.containerd import require_containerd
from tests.fixtures.processes import Components, start_component

IMAGE = "kctl.local/busybox:e2e"
# Serves "hello from <pod name>" from /www; /www/ready is what exec readiness probes test.
HTTPD = (
    "mkdir -p /www && echo \"hello from $HOSTNAME\" > /www/index.html && touch /www/ready && "
    "echo \"started $HOSTNAME\" && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"
)
HTTP_READINESS: dict[str, Any] = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
PROXY_LOCK_WAIT = 300.0  # another cluster's proxy or the proxy benchmark may hold it


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
    node: str
    node_dir: Path
    components: Components

    def kctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kctl("--kubeconfig", str(self.server.kubeconfig), *args, check=check)


def web(replicas: int, readiness: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``web`` Deployment: busybox httpd pods answering "hello from <pod name>"."""
    labels = {"app": "web"}
    container = {
        "name": "web",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", HTTPD],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": readiness or HTTP_READINESS,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
            },
        },
    }


@contextlib.contextmanager
def proxy_lock(timeout: float = PROXY_LOCK_WAIT) -> Iterator[None]:
    """Hold this network namespace's proxy lock: no proxy writes iptables meanwhile."""
    lock = NetnsLock(lock_path())
    deadline = time.monotonic() + timeout
    while not lock.try_acquire("e2e iptables snapshot"):
        if time.monotonic() > deadline:
            raise AssertionError(f"another kctl proxy holds {lock.path}: {lock.holder()}")
        time.sleep(1.0)
    try:
        yield
    finally:
        lock.release()


def check_iptables_left_clean(before: iptables_state.Snapshot, network: str) -> None:
    """After the last node's cleanup: nothing of ours left, nothing of others' gone.

    When other kctl nodes are still on the machine (someone else's cluster running at
    the same time), ours was not the last node: the proxy and guard chains are theirs
    now, and only the second half can be checked.
    """
    with proxy_lock():
        after = iptables_state.capture()
    gone = iptables_state.missing(before, after, network)
    assert not gone, f"rules that were there before the cluster are gone: {gone}"
    others = sorted(MachineRegistry(DEFAULT_MACHINE_DIR).records())
    if others:
        warnings.warn(
            f"kctl nodes {others} of another cluster are on this machine: the check that "
            "the last node's cleanup leaves no KCTL- entry was not made",
            stacklevel=2,
        )
        return
    left = iptables_state.leftovers(after)
    assert not left, f"iptables still holds kctl's entries after cleanup: {left}"


def wait_for_proxy(node: str, timeout: float = PROXY_LOCK_WAIT) -> None:
    """Until ``node``'s proxy holds the namespace's lock (another proxy may hold it first)."""
    lock = NetnsLock(lock_path())
    wait_for(
        f"{node}'s proxy to program this network namespace",
        lambda: lock.holder().split(" ", 1)[-1] == node,
        timeout=timeout,
        interval=0.5,
    )


@contextlib.contextmanager
def running_cluster(base: Path, node: str, cluster_cidr: str) -> Iterator[Cluster]:
    """A cluster of one containerd node named ``node``, pods in ``cluster_cidr``."""
    require_containerd()
    with proxy_lock():
        before = iptables_state.capture()
    server = start_apiserver(base / "server", extra=["--cluster-cidr", cluster_cidr])
    components = Components(base / "logs")
    client = Client.from_kubeconfig(str(server.kubeconfig))
    node_dir = base / "node"
    try:
        kctl("kubeconfig", "create-node", node, "--data-dir", str(server.data_dir), "--node-ip", "127.0.0.1")
        creds = server.data_dir / "nodes"
        components.reconciler(server.kubeconfig, "--no-leader-elect")
        agent = [
            "node", "--kubeconfig", str(creds / f"{node}.kubeconfig"), "--name", node,
            "--runtime", "containerd", "--data-dir", str(node_dir),
            "--agent-port", str(free_port()), "--cluster-cidr", cluster_cidr,
            "--tls-cert-file", str(creds / f"{node}.crt"),
            "--tls-private-key-file", str(creds / f"{node}.key"),
        ]
        components.started.append(start_component("agent", agent, components.log_dir))

        def ready() -> bool:
            try:
                status = client.get(NODES, node)["status"]
            except Exception:
                return False
            conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
            return conds.get("Ready") == "True"

        wait_for("the containerd node Ready", ready, timeout=120)
        wait_for_proxy(node)
        archive = base / "busybox.tar"
        kctl("image", "busybox", "-t", IMAGE, "-o", str(archive))
        kctl("image", "load", str(archive), "--containerd-socket", str(node_dir / "containerd.sock"))
        yield Cluster(server, client, node, node_dir, components)
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()
        components.stop_all()
        cleanup = kctl("node", "--name", node, "--data-dir", str(node_dir), "--cleanup", check=False)
        server.stop()
        assert cleanup.returncode == 0, cleanup.stderr
        check_iptables_left_clean(before, network_name(node, node_dir))
