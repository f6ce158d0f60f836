"""Builders for scheduler unit tests: Node and Pod dicts, a cache holding them, and a
way to run one plugin and read its per-node verdicts by node name."""

from __future__ import annotations

from typing import Any

import numpy as np

from reconciler.scheduler.cache import SchedulerCache
from reconciler.scheduler.framework import REASONS, CycleState
from reconciler.scheduler.podinfo import PodInfo, parse_pod


def node(
    name: str,
    cpu: str = "4",
    memory: str = "32Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    unschedulable: bool = False,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(
    name: str,
    cpu: str | None = None,
    memory: str | None = None,
    ns: str = "default",
    labels: dict[str, str] | None = None,
    node_name: str = "",
    **spec: Any,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "x"}
    if requests:
        container["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {}},
        "spec": body,
    }


def cluster(
    nodes: list[dict[str, Any]], bound: list[dict[str, Any]] | None = None
) -> SchedulerCache:
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    for p in bound or []:
        cache.add_pod(parse_pod(p))
    return cache


def state(cache: SchedulerCache, p: dict[str, Any] | PodInfo) -> CycleState:
    return CycleState(p if isinstance(p, PodInfo) else parse_pod(p), cache)


def verdicts(plugin: Any, cache: SchedulerCache, p: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Node name -> the plugin's reasons for rejecting it (() when it passes)."""
    codes = plugin.filter(state(cache, p))
    names = cache.nodes.names
    if codes is None:
        return {n: () for n in cache.nodes.slot_of}
    return {names[s]: REASONS.reasons(int(codes[s])) for s in range(cache.nodes.size) if names[s]}


def scores(plugin: Any, cache: SchedulerCache, p: dict[str, Any]) -> dict[str, int] | None:
    """Node name -> the plugin's 0..100 score over all nodes (None: no opinion)."""
    slots = np.array(sorted(cache.nodes.slot_of.values()), np.intp)
    out = plugin.score(state(cache, p), slots)
    if out is None:
        return None
    return {cache.nodes.names[int(s)]: int(v) for s, v in zip(slots, out, strict=True)}
