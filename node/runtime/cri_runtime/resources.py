"""Resources to CRI's Linux resources, the kubelet's arithmetic.

Container: ``cpu_shares`` from the cpu request (the limit when there is no request;
``milli * 1024 / 1000``, at least 2), ``cpu_quota`` over a 100 ms period from the cpu
limit (at least 1 ms), ``memory_limit_in_bytes`` from the memory limit, and
``oom_score_adj`` by QoS class (Guaranteed -997, BestEffort 1000, Burstable scaled by
the memory request). Pod: the sums that the pod-level cgroup gets (a limit only when
every container has one), as the kubelet's pod cgroup does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kctl.api import quantity

MIN_SHARES = 2
SHARES_PER_CPU = 1024
CPU_PERIOD = 100_000  # microseconds
MIN_QUOTA = 1000
GUARANTEED_OOM = -997
BEST_EFFORT_OOM = 1000


def _amount(resources: Mapping[str, Any], kind: str, name: str) -> Any:
    return (resources.get(kind) or {}).get(name)


def cpu_request_millis(container: Mapping[str, Any]) -> int:
    resources = container.get("resources") or {}
    raw = _amount(resources, "requests", "cpu") or _amount(resources, "limits", "cpu")
    return quantity.cpu_millis(raw) if raw is not None else 0


def cpu_limit_millis(container: Mapping[str, Any]) -> int | None:
    raw = _amount(container.get("resources") or {}, "limits", "cpu")
    return quantity.cpu_millis(raw) if raw is not None else None


def memory_limit(container: Mapping[str, Any]) -> int | None:
    raw = _amount(container.get("resources") or {}, "limits", "memory")
    return quantity.memory_bytes(raw) if raw is not None else None


def memory_request(container: Mapping[str, Any]) -> int:
    resources = container.get("resources") or {}
    raw = _amount(resources, "requests", "memory") or _amount(resources, "limits", "memory")
    return quantity.memory_bytes(raw) if raw is not None else 0


def shares(millis: int) -> int:
    return max(MIN_SHARES, millis * SHARES_PER_CPU // 1000) if millis else MIN_SHARES


def quota(millis: int) -> int:
    return max(MIN_QUOTA, millis * CPU_PERIOD // 1000)


def qos_class(pod: Mapping[str, Any]) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort``, by Kubernetes' rules."""
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    any_set = False
    guaranteed = True
    for ctr in containers:
        resources = ctr.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            limit = limits.get(name)
            request = requests.get(name, limit)
            if limit is None or request is None or quantity.parse(request) != quantity.parse(limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def oom_score_adj(
    pod: Mapping[str, Any], container: Mapping[str, Any], memory_capacity: int
) -> int:
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return GUARANTEED_OOM
    if qos == "BestEffort":
        return BEST_EFFORT_OOM
    request = memory_request(container)
    if memory_capacity <= 0:
        return 999
    score = 1000 - (1000 * request) // memory_capacity
    return min(max(score, 2), 999)


@dataclass(frozen=True)
class LinuxResources:
    cpu_shares: int
    cpu_quota: int = 0  # 0: no limit
    cpu_period: int = 0
    memory_limit: int = 0  # 0: no limit
    oom_score_adj: int = 0


def container_resources(
    pod: Mapping[str, Any], container: Mapping[str, Any], memory_capacity: int
) -> LinuxResources:
    limit = cpu_limit_millis(container)
    return LinuxResources(
        cpu_shares=shares(cpu_request_millis(container)),
        cpu_quota=quota(limit) if limit else 0,
        cpu_period=CPU_PERIOD if limit else 0,
        memory_limit=memory_limit(container) or 0,
        oom_score_adj=oom_score_adj(pod, container, memory_capacity),
    )


def _all_or_none(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def pod_resources(pod: Mapping[str, Any]) -> LinuxResources:
    """The pod cgroup's limits: sums over the app containers, the largest init container
    when it is larger (init containers run one at a time)."""
    spec = pod.get("spec") or {}
    apps = list(spec.get("containers") or ())
    inits = list(spec.get("initContainers") or ())
    cpu = sum(cpu_request_millis(c) for c in apps)
    cpu = max([cpu, *(cpu_request_millis(c) for c in inits)])
    cpu_limit = _all_or_none(cpu_limit_millis(c) for c in apps)
    mem = _all_or_none(memory_limit(c) for c in apps)
    if cpu_limit is not None:
        cpu_limit = max([cpu_limit, *(cpu_limit_millis(c) or 0 for c in inits)])
    if mem is not None:
        mem = max([mem, *(memory_limit(c) or 0 for c in inits)])
    return LinuxResources(
        cpu_shares=shares(cpu),
        cpu_quota=quota(cpu_limit) if cpu_limit else 0,
        cpu_period=CPU_PERIOD if cpu_limit else 0,
        memory_limit=mem or 0,
    )
