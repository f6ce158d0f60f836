"""``kubectl describe node``: identity, taints, the node's heartbeat Lease,
conditions, addresses, capacity, system info, the non-terminated pods with their
share of the node, and the allocated totals.

The percentages are computed as kubectl computes them, in float64 and truncated
(``int64(req / allocatable * 100)``), against ``allocatable`` when the node reports
it and ``capacity`` otherwise. Pod requests follow kubectl's resource helper: the
sum over containers, the larger of that and each init container (restartable init
containers add up), plus overhead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.api.errors import ApiError, Forbidden
from kctl.api.quantity import Quantity
from kctl.cli.describers import events
from kctl.cli.describers.common import (
    Obj,
    annotations_block,
    labels_block,
    meta,
    quantity,
    resource_list,
    spec,
    status,
    taints_block,
)
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import go_bool, go_int64, rfc1123z, since
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, PrefixWriter

NODE_LEASE_NAMESPACE = "kube-node-lease"
ROLE_PREFIX = "node-role.kubernetes.io/"
ROLE_LABEL = "kubernetes.io/role"
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def describe_node(ctx: DescribeContext, node: Obj) -> str:
    md = meta(node)
    name = str(md.get("name", ""))
    pod_info = ctx.served("", "Pod")
    pods: list[dict[str, Any]] | None = []
    if pod_info is not None:
        selector = f"spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed"
        try:
            pods = ctx.list_all(pod_info, None, field_selector=selector)
        except Forbidden:
            pods = None
    found = None
    if ctx.show_events:
        found = events.search(ctx, node, "Node") + events.search(ctx, node, "Node", uid=name)

    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{name}\n")
    w.write(LEVEL_0, f"Roles:\t{','.join(node_roles(node)) or '<none>'}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    w.write(LEVEL_0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}\n")
    taints_block(w, "Taints", spec(node).get("taints"))
    w.write(LEVEL_0, f"Unschedulable:\t{go_bool(spec(node).get('unschedulable'))}\n")
    _lease(ctx, w, name)
    node_status = status(node)
    conditions = node_status.get("conditions") or []
    if conditions:
        w.write(
            LEVEL_0,
            "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n",
        )
        w.write(LEVEL_1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                LEVEL_1,
                f"{c.get('type', '')} \t{c.get('status', '')} \t"
                f"{rfc1123z(c.get('lastHeartbeatTime'))} \t{rfc1123z(c.get('lastTransitionTime'))} \t"
                f"{c.get('reason', '')} \t{c.get('message', '')}\n",
            )
    w.write(LEVEL_0, "Addresses:\n")
    for address in node_status.get("addresses") or []:
        w.write(LEVEL_1, f"{address.get('type', '')}:\t{address.get('address', '')}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        values = resource_list(node_status.get(key))
        if values:
            w.write(LEVEL_0, f"{title}:\n")
            for resource in sorted(values):
                w.write(LEVEL_0, f"  {resource}:\t{values[resource].canonical()}\n")
    info = node_status.get("nodeInfo") or {}
    w.write(LEVEL_0, "System Info:\n")
    for title, key in (
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ):
        w.write(LEVEL_0, f"  {title}:\t{info.get(key, '')}\n")
    node_spec = spec(node)
    if node_spec.get("podCIDR"):
        w.write(LEVEL_0, f"PodCIDR:\t{node_spec['podCIDR']}\n")
    if node_spec.get("podCIDRs"):
        w.write(LEVEL_0, f"PodCIDRs:\t{','.join(node_spec['podCIDRs'])}\n")
    if node_spec.get("providerID"):
        w.write(LEVEL_0, f"ProviderID:\t{node_spec['providerID']}\n")
    if pods is None:
        w.write(LEVEL_0, "Pods:\tnot authorized\n")
    else:
        _pods_and_allocation(w, node, pods)
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()


def node_roles(node: Obj) -> list[str]:
    roles: set[str] = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(ROLE_PREFIX) and key[len(ROLE_PREFIX) :]:
            roles.add(key[len(ROLE_PREFIX) :])
        elif key == ROLE_LABEL and value:
            roles.add(str(value))
    return sorted(roles)


def _lease(ctx: DescribeContext, w: PrefixWriter, name: str) -> None:
    info = ctx.served("coordination.k8s.io", "Lease")
    try:
        if info is None:
            raise ApiError(
                f"the server could not find the requested resource (get leases.coordination.k8s.io {name})"
            )
        lease = ctx.get(info, name, NODE_LEASE_NAMESPACE)
    except ApiError as exc:
        w.write(LEVEL_0, f"Lease:\tFailed to get lease: {exc}\n")
        return
    lease_spec = spec(lease)
    w.write(LEVEL_0, "Lease:\n")
    w.write(LEVEL_1, f"HolderIdentity:\t{lease_spec.get('holderIdentity') or '<unset>'}\n")
    for title, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
        stamp = lease_spec.get(key)
        w.write(LEVEL_1, f"{title}:\t{rfc1123z(stamp) if stamp else '<unset>'}\n")


# --- resource accounting --------------------------------------------------------------


def _add(total: dict[str, Quantity], values: Mapping[str, Quantity]) -> None:
    for name, value in values.items():
        total[name] = total[name] + value if name in total else value


def _max(total: dict[str, Quantity], values: Mapping[str, Quantity]) -> None:
    for name, value in values.items():
        if name not in total or value > total[name]:
            total[name] = value


def pod_requests_and_limits(pod: Obj) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """kubectl's ``PodRequestsAndLimits``."""
    pod_spec = spec(pod)
    allocated = {
        s.get("name"): resource_list(s.get("allocatedResources"))
        for s in status(pod).get("containerStatuses") or []
        if s.get("allocatedResources")
    }
    reqs: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        container_reqs = resource_list(resources.get("requests"))
        if container.get("name") in allocated:
            if status(pod).get("resize") == "Infeasible":
                container_reqs = dict(allocated[container["name"]])
            else:
                _max(container_reqs, allocated[container["name"]])
        _add(reqs, container_reqs)
        _add(limits, resource_list(resources.get("limits")))
    for key, total in (("requests", reqs), ("limits", limits)):
        sidecars: dict[str, Quantity] = {}
        init_max: dict[str, Quantity] = {}
        for container in pod_spec.get("initContainers") or []:
            values = resource_list((container.get("resources") or {}).get(key))
            if container.get("restartPolicy") == "Always":
                _add(total, values)
                _add(sidecars, values)
                values = dict(sidecars)
            else:
                combined: dict[str, Quantity] = {}
                _add(combined, values)
                _add(combined, sidecars)
                values = combined
            _max(init_max, values)
        _max(total, init_max)
    overhead = resource_list(pod_spec.get("overhead"))
    _add(reqs, overhead)
    for name, value in overhead.items():
        if name in limits:
            limits[name] = limits[name] + value
    return reqs, limits


def _percent(part: int, whole: int) -> int:
    """``int64(float64(part) / float64(whole) * 100)``, Go's float semantics kept."""
    if whole == 0:
        ratio = float("nan") if part == 0 else (float("inf") if part > 0 else float("-inf"))
    else:
        ratio = float(part) / float(whole)
    return go_int64(ratio * 100)


def _guarded(part: int, whole: int) -> int:
    return _percent(part, whole) if whole else 0


def _pods_and_allocation(w: PrefixWriter, node: Obj, pods: list[dict[str, Any]]) -> None:
    node_status = status(node)
    allocatable = resource_list(node_status.get("allocatable") or node_status.get("capacity"))
    zero = quantity(0)
    cpu_alloc = allocatable.get("cpu", zero).milli_value()
    mem_alloc = allocatable.get("memory", zero).int_value()
    w.write(LEVEL_0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(
        LEVEL_1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n",
    )
    w.write(
        LEVEL_1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n",
    )
    for pod in pods:
        reqs, limits = pod_requests_and_limits(pod)
        cpu_req, cpu_lim = reqs.get("cpu", zero), limits.get("cpu", zero)
        mem_req, mem_lim = reqs.get("memory", zero), limits.get("memory", zero)
        w.write(
            LEVEL_1,
            f"{meta(pod).get('namespace', '')}\t{meta(pod).get('name', '')}\t\t"
            f"{cpu_req.canonical()} ({_percent(cpu_req.milli_value(), cpu_alloc)}%)\t"
            f"{cpu_lim.canonical()} ({_percent(cpu_lim.milli_value(), cpu_alloc)}%)\t"
            f"{mem_req.canonical()} ({_percent(mem_req.int_value(), mem_alloc)}%)\t"
            f"{mem_lim.canonical()} ({_percent(mem_lim.int_value(), mem_alloc)}%)\t"
            f"{since(meta(pod).get('creationTimestamp'))}\n",
        )
    w.write(
        LEVEL_0,
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n",
    )
    w.write(LEVEL_1, "Resource\tRequests\tLimits\n")
    w.write(LEVEL_1, "--------\t--------\t------\n")
    reqs, limits = {}, {}
    for pod in pods:
        pod_reqs, pod_limits = pod_requests_and_limits(pod)
        _add(reqs, pod_reqs)
        _add(limits, pod_limits)
    rows = [
        ("cpu", lambda q: q.milli_value(), cpu_alloc),
        ("memory", lambda q: q.int_value(), mem_alloc),
        (
            "ephemeral-storage",
            lambda q: q.int_value(),
            allocatable.get("ephemeral-storage", zero).int_value(),
        ),
    ]
    for name, measure, whole in rows:
        req, lim = reqs.get(name, zero), limits.get(name, zero)
        w.write(
            LEVEL_1,
            f"{name}\t{req.canonical()} ({_guarded(measure(req), whole)}%)\t"
            f"{lim.canonical()} ({_guarded(measure(lim), whole)}%)\n",
        )
    hugepages = sorted(r for r in allocatable if r.startswith("hugepages-"))
    extended = sorted(
        r
        for r in allocatable
        if not r.startswith("hugepages-") and r not in STANDARD_RESOURCES and r != "pods"
    )
    for name in hugepages:
        req, lim = reqs.get(name, zero), limits.get(name, zero)
        whole = allocatable[name].int_value()
        w.write(
            LEVEL_1,
            f"{name}\t{req.canonical()} ({_guarded(req.int_value(), whole)}%)\t"
            f"{lim.canonical()} ({_guarded(lim.int_value(), whole)}%)\n",
        )
    for name in extended:
        w.write(
            LEVEL_1,
            f"{name}\t{reqs.get(name, zero).canonical()}\t{limits.get(name, zero).canonical()}\n",
        )
