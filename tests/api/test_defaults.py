"""Defaulting: what kube-apiserver 1.32 returns for the same manifests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kctl.api import kinds
from kctl.api.defaults import apply_defaults, image_tag, qos_class

REGISTRY = kinds.default_registry()
Obj = dict[str, Any]


def defaulted(obj: Obj, *, create: bool = True) -> Obj:
    info = REGISTRY.by_api_version_kind(obj["apiVersion"], obj["kind"])
    assert info is not None
    apply_defaults(info, obj, create=create)
    return obj


def test_deployment_like_kube_apiserver() -> None:
    obj = defaulted(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx"},
            "spec": {
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [
                            {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}
                        ]
                    },
                },
            },
        }
    )
    assert obj["spec"] == {
        "progressDeadlineSeconds": 600,
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": {"app": "nginx"}},
        "strategy": {
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            "type": "RollingUpdate",
        },
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            },
        },
    }


def test_deployment_keeps_what_is_set() -> None:
    obj = defaulted(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {
                "replicas": 0,
                "revisionHistoryLimit": 0,
                "strategy": {"type": "Recreate"},
                "template": {
                    "spec": {
                        "containers": [{"name": "c", "image": "i:1", "imagePullPolicy": "Never"}],
                        "restartPolicy": "Always",
                    }
                },
            },
        }
    )
    spec = obj["spec"]
    assert spec["replicas"] == 0 and spec["revisionHistoryLimit"] == 0
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    partial = defaulted(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {"strategy": {"rollingUpdate": {"maxSurge": 3}}},
        }
    )
    assert partial["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 3, "maxUnavailable": "25%"},
    }


def test_replicaset() -> None:
    obj = defaulted(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "r"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a@sha256:00"}]}}},
        }
    )
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "strategy" not in obj["spec"]


def test_pod_defaults_and_create_admission() -> None:
    obj = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox:1.36",
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                        "livenessProbe": {"httpGet": {"port": 8080}},
                        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
                        "env": [
                            {
                                "name": "NODE",
                                "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                            }
                        ],
                    }
                ],
                "volumes": [{"name": "cache"}, {"name": "conf", "configMap": {"name": "c"}}],
            },
        }
    )
    spec = obj["spec"]
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "IfNotPresent"
    assert ctr["resources"]["requests"] == {"cpu": "500m", "memory": "128Mi"}  # from limits
    assert ctr["livenessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert ctr["readinessProbe"]["periodSeconds"] == 5
    assert ctr["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert spec["volumes"] == [
        {"name": "cache", "emptyDir": {}},
        {"name": "conf", "configMap": {"name": "c", "defaultMode": 420}},
    ]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert "tolerations" not in spec  # DefaultTolerationSeconds is admission's (kctl/server)
    assert obj["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_defaulting_is_idempotent() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    once = defaulted(pod)
    twice = defaulted(copy.deepcopy(once))
    assert once == twice


def test_host_network_ports() -> None:
    obj = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "hostNetwork": True,
                "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 9100}]}],
            },
        }
    )
    assert obj["spec"]["containers"][0]["ports"] == [
        {"containerPort": 9100, "protocol": "TCP", "hostPort": 9100}
    ]


def test_service() -> None:
    obj = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {
                "selector": {"app": "x"},
                "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
            },
        }
    )
    assert obj["spec"] == {
        "selector": {"app": "x"},
        "ports": [
            {"port": 80, "protocol": "TCP", "targetPort": 80},
            {"port": 53, "protocol": "UDP", "targetPort": "dns"},
        ],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }
    node_port = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"type": "NodePort", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]},
        }
    )
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    assert node_port["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    external = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"type": "ExternalName", "externalName": "a.b"},
        }
    )
    assert "ipFamilies" not in external["spec"] and "internalTrafficPolicy" not in external["spec"]


def test_namespace_secret_node_endpoints() -> None:
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    # the namespace controller removes the finalizer: an update must not put it back
    ns["spec"]["finalizers"] = []
    assert defaulted(ns, create=False)["spec"]["finalizers"] == []
    assert (
        defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})["type"]
        == "Opaque"
    )
    node = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n"},
            "status": {"capacity": {"cpu": "2"}},
        }
    )
    assert node["status"]["allocatable"] == {"cpu": "2"}
    ep = defaulted(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "e"},
            "subsets": [{"ports": [{"port": 80}]}],
        }
    )
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert defaulted(copy.deepcopy(cm)) == cm


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", "latest"),
        ("nginx:1.25", "1.25"),
        ("localhost:5000/nginx", "latest"),
        ("localhost:5000/nginx:v2", "v2"),
        ("nginx@sha256:abc", ""),
        ("registry.io/a/b:latest", "latest"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_qos_class() -> None:
    def spec(res: dict[str, Any]) -> dict[str, Any]:
        return {"containers": [{"name": "c", "resources": res}]}

    assert qos_class(spec({})) == "BestEffort"
    assert qos_class(spec({"requests": {"cpu": "1"}})) == "Burstable"
    assert qos_class(spec({"limits": {"cpu": "1", "memory": "1Gi"}})) == "Guaranteed"
    assert (
        qos_class(
            spec(
                {
                    "limits": {"cpu": "1", "memory": "1Gi"},
                    "requests": {"cpu": "1000m", "memory": "1Gi"},
                }
            )
        )
        == "Guaranteed"
    )
    assert (
        qos_class(spec({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}))
        == "Burstable"
    )
