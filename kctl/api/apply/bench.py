"""Micro-benchmark of :func:`~kctl.api.apply.track_update`, the bookkeeping of every write.

Run ``python -m kctl.api.apply.bench [iterations]``. Each scenario is a write as the
API server makes it: defaulted objects, fresh dicts on both sides (the stored object is
decoded from the store, the new one from the request body), the real schemas. Prints
microseconds per call; asserts nothing about time.

* ``pod create``: a one-container pod, as admission hands it over;
* ``deployment create``;
* ``deployment spec update``: another manager changes ``spec.replicas``;
* ``pod status update``: the node agent reports the pod running (``/status``);
* ``pod status update again``: the node agent changes its own conditions;
* ``no-op update``: a deployment written back unchanged.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from kctl.api.defaults import apply_defaults
from kctl.api.kinds import ResourceInfo, default_registry

NOW = "2025-01-02T03:04:05Z"
LATER = "2025-01-02T03:04:06Z"

TrackUpdate = Callable[..., dict[str, Any]]
# (old, new, manager, api_version, schema, now, subresource)
Call = tuple[Any, dict[str, Any], str, str, Any, str, str]


def _fresh(obj: Any) -> Any:
    return orjson.loads(orjson.dumps(obj))


def _info(resource: str) -> ResourceInfo:
    info = default_registry().by_resource(resource)
    assert info is not None
    return info


def _pod() -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p1",
            "namespace": "default",
            "labels": {"app": "web"},
            "uid": "0b7c5c5e-2b5a-4d7e-9a51-0c1f6b0d9c11",
            "creationTimestamp": NOW,
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1"}]},
        "status": {"phase": "Pending"},
    }
    apply_defaults(_info("pods"), obj)
    return obj


def _deployment() -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "uid": "5d0a4f43-8c1e-4d0f-b7e2-3f7a7e1c2b90",
            "creationTimestamp": NOW,
            "generation": 1,
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 80}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
        "status": {},
    }
    apply_defaults(_info("deployments.apps"), obj)
    return obj


def _running(pod: dict[str, Any], ready: str) -> dict[str, Any]:
    out = _fresh(pod)
    out["status"] = {
        "phase": "Running",
        "conditions": [
            {"type": t, "status": ready if t != "PodScheduled" else "True", "lastProbeTime": None}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
        ]
        + [{"type": "PodScheduled", "status": "True", "lastProbeTime": None}],
        "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}],
        "podIP": "10.244.0.5",
        "podIPs": [{"ip": "10.244.0.5"}],
        "startTime": NOW,
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": "c",
                "image": "busybox:1",
                "imageID": "docker.io/library/busybox@sha256:0123",
                "containerID": "containerd://abc",
                "ready": ready == "True",
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": NOW}},
            }
        ],
    }
    return out


def scenarios(track_update: TrackUpdate) -> dict[str, Call]:
    """The benchmarked calls; ``track_update`` builds their stored objects."""
    pods = _info("pods")
    deployments = _info("deployments.apps")
    pod_schema, deploy_schema = pods.schema_node(), deployments.schema_node()
    pod, deploy = _pod(), _deployment()
    stored_pod = track_update(None, _fresh(pod), "kubectl-create", "v1", pod_schema, NOW)
    stored_deploy = track_update(
        None, _fresh(deploy), "kubectl-create", "apps/v1", deploy_schema, NOW
    )
    scaled = _fresh(stored_deploy)
    scaled["spec"]["replicas"] = 5
    running = _running(stored_pod, "False")
    stored_running = track_update(
        stored_pod, running, "kubelet", "v1", pod_schema, NOW, subresource="status"
    )
    return {
        "pod create": (None, pod, "kubectl-create", "v1", pod_schema, NOW, ""),
        "deployment create": (None, deploy, "kubectl-create", "apps/v1", deploy_schema, NOW, ""),
        "deployment spec update": (
            stored_deploy,
            scaled,
            "kubectl-scale",
            "apps/v1",
            deploy_schema,
            LATER,
            "",
        ),
        "pod status update": (
            stored_pod,
            _running(stored_pod, "False"),
            "kubelet",
            "v1",
            pod_schema,
            LATER,
            "status",
        ),
        "pod status update again": (
            stored_running,
            _running(stored_running, "True"),
            "kubelet",
            "v1",
            pod_schema,
            LATER,
            "status",
        ),
        "no-op update": (
            stored_deploy,
            _fresh(stored_deploy),
            "kubectl-edit",
            "apps/v1",
            deploy_schema,
            LATER,
            "",
        ),
    }


def time_call(track_update: TrackUpdate, call: Call, iterations: int, rounds: int = 7) -> float:
    """Microseconds per call: the best of ``rounds``, each on fresh copies of the inputs."""
    old, new, manager, api_version, schema, now, subresource = call
    best = float("inf")
    for _ in range(rounds):
        inputs = [(_fresh(old), _fresh(new)) for _ in range(iterations)]
        gc.collect()
        gc.disable()  # as timeit does: collections triggered by the inputs are noise
        try:
            start = time.perf_counter()
            for o, n in inputs:
                track_update(o, n, manager, api_version, schema, now, subresource=subresource)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best / iterations * 1e6


def main(argv: list[str]) -> None:
    from kctl.api.apply import track_update

    iterations = int(argv[0]) if argv else 500
    for name, call in scenarios(track_update).items():
        print(f"{name:26} {time_call(track_update, call, iterations):8.1f} us/call")


if __name__ == "__main__":
    main(sys.argv[1:])
