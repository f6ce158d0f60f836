"""Shared helpers for end-to-end tests of a running cluster (API server, reconciler,
hollow nodes): a sync client, polling, manifests, and the rollout-bounds watcher."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kctl.client.http import Client
from kctl.client.resources import PODS

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def deployment(name: str, replicas: int, image: str = "registry.local/web:1", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    template_spec: dict[str, Any] = {"containers": [{"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}]}
    template_spec.update(spec.pop("pod_spec", {}))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": template_spec},
            **spec,
        },
    }


def is_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def pods_of(client: Client, app: str) -> list[dict[str, Any]]:
    return list(client.list(PODS, "default", label_selector=f"app={app}")["items"])


def running_ready(client: Client, app: str, count: int) -> list[dict[str, Any]] | None:
    pods = live(pods_of(client, app))
    ok = [p for p in pods if p.get("status", {}).get("phase") == "Running" and is_ready(p)]
    return pods if len(pods) == count and len(ok) == count else None


@dataclass
class BoundsWatcher:
    """Watches one app's pods and checks a rollout's bounds at every event:
    pods without deletionTimestamp <= replicas + max_surge, and (when ``min_available``
    is set) Ready, non-terminating pods >= min_available."""

    client: Client
    app: str
    max_pods: int
    min_available: int | None = None
    violations: list[str] = field(default_factory=list)
    max_seen: int = 0
    min_available_seen: int = 1 << 30
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        listed = self.client.list(PODS, "default", label_selector=f"app={self.app}")
        pods = {p["metadata"]["name"]: p for p in listed["items"]}
        rv = listed["metadata"]["resourceVersion"]
        self._check(pods, "initial list")
        self._thread = threading.Thread(target=self._run, args=(pods, rv), daemon=True)
        self._thread.start()

    def _run(self, pods: dict[str, dict[str, Any]], rv: str) -> None:
        while not self._stop.is_set():
            for kind, obj in self.client.watch(PODS, "default", resource_version=rv, label_selector=f"app={self.app}", timeout_seconds=1):
                if kind == "BOOKMARK":
                    rv = obj["metadata"]["resourceVersion"]
                    continue
                rv = obj["metadata"]["resourceVersion"]
                if kind == "DELETED":
                    pods.pop(obj["metadata"]["name"], None)
                else:
                    pods[obj["metadata"]["name"]] = obj
                self._check(pods, f"{kind} {obj['metadata']['name']}")
                if self._stop.is_set():
                    return

    def _check(self, pods: dict[str, dict[str, Any]], event: str) -> None:
        alive = live(list(pods.values()))
        available = sum(1 for p in alive if is_ready(p))
        self.max_seen = max(self.max_seen, len(alive))
        self.min_available_seen = min(self.min_available_seen, available)
        if len(alive) > self.max_pods:
            self.violations.append(f"{event}: {len(alive)} pods > {self.max_pods}")
        if self.min_available is not None and available < self.min_available:
            self.violations.append(f"{event}: {available} available < {self.min_available}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
