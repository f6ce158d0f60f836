"""The official Kubernetes Python client (kubernetes 37) against a kctl API server."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, watch

from tests.fixtures.apiserver import ApiServerProcess


@pytest.fixture(scope="module")
def api(apiserver: ApiServerProcess) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(apiserver.kubeconfig))


def deployment(name: str, replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "kctl.local/busybox:1.35"}]},
            },
        },
    }


def test_deployment_crud(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment("default", deployment("py"))
    assert created.metadata.name == "py" and created.metadata.uid
    assert created.spec.strategy.type == "RollingUpdate"  # defaulted by the server
    read = apps.read_namespaced_deployment("py", "default")
    assert read.metadata.resource_version == created.metadata.resource_version
    names = [d.metadata.name for d in apps.list_namespaced_deployment("default").items]
    assert "py" in names
    patched = apps.patch_namespaced_deployment("py", "default", {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3
    scaled = apps.patch_namespaced_deployment_scale("py", "default", {"spec": {"replicas": 4}})
    assert scaled.spec.replicas == 4
    json_patched = apps.patch_namespaced_deployment(
        "py", "default", [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    )
    assert json_patched.spec.replicas == 2
    apps.delete_namespaced_deployment("py", "default")
    with pytest.raises(client.ApiException) as info:
        apps.read_namespaced_deployment("py", "default")
    assert info.value.status == 404


def test_watch_stream_sees_pod_events_in_order(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "watched", "labels": {"w": "1"}},
        "spec": {"containers": [{"name": "c", "image": "kctl.local/busybox:1.35"}]},
    }
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        ready.set()
        for event in w.stream(
            core.list_namespaced_pod, "default", label_selector="w=1", timeout_seconds=20
        ):
            seen.append((event["type"], event["object"].metadata.resource_version))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    ready.wait()
    time.sleep(0.5)
    core.create_namespaced_pod("default", pod)
    core.patch_namespaced_pod("watched", "default", {"metadata": {"labels": {"x": "y"}}})
    core.delete_namespaced_pod("watched", "default")  # never bound to a node: goes at once
    thread.join(30)
    assert [t for t, _ in seen] == ["ADDED", "MODIFIED", "DELETED"]
    revisions = [int(rv) for _, rv in seen]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3
