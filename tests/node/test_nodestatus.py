"""The Node a hollow agent registers, and when its status is posted again."""

from __future__ import annotations

import copy

import pytest

from node.nodestatus import (
    NodeConfig,
    default_labels,
    go_arch,
    metadata_patch,
    new_node,
    node_info,
    pod_cidr,
    status_patch,
)

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-01-01T00:01:00Z"
T10 = "2025-01-01T00:10:00Z"

CONFIG = NodeConfig(
    name="hollow-0",
    host_ip="127.128.0.9",
    capacity={"cpu": "4", "memory": "16Gi", "pods": "110"},
    allocatable={"cpu": "4", "memory": "16Gi", "pods": "110"},
    node_info=node_info("hollow-0", "hollow://0.1.0", "boot", "kctl hollow node"),
    labels=default_labels("hollow-0", "amd64"),
)


def test_registration_body() -> None:
    node = new_node(CONFIG, T0)
    md = node["metadata"]
    assert md["name"] == "hollow-0"
    assert md["labels"]["kubernetes.io/hostname"] == "hollow-0"
    assert (
        md["labels"]["kubernetes.io/os"] == "linux"
        and md["labels"]["kubernetes.io/arch"] == "amd64"
    )
    assert md["annotations"]["volumes.kubernetes.io/controller-managed-attach-detach"] == "true"
    status = node["status"]
    assert (
        status["capacity"] == status["allocatable"] == {"cpu": "4", "memory": "16Gi", "pods": "110"}
    )
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Ready"] == {
        "type": "Ready",
        "status": "True",
        "lastHeartbeatTime": T0,
        "lastTransitionTime": T0,
        "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
    }
    assert {
        k: conds[k]["status"] for k in ("MemoryPressure", "DiskPressure", "PIDPressure")
    } == dict.fromkeys(("MemoryPressure", "DiskPressure", "PIDPressure"), "False")
    assert status["addresses"] == [
        {"type": "InternalIP", "address": "127.128.0.9"},
        {"type": "Hostname", "address": "hollow-0"},
    ]
    info = status["nodeInfo"]
    assert (
        info["operatingSystem"] == "linux" and info["containerRuntimeVersion"] == "hollow://0.1.0"
    )
    assert info["kubeletVersion"].startswith("v1.")
    assert node_info("hollow-1", "x", "b", "o")["systemUUID"] != info["systemUUID"]


@pytest.mark.parametrize(
    ("now", "edit", "posts"),
    [
        (T1, None, False),  # fresh and unchanged
        (T10, None, True),  # older than the report interval: heartbeat
        (T1, ("Ready", "Unknown"), True),  # someone marked it: correct at once
        (T1, ("capacity", {"cpu": "2"}), True),
    ],
)
def test_when_status_is_posted(now: str, edit: tuple[str, object] | None, posts: bool) -> None:
    node = new_node(CONFIG, T0)
    if edit is not None:
        field, value = edit
        if field == "Ready":
            for cond in node["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond.update(status=value, reason="NodeStatusUnknown")
        else:
            node["status"][field] = value
    patch = status_patch(CONFIG, node, now, report_interval=300)
    assert (patch is not None) == posts
    if patch is not None:
        ready = next(c for c in patch["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True" and ready["lastHeartbeatTime"] == now
        expected_transition = now if edit and edit[0] == "Ready" else T0
        assert ready["lastTransitionTime"] == expected_transition


def test_heartbeat_patch_sends_only_conditions() -> None:
    patch = status_patch(CONFIG, new_node(CONFIG, T0), T10, report_interval=300)
    assert patch is not None and set(patch["status"]) == {"conditions"}


def test_existing_node_labels_repaired() -> None:
    node = new_node(CONFIG, T0)
    assert metadata_patch(CONFIG, node) is None
    stale = copy.deepcopy(node)
    stale["metadata"]["labels"]["kubernetes.io/arch"] = "s390x"
    del stale["metadata"]["annotations"]
    assert metadata_patch(CONFIG, stale) == {
        "metadata": {
            "labels": {"kubernetes.io/arch": "amd64"},
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        }
    }


@pytest.mark.parametrize(
    ("spec", "cidr"),
    [
        ({}, ""),
        ({"podCIDR": "10.244.3.0/24"}, "10.244.3.0/24"),
        ({"podCIDRs": ["10.244.4.0/24"]}, "10.244.4.0/24"),
    ],
)
def test_pod_cidr(spec: dict[str, object], cidr: str) -> None:
    assert pod_cidr({"spec": spec}) == cidr


@pytest.mark.parametrize(
    ("machine", "arch"), [("x86_64", "amd64"), ("aarch64", "arm64"), ("riscv64", "riscv64")]
)
def test_go_arch(machine: str, arch: str) -> None:
    assert go_arch(machine) == arch
