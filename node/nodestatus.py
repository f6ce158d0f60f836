"""The Node object a kubelet registers and the status it keeps posting.

Pure functions over a :class:`NodeConfig`: the registration body (labels
``kubernetes.io/hostname|os|arch`` and their ``beta.`` twins, the attach/detach and TTL
annotations, capacity and allocatable, addresses, ``nodeInfo``, the kubelet endpoint)
and the status patch. The conditions are the kubelet's four with its reasons and
messages (``KubeletReady`` / "kubelet is posting ready status", ...).

As with the kubelet since node leases, the Node's status is the slow heartbeat: the
Lease says "alive" every 10 s, the status is patched when something in it changed
(someone else marked the node NotReady, the capacity flags changed) or when the last
report is older than the report interval (5 minutes). :func:`status_patch` decides
which, so the caller only has to ask it.
"""

from __future__ import annotations

import hashlib
import platform
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kctl.api.meta import parse_time

KUBELET_PORT = 10250
KUBELET_VERSION = "v1.32.0-kctl"  # the API server's version: agent and server ship together
ATTACH_DETACH_ANNOTATION = "volumes.kubernetes.io/controller-managed-attach-detach"
TTL_ANNOTATION = "node.alpha.kubernetes.io/ttl"

# (type, status, reason, message) as kubelet's setters write them for a healthy node.
HEALTHY_CONDITIONS = (
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)

_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
}


def go_arch(machine: str | None = None) -> str:
    """``runtime.GOARCH`` spelling of the machine (``x86_64`` -> ``amd64``)."""
    machine = (machine or platform.machine()).lower()
    return _GO_ARCH.get(machine, machine)


@dataclass(frozen=True)
class NodeConfig:
    """Everything the agent reports about one node."""

    name: str
    host_ip: str
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    node_info: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)
    kubelet_port: int = KUBELET_PORT


def node_info(name: str, runtime_version: str, boot_id: str, os_image: str) -> dict[str, str]:
    """``status.nodeInfo``; machine and system IDs derive from the name (hollow nodes
    share a machine, yet each needs its own)."""
    return {
        "machineID": hashlib.md5(name.encode()).hexdigest(),
        "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
        "bootID": boot_id,
        "kernelVersion": platform.release(),
        "osImage": os_image,
        "containerRuntimeVersion": runtime_version,
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": KUBELET_VERSION,
        "operatingSystem": "linux",
        "architecture": go_arch(),
    }


def default_labels(name: str, arch: str, os_name: str = "linux") -> dict[str, str]:
    return {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": os_name,
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": os_name,
    }


def _conditions(now: str, old: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    previous = {c.get("type"): c for c in old}
    out = []
    for kind, status, reason, message in HEALTHY_CONDITIONS:
        before = previous.get(kind) or {}
        same = before.get("status") == status and before.get("lastTransitionTime")
        out.append(
            {
                "type": kind,
                "status": status,
                "lastHeartbeatTime": now,
                "lastTransitionTime": before["lastTransitionTime"] if same else now,
                "reason": reason,
                "message": message,
            }
        )
    return out


def desired_status(
    config: NodeConfig, now: str, old_status: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The full status this agent reports (conditions heartbeat at ``now``)."""
    return {
        "capacity": dict(config.capacity),
        "allocatable": dict(config.allocatable),
        "conditions": _conditions(now, (old_status or {}).get("conditions") or ()),
        "addresses": [
            {"type": "InternalIP", "address": config.host_ip},
            {"type": "Hostname", "address": config.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.kubelet_port}},
        "nodeInfo": dict(config.node_info),
    }


def new_node(config: NodeConfig, now: str) -> dict[str, Any]:
    """The registration body (``POST /api/v1/nodes``)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": config.name,
            "labels": dict(config.labels),
            "annotations": {ATTACH_DETACH_ANNOTATION: "true", TTL_ANNOTATION: "0"},
        },
        "spec": {},
        "status": desired_status(config, now),
    }


def metadata_patch(config: NodeConfig, node: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a node that was already registered: the labels and annotation to put back."""
    md = node.get("metadata") or {}
    labels = md.get("labels") or {}
    annotations = md.get("annotations") or {}
    patch: dict[str, Any] = {}
    wrong = {k: v for k, v in config.labels.items() if labels.get(k) != v}
    if wrong:
        patch["labels"] = wrong
    if annotations.get(ATTACH_DETACH_ANNOTATION) != "true":
        patch["annotations"] = {ATTACH_DETACH_ANNOTATION: "true"}
    return {"metadata": patch} if patch else None


def _without_heartbeats(conditions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in conditions),
        key=lambda c: str(c.get("type")),
    )


def _heartbeat_age(status: Mapping[str, Any], now: str) -> float | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("lastHeartbeatTime"):
            try:
                return (
                    parse_time(now) - parse_time(str(cond["lastHeartbeatTime"]))
                ).total_seconds()
            except ValueError:
                return None
    return None


def status_patch(
    config: NodeConfig, node: Mapping[str, Any], now: str, report_interval: float
) -> dict[str, Any] | None:
    """The strategic-merge patch for ``nodes/status``: None while the posted status is
    current and younger than ``report_interval``; otherwise the changed fields plus the
    conditions with a fresh heartbeat."""
    old = node.get("status") or {}
    want = desired_status(config, now, old)
    changed = {k: v for k, v in want.items() if k != "conditions" and old.get(k) != v}
    ours = {c["type"] for c in want["conditions"]}
    old_ours = [c for c in old.get("conditions") or () if c.get("type") in ours]
    conditions_changed = _without_heartbeats(old_ours) != _without_heartbeats(want["conditions"])
    age = _heartbeat_age(old, now)
    if not changed and not conditions_changed and age is not None and age < report_interval:
        return None
    return {"status": {**changed, "conditions": want["conditions"]}}


def pod_cidr(node: Mapping[str, Any]) -> str:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ()
    return str(spec.get("podCIDR") or (cidrs[0] if cidrs else ""))
