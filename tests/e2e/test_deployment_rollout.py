"""A Deployment on three hollow nodes, end to end through real processes: the API
server, ``kctl reconciler`` and ``kctl node --runtime hollow``.

The rollout bounds are checked by a watcher at every pod event, not sampled: pods
without deletionTimestamp never exceed replicas + maxSurge, Ready pods never fall below
replicas - maxUnavailable (6 replicas: maxSurge 25% -> 2, maxUnavailable 25% -> 1).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kctl.api import errors
from kctl.client.http import Client
from kctl.client.resources import DEPLOYMENTS, NODES, PODS, REPLICASETS
from tests.e2e.helpers import BoundsWatcher, deployment, live, pods_of, running_ready, wait_for
from tests.fixtures.apiserver import ApiServerProcess, start_apiserver
from tests.fixtures.processes import ComponentProcess, Components

FAST_LEASE = (
    "--leader-elect-lease-duration", "3s",
    "--leader-elect-renew-deadline", "2s",
    "--leader-elect-retry-period", "0.5s",
)
REPLICAS, MAX_SURGE, MAX_UNAVAILABLE = 6, 2, 1


@dataclass
class Cluster:
    server: ApiServerProcess
    components: Components
    client: Client
    reconciler: ComponentProcess

    def restart_reconciler(self, sig: int) -> None:
        self.reconciler.stop(sig)
        self.reconciler = self.components.reconciler(self.server.kubeconfig, *FAST_LEASE, name="reconciler-2")

    def kctl(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "kctl.cli.main", "--kubeconfig", str(self.server.kubeconfig), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("rollout")
    server = start_apiserver(base / "server")
    components = Components(base / "logs")
    client = Client.from_kubeconfig(str(server.kubeconfig))
    try:
        reconciler = components.reconciler(server.kubeconfig, *FAST_LEASE)
        # Pods take a moment to start and stop, so a rollout spans many events.
        components.hollow_nodes(server.kubeconfig, 3, "--name-prefix", "hollow-", "--hollow-start-delay", "0.4", "--hollow-stop-delay", "0.2")
        wait_for("3 nodes", lambda: len(client.list(NODES)["items"]) == 3)
        yield Cluster(server, components, client, reconciler)
    except BaseException:
        print(components.logs())
        raise
    finally:
        client.close()
        components.stop_all()
        server.stop()


def template_image(rs: dict[str, Any]) -> str:
    return str(rs["spec"]["template"]["spec"]["containers"][0]["image"])


def set_image(client: Client, name: str, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
    client.patch(DEPLOYMENTS, name, patch, "default", patch_type="strategic")


def rollout_complete(client: Client, name: str, image: str) -> bool:
    d = client.get(DEPLOYMENTS, name, "default")
    st = d.get("status") or {}
    pods = running_ready(client, name, REPLICAS)
    return bool(
        st.get("observedGeneration") == d["metadata"]["generation"]
        and st.get("updatedReplicas") == REPLICAS
        and st.get("availableReplicas") == REPLICAS
        and st.get("replicas") == REPLICAS
        and pods
        and all(p["spec"]["containers"][0]["image"] == image for p in pods)
    )


def test_deployment_runs_spread_rolls_out_within_bounds_and_undoes(cluster: Cluster) -> None:
    client = cluster.client
    client.create(DEPLOYMENTS, deployment("web", REPLICAS))
    pods = wait_for("6 pods Running and Ready", lambda: running_ready(client, "web", REPLICAS), timeout=60)
    assert {p["spec"]["nodeName"] for p in pods} == {"hollow-0", "hollow-1", "hollow-2"}
    assert all(p["status"].get("podIP") for p in pods)
    wait_for("rollout v1", lambda: rollout_complete(client, "web", "registry.local/web:1"))

    watcher = BoundsWatcher(client, "web", REPLICAS + MAX_SURGE, REPLICAS - MAX_UNAVAILABLE)
    watcher.start()
    try:
        set_image(client, "web", "registry.local/web:2")
        wait_for("rollout v2", lambda: rollout_complete(client, "web", "registry.local/web:2"), timeout=90)
    finally:
        watcher.stop()
    assert watcher.violations == []
    assert watcher.max_seen > REPLICAS  # it did surge

    rs_v1 = [rs for rs in client.list(REPLICASETS, "default")["items"] if template_image(rs).endswith(":1")]
    assert len(rs_v1) == 1
    cluster.kctl("rollout", "undo", "deployment/web")
    wait_for("rollout back to v1", lambda: rollout_complete(client, "web", "registry.local/web:1"), timeout=90)
    rs_after = client.list(REPLICASETS, "default")["items"]
    assert len(rs_after) == 2  # the old ReplicaSet was reused, not a third made
    reused = next(rs for rs in rs_after if rs["metadata"]["uid"] == rs_v1[0]["metadata"]["uid"])
    assert reused["spec"]["replicas"] == REPLICAS
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_scale_to_zero_and_back(cluster: Cluster) -> None:
    client = cluster.client
    client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 0}}, "default", subresource="scale")
    wait_for("no pods", lambda: not pods_of(client, "web"), timeout=60)
    client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": REPLICAS}}, "default", subresource="scale")
    wait_for("6 pods again", lambda: running_ready(client, "web", REPLICAS), timeout=60)


def test_reconciler_killed_mid_rollout_finishes_without_duplicates(cluster: Cluster) -> None:
    client = cluster.client
    wait_for("steady", lambda: running_ready(client, "web", REPLICAS), timeout=60)
    watcher = BoundsWatcher(client, "web", REPLICAS + MAX_SURGE)
    watcher.start()
    try:
        set_image(client, "web", "registry.local/web:3")
        wait_for("rollout under way", lambda: any(p["spec"]["containers"][0]["image"].endswith(":3") for p in live(pods_of(client, "web"))))
        cluster.restart_reconciler(signal.SIGKILL)
        wait_for("rollout v3 after restart", lambda: rollout_complete(client, "web", "registry.local/web:3"), timeout=90)
    finally:
        watcher.stop()
    assert watcher.violations == []


@pytest.mark.parametrize(
    ("policy", "rs_left"),
    [("Orphan", True), ("Background", False), ("Foreground", False)],
)
def test_delete_with_each_propagation_policy(cluster: Cluster, policy: str, rs_left: bool) -> None:
    client = cluster.client
    name = f"del-{policy.lower()}"
    client.create(DEPLOYMENTS, deployment(name, 2))
    wait_for("2 pods", lambda: running_ready(client, name, 2), timeout=60)
    client.delete(DEPLOYMENTS, name, "default", propagation_policy=policy)
    if policy == "Foreground":
        # The owner stays (with the foregroundDeletion finalizer) until its dependents are gone.
        d = client.get(DEPLOYMENTS, name, "default")
        assert "foregroundDeletion" in d["metadata"]["finalizers"]

    def gone() -> bool:
        try:
            client.get(DEPLOYMENTS, name, "default")
            return False
        except errors.NotFound:
            return True

    wait_for("deployment gone", gone, timeout=60)
    rs = [r for r in client.list(REPLICASETS, "default", label_selector=f"app={name}")["items"] if not r["metadata"].get("deletionTimestamp")]
    if rs_left:
        assert len(rs) == 1 and not rs[0]["metadata"].get("ownerReferences")
        assert len(live(pods_of(client, name))) == 2
        client.delete(REPLICASETS, rs[0]["metadata"]["name"], "default")
        wait_for("pods of the orphaned RS gone", lambda: not pods_of(client, name), timeout=60)
    else:
        wait_for("replica sets gone", lambda: not client.list(REPLICASETS, "default", label_selector=f"app={name}")["items"], timeout=60)
        wait_for("pods gone", lambda: not pods_of(client, name), timeout=60)
    assert client.list(PODS, "default", label_selector=f"app={name}")["items"] == []
