"""A pod as the scheduler needs it: parsed once, then only read.

Scheduling a pod against thousands of nodes must not re-read the pod's JSON for every
node or plugin. :func:`parse_pod` turns the pod into a frozen :class:`PodInfo` once --
requests summed as Kubernetes sums them, tolerations, affinity terms with compiled label
selectors, host ports -- and ``simple`` tells the framework it may take the fast path
(no node selector, no affinity of any kind, no spread constraints, no host ports).

Requests follow ``resourcehelper.PodRequests``: the sum over containers, restartable
(sidecar) init containers added to it, compared with the largest regular init container
(plus the sidecars started before it), whichever is larger, plus ``spec.overhead``. The
"non-zero" variant used by LeastAllocated counts a container without a cpu or memory
request as 100m / 200Mi, as kube-scheduler does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kctl.api import quantity
from kctl.api.selectors import LabelSelector, from_label_selector
from reconciler.scheduler.config import DEFAULT_SCHEDULER_NAME

DEFAULT_MILLI_CPU_REQUEST = 100  # schedutil.DefaultMilliCPURequest
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # schedutil.DefaultMemoryRequest

Obj = Mapping[str, Any]


@functools.lru_cache(maxsize=4096)
def _cpu(text: str) -> int:
    return quantity.cpu_millis(text)


@functools.lru_cache(maxsize=4096)
def _mem(text: str) -> int:
    return quantity.memory_bytes(text)


def cpu_millis(value: object) -> int:
    return _cpu(str(value))


def memory_bytes(value: object) -> int:
    return _mem(str(value))


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        """``v1.Toleration.ToleratesTaint``."""
        if self.effect and self.effect != effect:
            return False
        if self.key and self.key != key:
            return False
        if self.operator == "Exists":
            return True
        if self.operator in ("", "Equal"):
            return self.value == value
        return False


def tolerated(tolerations: Sequence[Toleration], key: str, value: str, effect: str) -> bool:
    return any(t.tolerates(key, value, effect) for t in tolerations)


@dataclass(frozen=True, slots=True)
class NodeSelectorRequirement:
    key: str
    operator: str  # In NotIn Exists DoesNotExist Gt Lt
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    expressions: tuple[NodeSelectorRequirement, ...]
    fields: tuple[NodeSelectorRequirement, ...]  # matchFields (metadata.name)


@dataclass(frozen=True, slots=True)
class PodAffinityTerm:
    selector: LabelSelector
    namespaces: frozenset[str] | None  # None: every namespace
    topology_key: str
    weight: int = 0  # preferred terms only

    def matches(self, pod: PodInfo) -> bool:
        if self.namespaces is not None and pod.namespace not in self.namespaces:
            return False
        return self.selector.matches(pod.labels)


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # whenUnsatisfiable DoNotSchedule
    selector: LabelSelector
    min_domains: int
    honor_node_affinity: bool  # nodeAffinityPolicy Honor (default)
    honor_taints: bool  # nodeTaintsPolicy Honor (default Ignore)


@dataclass(frozen=True, slots=True)
class PodInfo:
    key: str
    uid: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    scheduler_name: str
    node_name: str
    deleting: bool
    terminal: bool
    priority: int
    preemption_policy: str
    cpu: int
    memory: int
    nonzero_cpu: int
    nonzero_memory: int
    host_ports: tuple[tuple[str, str, int], ...]  # (protocol, hostIP, hostPort)
    node_selector: Mapping[str, str]
    required_terms: tuple[NodeSelectorTerm, ...] | None  # None: no required affinity
    preferred_terms: tuple[tuple[int, NodeSelectorTerm], ...]
    tolerations: tuple[Toleration, ...]
    affinity: tuple[PodAffinityTerm, ...]
    anti_affinity: tuple[PodAffinityTerm, ...]
    preferred_affinity: tuple[PodAffinityTerm, ...]
    preferred_anti_affinity: tuple[PodAffinityTerm, ...]
    spread: tuple[SpreadConstraint, ...]
    obj: Obj

    @property
    def simple(self) -> bool:
        """No node selection beyond resources and taints: the framework's fast path."""
        return not (
            self.node_selector
            or self.required_terms is not None
            or self.preferred_terms
            or self.affinity
            or self.anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
            or self.spread
            or self.host_ports
        )


# --- requests ------------------------------------------------------------------------------


def _container_requests(ctr: Obj, nonzero: bool) -> tuple[int, int]:
    res = ctr.get("resources") or {}
    req = res.get("requests") or {}
    lim = res.get("limits") or {}
    cpu_q = req.get("cpu", lim.get("cpu"))
    mem_q = req.get("memory", lim.get("memory"))
    cpu = cpu_millis(cpu_q) if cpu_q is not None else (DEFAULT_MILLI_CPU_REQUEST if nonzero else 0)
    mem = memory_bytes(mem_q) if mem_q is not None else (DEFAULT_MEMORY_REQUEST if nonzero else 0)
    return cpu, mem


def pod_requests(spec: Obj, nonzero: bool = False) -> tuple[int, int]:
    """(milli-cpu, memory bytes) the pod requests, as ``resourcehelper.PodRequests``."""
    cpu = mem = 0
    for ctr in spec.get("containers") or ():
        c, m = _container_requests(ctr, nonzero)
        cpu, mem = cpu + c, mem + m
    side_cpu = side_mem = init_cpu = init_mem = 0
    for ctr in spec.get("initContainers") or ():
        c, m = _container_requests(ctr, nonzero)
        if ctr.get("restartPolicy") == "Always":
            cpu, mem = cpu + c, mem + m
            side_cpu, side_mem = side_cpu + c, side_mem + m
            c, m = side_cpu, side_mem
        else:
            c, m = c + side_cpu, m + side_mem
        init_cpu, init_mem = max(init_cpu, c), max(init_mem, m)
    cpu, mem = max(cpu, init_cpu), max(mem, init_mem)
    overhead = spec.get("overhead") or {}
    if "cpu" in overhead:
        cpu += cpu_millis(overhead["cpu"])
    if "memory" in overhead:
        mem += memory_bytes(overhead["memory"])
    return cpu, mem


# --- parsing -------------------------------------------------------------------------------


def _requirement(expr: Obj) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(
        str(expr.get("key", "")),
        str(expr.get("operator", "")),
        tuple(str(v) for v in expr.get("values") or ()),
    )


def _node_term(term: Obj) -> NodeSelectorTerm:
    return NodeSelectorTerm(
        tuple(_requirement(e) for e in term.get("matchExpressions") or ()),
        tuple(_requirement(e) for e in term.get("matchFields") or ()),
    )


def _pod_term(term: Obj, namespace: str, weight: int = 0) -> PodAffinityTerm:
    names = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    namespaces: frozenset[str] | None
    if ns_selector is not None and not (
        ns_selector.get("matchLabels") or ns_selector.get("matchExpressions")
    ):
        namespaces = None  # an empty namespaceSelector selects every namespace
    else:
        namespaces = frozenset(names) if names else frozenset((namespace,))
    return PodAffinityTerm(
        from_label_selector(term.get("labelSelector")),
        namespaces,
        str(term.get("topologyKey", "")),
        weight,
    )


def _pod_terms(
    section: Obj, namespace: str
) -> tuple[tuple[PodAffinityTerm, ...], tuple[PodAffinityTerm, ...]]:
    required = tuple(
        _pod_term(t, namespace)
        for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or ()
    )
    preferred = tuple(
        _pod_term(w.get("podAffinityTerm") or {}, namespace, int(w.get("weight", 0)))
        for w in section.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
    )
    return required, preferred


def _spread(c: Obj, labels: Mapping[str, str]) -> SpreadConstraint:
    selector_obj = c.get("labelSelector")
    # matchLabelKeys: the pod's own values for those keys join the selector.
    keys = [k for k in c.get("matchLabelKeys") or () if k in labels]
    if keys:
        selector_obj = dict(selector_obj or {})
        selector_obj["matchLabels"] = {
            **(selector_obj.get("matchLabels") or {}),
            **{k: labels[k] for k in keys},
        }
    return SpreadConstraint(
        max_skew=int(c.get("maxSkew", 1)),
        topology_key=str(c.get("topologyKey", "")),
        hard=c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule",
        selector=from_label_selector(selector_obj),  # nil selects nothing, as upstream
        min_domains=int(c.get("minDomains") or 1),
        honor_node_affinity=c.get("nodeAffinityPolicy", "Honor") == "Honor",
        honor_taints=c.get("nodeTaintsPolicy", "Ignore") == "Honor",
    )


def _host_ports(spec: Obj) -> tuple[tuple[str, str, int], ...]:
    ports: list[tuple[str, str, int]] = []
    for group in ("initContainers", "containers"):
        for ctr in spec.get(group) or ():
            for p in ctr.get("ports") or ():
                host_port = int(p.get("hostPort") or 0)
                if host_port > 0:
                    ports.append(
                        (
                            str(p.get("protocol") or "TCP"),
                            str(p.get("hostIP") or "0.0.0.0"),
                            host_port,
                        )
                    )
    return tuple(ports)


_NO_TERMS: tuple[Any, ...] = ()


@functools.lru_cache(maxsize=1024)
def _tolerations(fields: tuple[tuple[str, str, str, str], ...]) -> tuple[Toleration, ...]:
    # Every pod gets the same two default tolerations (and a Deployment's pods the same
    # set): one tuple of Toleration objects for all of them, not one per pod.
    return tuple(Toleration(*f) for f in fields)


def parse_pod(obj: Obj) -> PodInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace = str(meta.get("namespace") or "default")
    name = str(meta.get("name") or "")
    labels: Mapping[str, str] = meta.get("labels") or {}
    affinity = spec.get("affinity") or {}
    node_aff = affinity.get("nodeAffinity") or {}
    required_obj = node_aff.get("requiredDuringSchedulingIgnoredDuringExecution")
    required = None
    if required_obj is not None:
        required = tuple(_node_term(t) for t in required_obj.get("nodeSelectorTerms") or ())
    preferred = tuple(
        (int(p.get("weight", 0)), _node_term(p.get("preference") or {}))
        for p in node_aff.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
    )
    pod_aff, pref_aff = (
        _pod_terms(affinity["podAffinity"], namespace)
        if affinity.get("podAffinity")
        else (_NO_TERMS, _NO_TERMS)
    )
    anti, pref_anti = (
        _pod_terms(affinity["podAntiAffinity"], namespace)
        if affinity.get("podAntiAffinity")
        else (_NO_TERMS, _NO_TERMS)
    )
    cpu, mem = pod_requests(spec)
    nz_cpu, nz_mem = pod_requests(spec, nonzero=True)
    return PodInfo(
        key=f"{namespace}/{name}",
        uid=str(meta.get("uid") or ""),
        namespace=namespace,
        name=name,
        labels=labels,
        scheduler_name=str(spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME),
        node_name=str(spec.get("nodeName") or ""),
        deleting=bool(meta.get("deletionTimestamp")),
        terminal=status.get("phase") in ("Succeeded", "Failed"),
        priority=int(spec.get("priority") or 0),
        preemption_policy=str(spec.get("preemptionPolicy") or "PreemptLowerPriority"),
        cpu=cpu,
        memory=mem,
        nonzero_cpu=nz_cpu,
        nonzero_memory=nz_mem,
        host_ports=_host_ports(spec),
        node_selector=spec.get("nodeSelector") or {},
        required_terms=required,
        preferred_terms=preferred,
        tolerations=_tolerations(
            tuple(
                (
                    str(t.get("key") or ""),
                    str(t.get("operator") or "Equal"),
                    str(t.get("value") or ""),
                    str(t.get("effect") or ""),
                )
                for t in spec.get("tolerations") or ()
            )
        ),
        affinity=pod_aff,
        anti_affinity=anti,
        preferred_affinity=pref_aff,
        preferred_anti_affinity=pref_anti,
        spread=tuple(_spread(c, labels) for c in spec.get("topologySpreadConstraints") or ()),
        obj=obj,
    )
