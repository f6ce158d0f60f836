"""Small builders of Pods, ReplicaSets and Services for the controller tests."""

from __future__ import annotations

from typing import Any

T0 = 1_700_000_000.0  # a fixed "now" for pure tests


def ts(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name: str,
    *,
    node: str = "",
    phase: str = "Running",
    ready: bool | None = None,
    ready_at: float | None = None,
    created: float | None = T0 - 3600,
    restarts: int = 0,
    cost: str | None = None,
    labels: dict[str, str] | None = None,
    ip: str | None = None,
    deleting: bool = False,
    namespace: str = "default",
    ports: list[dict[str, Any]] | None = None,
    owner_uid: str | None = None,
) -> dict[str, Any]:
    md: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "resourceVersion": "1",
    }
    if labels is not None:
        md["labels"] = labels
    if created is not None:
        md["creationTimestamp"] = ts(created)
    if cost is not None:
        md["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": cost}
    if deleting:
        md["deletionTimestamp"] = ts(T0)
    if owner_uid is not None:
        md["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "rs",
                "uid": owner_uid,
                "controller": True,
            }
        ]
    status: dict[str, Any] = {"phase": phase}
    if ready is not None:
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ts(ready_at if ready_at is not None else T0 - 600),
            }
        ]
    if restarts:
        status["containerStatuses"] = [{"name": "c", "restartCount": restarts}]
    if ip is not None:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i", "ports": ports or []}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def replicaset(
    name: str = "rs",
    replicas: int = 3,
    *,
    min_ready: int = 0,
    labels: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(labels)},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "generation": generation,
        },
        "spec": spec,
        "status": status or {},
    }
