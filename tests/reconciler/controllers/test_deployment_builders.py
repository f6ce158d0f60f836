"""Builders of Deployments and ReplicaSets for the deployment controller tests (no
tests here: the other ``test_deployment_*`` modules import these)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

T0 = 1_700_000_000.0


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template(image: str = "web:1", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web", **labels}},
        "spec": {"containers": [{"name": "web", "image": image}]},
    }


def deployment(
    replicas: int = 10,
    *,
    surge: int | str | None = "25%",
    unavailable: int | str | None = "25%",
    strategy: str = "RollingUpdate",
    generation: int = 1,
    status: dict[str, Any] | None = None,
    deadline: int | None = 600,
    history_limit: int | None = 10,
    image: str = "web:1",
    annotations: dict[str, str] | None = None,
    paused: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": template(image),
        "strategy": {"type": strategy},
    }
    if strategy == "RollingUpdate":
        rolling: dict[str, Any] = {}
        if surge is not None:
            rolling["maxSurge"] = surge
        if unavailable is not None:
            rolling["maxUnavailable"] = unavailable
        spec["strategy"]["rollingUpdate"] = rolling
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    if history_limit is not None:
        spec["revisionHistoryLimit"] = history_limit
    if paused:
        spec["paused"] = True
    md: dict[str, Any] = {
        "name": "web",
        "namespace": "default",
        "uid": "uid-web",
        "generation": generation,
        "resourceVersion": "1",
    }
    if annotations:
        md["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": md,
        "spec": spec,
        "status": status or {},
    }


def replica_set(
    name: str,
    replicas: int,
    available: int | None = None,
    *,
    created: float = T0,
    actual: int | None = None,
    ready: int | None = None,
    revision: int | None = None,
    desired: int | None = None,
    max_replicas: int | None = None,
    image: str = "web:1",
    generation: int = 1,
    observed: int = 1,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    notes = dict(annotations or {})
    if revision is not None:
        notes["deployment.kubernetes.io/revision"] = str(revision)
    if desired is not None:
        notes["deployment.kubernetes.io/desired-replicas"] = str(desired)
    if max_replicas is not None:
        notes["deployment.kubernetes.io/max-replicas"] = str(max_replicas)
    available = replicas if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "creationTimestamp": ts(created),
            "generation": generation,
            "annotations": notes,
        },
        "spec": {"replicas": replicas, "template": template(image)},
        "status": {
            "replicas": replicas if actual is None else actual,
            "readyReplicas": available if ready is None else ready,
            "availableReplicas": available,
            "observedGeneration": observed,
        },
    }
