"""Server-side Tables: columns and cells as kube-apiserver 1.32 prints them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kctl.api.kinds import ResourceInfo, default_registry
from kctl.api.tables import table_for

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-05-01T11:00:00Z"  # 60m before NOW


def info(resource: str) -> ResourceInfo:
    found = default_registry().by_resource(resource)
    assert found is not None, resource
    return found


def one_row(resource: str, obj: dict[str, Any]) -> list[Any]:
    table = table_for(info(resource), [obj], now=NOW)
    assert len(table["rows"]) == 1
    return table["rows"][0]["cells"]


def columns(resource: str) -> list[tuple[str, int]]:
    table = table_for(info(resource), [], now=NOW)
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": CREATED, **extra}


# --- table shape ------------------------------------------------------------------------


def test_table_shape_and_partial_object_metadata() -> None:
    cm = {"kind": "ConfigMap", "metadata": meta("c", labels={"a": "b"}), "data": {"k": "v"}}
    table = table_for(info("configmaps"), [cm], now=NOW, resource_version="42")
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42"}
    name_col = table["columnDefinitions"][0]
    assert name_col["name"] == "Name" and name_col["format"] == "name"
    assert set(name_col) == {"name", "type", "format", "description", "priority"}
    row = table["rows"][0]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": cm["metadata"],
    }


def test_include_object_variants() -> None:
    cm = {"kind": "ConfigMap", "metadata": meta("c")}
    full = table_for(info("configmaps"), [cm], include_object="Object", now=NOW)
    assert full["rows"][0]["object"] is cm
    none = table_for(info("configmaps"), [cm], include_object="None", now=NOW)
    assert "object" not in none["rows"][0]
    with pytest.raises(ValueError):
        table_for(info("configmaps"), [cm], include_object="Everything")


def test_watch_rows_can_omit_column_definitions() -> None:
    table = table_for(info("pods"), [], with_column_definitions=False)
    assert table["columnDefinitions"] == []


def test_default_columns_for_unknown_printer() -> None:
    other = ResourceInfo(
        group="example.com",
        version="v1",
        kind="Thing",
        plural="things",
        singular="thing",
        namespaced=True,
    )
    table = table_for(other, [{"metadata": meta("t")}], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["t", "60m"]


# --- pods -------------------------------------------------------------------------------


def pod(status: dict[str, Any], spec: dict[str, Any] | None = None, **m: Any) -> dict[str, Any]:
    spec = spec or {"containers": [{"name": "a"}, {"name": "b"}]}
    return {"kind": "Pod", "metadata": meta("p", **m), "spec": spec, "status": status}


def running(name: str, ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": CREATED}},
        **extra,
    }


def test_pod_columns() -> None:
    assert columns("pods") == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]


def test_pod_running_partially_ready_with_wide_cells() -> None:
    p = pod(
        {
            "phase": "Running",
            "podIP": "10.1.0.5",
            "containerStatuses": [running("a"), running("b", ready=False)],
        },
        spec={"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
    )
    assert one_row("pods", p) == [
        "p",
        "1/2",
        "Running",
        "0",
        "60m",
        "10.1.0.5",
        "n1",
        "<none>",
        "<none>",
    ]


def test_pod_pending_has_none_placeholders() -> None:
    cells = one_row("pods", pod({"phase": "Pending"}))
    assert cells == ["p", "0/2", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"]


def test_pod_crashloop_restarts_with_last_restart_age() -> None:
    crashing = {
        "name": "a",
        "ready": False,
        "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}},
    }
    p = pod(
        {"phase": "Running", "containerStatuses": [crashing]}, spec={"containers": [{"name": "a"}]}
    )
    cells = one_row("pods", p)
    assert cells[1:4] == ["0/1", "CrashLoopBackOff", "3 (5m ago)"]


def test_pod_container_creating_and_terminated_reasons() -> None:
    creating = {"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}}
    p = pod(
        {"phase": "Pending", "containerStatuses": [creating]}, spec={"containers": [{"name": "a"}]}
    )
    assert one_row("pods", p)[2] == "ContainerCreating"
    killed = {"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}
    p = pod(
        {"phase": "Running", "containerStatuses": [killed]}, spec={"containers": [{"name": "a"}]}
    )
    assert one_row("pods", p)[2] == "Signal:9"
    exited = {"name": "a", "state": {"terminated": {"exitCode": 2}}}
    p = pod(
        {"phase": "Failed", "containerStatuses": [exited]}, spec={"containers": [{"name": "a"}]}
    )
    assert one_row("pods", p)[2] == "ExitCode:2"


def test_pod_init_progress_and_failures() -> None:
    spec = {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}
    done = {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    pending = {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}
    assert (
        one_row("pods", pod({"phase": "Pending", "initContainerStatuses": [done, pending]}, spec))[
            2
        ]
        == "Init:1/2"
    )
    first = {"name": "i1", "state": {"running": {}}}
    assert (
        one_row("pods", pod({"phase": "Pending", "initContainerStatuses": [first]}, spec))[2]
        == "Init:0/2"
    )
    failed = {
        "name": "i1",
        "restartCount": 2,
        "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
    }
    cells = one_row("pods", pod({"phase": "Pending", "initContainerStatuses": [failed]}, spec))
    assert cells[2:4] == ["Init:Error", "2"]
    backoff = {"name": "i1", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    assert (
        one_row("pods", pod({"phase": "Pending", "initContainerStatuses": [backoff]}, spec))[2]
        == "Init:CrashLoopBackOff"
    )


def test_pod_sidecar_counts_toward_ready() -> None:
    spec = {
        "initContainers": [{"name": "side", "restartPolicy": "Always"}],
        "containers": [{"name": "a"}],
    }
    side = running("side", started=True, restarts=1)
    status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [side],
        "containerStatuses": [running("a")],
    }
    cells = one_row("pods", pod(status, spec))
    assert cells[1:4] == ["2/2", "Running", "1"]


def test_pod_completed_and_conditions() -> None:
    done = {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    p = pod(
        {"phase": "Succeeded", "containerStatuses": [done]}, spec={"containers": [{"name": "a"}]}
    )
    table = table_for(info("pods"), [p], now=NOW)
    assert table["rows"][0]["cells"][2] == "Completed"
    assert table["rows"][0]["conditions"][0]["type"] == "Completed"
    assert table["rows"][0]["conditions"][0]["reason"] == "Succeeded"


def test_pod_completed_but_one_still_running() -> None:
    done = {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    status = {"phase": "Running", "containerStatuses": [running("a"), done]}
    assert one_row("pods", pod(status))[1:3] == ["1/2", "NotReady"]
    status["conditions"] = [{"type": "Ready", "status": "True"}]
    assert one_row("pods", pod(status))[1:3] == ["1/2", "Running"]


def test_pod_terminating_and_node_lost() -> None:
    status = {"phase": "Running", "containerStatuses": [running("a"), running("b")]}
    assert one_row("pods", pod(status, deletionTimestamp=CREATED))[2] == "Terminating"
    lost = {**status, "reason": "NodeLost"}
    assert one_row("pods", pod(lost, deletionTimestamp=CREATED))[2] == "Unknown"
    finished = {"phase": "Succeeded"}
    assert one_row("pods", pod(finished, deletionTimestamp=CREATED))[2] == "Succeeded"


def test_pod_scheduling_gated_and_readiness_gates() -> None:
    spec = {
        "containers": [{"name": "a"}],
        "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}],
    }
    status = {
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
            {"type": "x", "status": "True"},
            {"type": "y", "status": "False"},
        ],
    }
    cells = one_row("pods", pod(status, spec))
    assert cells[2] == "SchedulingGated"
    assert cells[8] == "1/2"


# --- services and endpoints ---------------------------------------------------------------


def test_service_rows() -> None:
    assert columns("services") == [
        ("Name", 0),
        ("Type", 0),
        ("Cluster-IP", 0),
        ("External-IP", 0),
        ("Port(s)", 0),
        ("Age", 0),
        ("Selector", 1),
    ]
    svc = {
        "metadata": meta("web"),
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.10",
            "ports": [
                {"port": 80, "protocol": "TCP", "nodePort": 30080},
                {"port": 53, "protocol": "UDP"},
            ],
            "selector": {"app": "web", "tier": "fe"},
        },
    }
    assert one_row("services", svc) == [
        "web",
        "NodePort",
        "10.96.0.10",
        "<none>",
        "80:30080/TCP,53/UDP",
        "60m",
        "app=web,tier=fe",
    ]
    lb = {
        "metadata": meta("lb"),
        "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "ports": []},
    }
    assert one_row("services", lb)[2:5] == ["10.96.0.11", "<pending>", "<none>"]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"}]}}
    lb["spec"]["externalIPs"] = ["5.6.7.8"]
    assert one_row("services", lb)[3] == "1.2.3.4,lb.example,5.6.7.8"
    headless = {
        "metadata": meta("h"),
        "spec": {"type": "ClusterIP", "clusterIP": "None", "externalIPs": ["9.9.9.9"]},
    }
    assert one_row("services", headless)[2:4] == ["None", "9.9.9.9"]
    ext = {
        "metadata": meta("e"),
        "spec": {"type": "ExternalName", "externalName": "db.example.com"},
    }
    assert one_row("services", ext)[2:4] == ["<none>", "db.example.com"]
    assert one_row("services", ext)[6] == "<none>"


def test_endpoints_formatting() -> None:
    empty = {"metadata": meta("e")}
    assert one_row("endpoints", empty) == ["e", "<none>", "60m"]
    many = {
        "metadata": meta("e"),
        "subsets": [
            {
                "addresses": [
                    {"ip": "10.0.0.1"},
                    {"ip": "10.0.0.2"},
                    {"ip": "10.0.0.3"},
                    {"ip": "10.0.0.4"},
                ],
                "ports": [{"port": 80}],
            }
        ],
    }
    assert one_row("endpoints", many)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
    two_ports = {
        "metadata": meta("e"),
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}, {"port": 443}]}],
    }
    assert one_row("endpoints", two_ports)[1] == "10.0.0.1:80,10.0.0.1:443"
    headless = {
        "metadata": meta("e"),
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}],
    }
    assert one_row("endpoints", headless)[1] == "10.0.0.1,fd00::1"
    v6 = {
        "metadata": meta("e"),
        "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}],
    }
    assert one_row("endpoints", v6)[1] == "[fd00::1]:80"


# --- workloads --------------------------------------------------------------------------


TEMPLATE = {
    "spec": {
        "containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]
    }
}


def test_deployment_rows() -> None:
    assert [n for n, p in columns("deployments.apps") if p == 0] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
    ]
    dep = {
        "metadata": meta("web"),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}],
            },
            "template": TEMPLATE,
        },
        "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1},
    }
    assert one_row("deployments.apps", dep) == [
        "web",
        "1/3",
        2,
        1,
        "60m",
        "web,log",
        "nginx:1,busybox",
        "app=web,env in (dev,prod)",
    ]
    fresh = {"metadata": meta("new"), "spec": {"replicas": 0, "template": TEMPLATE}}
    assert one_row("deployments.apps", fresh)[1:4] == ["0/0", 0, 0]


def test_replicaset_rows() -> None:
    cols = table_for(info("replicasets.apps"), [])["columnDefinitions"]
    assert [(c["name"], c["type"], c["priority"]) for c in cols][:4] == [
        ("Name", "string", 0),
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
    ]
    rs = {
        "metadata": meta("web-abc"),
        "spec": {
            "replicas": 2,
            "selector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]},
            "template": TEMPLATE,
        },
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert one_row("replicasets.apps", rs) == [
        "web-abc",
        2,
        2,
        1,
        "60m",
        "web,log",
        "nginx:1,busybox",
        "!x",
    ]
    rs["spec"]["selector"] = {}
    assert one_row("replicasets.apps", rs)[7] == "<none>"


# --- simple kinds -------------------------------------------------------------------------


def test_configmap_secret_serviceaccount_namespace_lease() -> None:
    cm = {"metadata": meta("c"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert one_row("configmaps", cm) == ["c", 3, "60m"]
    assert one_row("configmaps", {"metadata": meta("empty")}) == ["empty", 0, "60m"]
    sec = {
        "metadata": meta("s"),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
    }
    assert one_row("secrets", sec) == ["s", "kubernetes.io/tls", 2, "60m"]
    assert columns("secrets") == [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)]
    sa = {"metadata": meta("default"), "secrets": [{"name": "tok"}]}
    assert one_row("serviceaccounts", sa) == ["default", 1, "60m"]
    ns = {"metadata": meta("kube-system"), "status": {"phase": "Terminating"}}
    assert one_row("namespaces", ns) == ["kube-system", "Terminating", "60m"]
    lease = {"metadata": meta("node-1"), "spec": {"holderIdentity": "node-1"}}
    assert one_row("leases.coordination.k8s.io", lease) == ["node-1", "node-1", "60m"]
    assert one_row("leases.coordination.k8s.io", {"metadata": meta("x"), "spec": {}})[1] == ""


# --- nodes ------------------------------------------------------------------------------


def node(
    conditions: list[dict[str, str]], labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": meta("n1", labels=labels or {}),
        "spec": spec,
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "192.168.1.10"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian GNU/Linux 12",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "containerd://1.7.0",
            },
        },
    }


def test_node_rows() -> None:
    assert columns("nodes") == [
        ("Name", 0),
        ("Status", 0),
        ("Roles", 0),
        ("Age", 0),
        ("Version", 0),
        ("Internal-IP", 1),
        ("External-IP", 1),
        ("OS-Image", 1),
        ("Kernel-Version", 1),
        ("Container-Runtime", 1),
    ]
    ready = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]
    labels = {
        "node-role.kubernetes.io/worker": "",
        "node-role.kubernetes.io/control-plane": "",
        "kubernetes.io/role": "edge",
    }
    assert one_row("nodes", node(ready, labels)) == [
        "n1",
        "Ready",
        "control-plane,edge,worker",
        "60m",
        "v1.32.0",
        "192.168.1.10",
        "<none>",
        "Debian GNU/Linux 12",
        "6.1.0",
        "containerd://1.7.0",
    ]
    assert one_row("nodes", node(ready, unschedulable=True))[1:3] == [
        "Ready,SchedulingDisabled",
        "<none>",
    ]
    assert one_row("nodes", node([{"type": "Ready", "status": "Unknown"}]))[1] == "NotReady"
    assert one_row("nodes", node([]))[1] == "Unknown"


# --- events ------------------------------------------------------------------------------


def test_event_rows() -> None:
    names = columns("events")
    assert names == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", 1),
        ("Source", 1),
        ("Message", 0),
        ("First Seen", 1),
        ("Count", 1),
        ("Name", 1),
    ]
    ev = {
        "metadata": meta("web.17a"),
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container\n",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": "2024-05-01T11:00:00Z",
        "lastTimestamp": "2024-05-01T11:58:00Z",
        "count": 7,
    }
    assert one_row("events", ev) == [
        "2m",
        "Warning",
        "BackOff",
        "pod/web",
        "spec.containers{web}",
        "kubelet, n1",
        "Back-off restarting failed container",
        "60m",
        7,
        "web.17a",
    ]
    new_api = {
        "metadata": meta("x"),
        "involvedObject": {"kind": "Node"},
        "eventTime": "2024-05-01T11:59:00.000000Z",
        "reportingComponent": "scheduler",
        "type": "Normal",
        "reason": "R",
        "message": "m",
    }
    cells = one_row("events", new_api)
    assert cells[0] == "60s" and cells[3] == "node" and cells[5] == "scheduler"
    assert cells[7:9] == ["60s", 1]
