"""Strategic merge patch against the real upstream schemas (Kubernetes 1.32).

The patches in the kubectl section are the bodies kubectl 1.32 sends (client-side
``apply`` 3-way patches, ``set image``, ``rollout restart``, ``label``), applied to live
objects shaped as the API server stores them (with defaults filled in).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kctl.api.errors import BadRequest
from kctl.api.patch import MalformedPatch, apply_strategic_merge_patch
from kctl.api.schema_nav import SchemaNode

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def schema(kind: str) -> SchemaNode:
    return SchemaNode.for_definition(kind)


DEPLOYMENT = schema("io.k8s.api.apps.v1.Deployment")
SERVICE = schema("io.k8s.api.core.v1.Service")
POD = schema("io.k8s.api.core.v1.Pod")
CONFIGMAP = schema("io.k8s.api.core.v1.ConfigMap")
SCALE = schema("io.k8s.api.autoscaling.v1.Scale")
PDB = schema("io.k8s.api.policy.v1.PodDisruptionBudget")


def live_pdb() -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web", "tier": "fe"}}},
    }


def _container(name: str, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        **extra,
    }


def live_deployment() -> dict[str, Any]:
    """A Deployment as stored after `kubectl apply` and defaulting."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "6f1c8a8e-0000-4000-8000-000000000001",
            "resourceVersion": "42",
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web"},
            "annotations": {
                "deployment.kubernetes.io/revision": "1",
                LAST_APPLIED: json.dumps(manifest, separators=(",", ":")) + "\n",
            },
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        _container(
                            "nginx",
                            "nginx:1.25",
                            ports=[{"containerPort": 80, "protocol": "TCP"}],
                            env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            volumeMounts=[{"name": "data", "mountPath": "/data"}],
                        ),
                        _container("sidecar", "busybox:1.36", args=["sleep", "3600"]),
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "restartPolicy": "Always",
                    "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1},
    }


def live_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090},
            ],
            "sessionAffinity": "None",
        },
    }


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def names(items: list[dict[str, Any]], key: str = "name") -> list[Any]:
    return [item[key] for item in items]


def directive_keys(value: Any) -> list[str]:
    """Every key starting with ``$`` anywhere in ``value``."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k.startswith("$"):
                found.append(k)
            found.extend(directive_keys(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(directive_keys(v))
    return found


def patched(original: dict[str, Any], patch: dict[str, Any], node: SchemaNode) -> dict[str, Any]:
    """Apply, and check the invariants every application must keep."""
    before = copy.deepcopy((original, patch))
    out = apply_strategic_merge_patch(original, patch, node)
    assert (original, patch) == before, "inputs were mutated"
    assert directive_keys(out) == [], "a directive reached the result"
    return out


# -- what kubectl 1.32 sends ----------------------------------------------------------------


def test_kubectl_apply_changed_replicas() -> None:
    live = live_deployment()
    new_last = live["metadata"]["annotations"][LAST_APPLIED].replace('"replicas":1', '"replicas":2')
    patch = {"metadata": {"annotations": {LAST_APPLIED: new_last}}, "spec": {"replicas": 2}}
    out = patched(live, patch, DEPLOYMENT)
    assert out["spec"]["replicas"] == 2
    assert out["metadata"]["annotations"][LAST_APPLIED] == new_last
    assert out["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    # Everything else is the live object, shared rather than copied.
    assert out["spec"]["template"] is live["spec"]["template"]
    assert out["status"] is live["status"]
    assert out["metadata"]["uid"] == live["metadata"]["uid"]


def test_kubectl_set_image() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [{"image": "nginx:1.27", "name": "nginx"}],
                }
            }
        }
    }
    out = patched(live, patch, DEPLOYMENT)
    got = containers(out)
    assert names(got) == ["nginx", "sidecar"]
    assert got[0]["image"] == "nginx:1.27"
    # The rest of the container is merged, not replaced.
    assert got[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert got[0]["imagePullPolicy"] == "IfNotPresent"
    assert got[1] is containers(live)[1]


def test_kubectl_set_image_of_the_second_container_keeps_order() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [{"image": "busybox:1.37", "name": "sidecar"}],
                }
            }
        }
    }
    got = containers(patched(live, patch, DEPLOYMENT))
    assert names(got) == ["nginx", "sidecar"]
    assert got[1]["image"] == "busybox:1.37"
    assert got[1]["args"] == ["sleep", "3600"]


def test_kubectl_rollout_restart() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-02T03:04:05Z"}
                }
            }
        }
    }
    out = patched(live, patch, DEPLOYMENT)
    meta = out["spec"]["template"]["metadata"]
    assert meta["annotations"] == {"kubectl.kubernetes.io/restartedAt": "2025-01-02T03:04:05Z"}
    assert meta["labels"] == {"app": "web"}
    assert out["spec"]["template"]["spec"] is live["spec"]["template"]["spec"]


def test_kubectl_rollout_pause() -> None:
    out = patched(live_deployment(), {"spec": {"paused": True}}, DEPLOYMENT)
    assert out["spec"]["paused"] is True


@pytest.mark.parametrize(
    ("patch", "labels"),
    [
        ({"metadata": {"labels": {"env": "prod"}}}, {"app": "web", "env": "prod"}),
        ({"metadata": {"labels": {"app": None}}}, {}),
        ({"metadata": {"labels": {"app": "api"}}}, {"app": "api"}),
    ],
)
def test_label_patches(patch: dict[str, Any], labels: dict[str, str]) -> None:
    # kubectl label sends these as merge patches; clients may send them as SMP too.
    out = patched(live_deployment(), patch, DEPLOYMENT)
    assert out["metadata"]["labels"] == labels


def test_kubectl_apply_removes_a_container() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"$patch": "delete", "name": "sidecar"}],
                }
            }
        }
    }
    assert names(containers(patched(live, patch, DEPLOYMENT))) == ["nginx"]


def test_kubectl_apply_adds_a_container_in_manifest_order() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "nginx"},
                        {"name": "logger"},
                        {"name": "sidecar"},
                    ],
                    "containers": [{"image": "fluent-bit:3", "name": "logger"}],
                }
            }
        }
    }
    got = containers(patched(live, patch, DEPLOYMENT))
    assert names(got) == ["nginx", "logger", "sidecar"]
    assert got[1] == {"image": "fluent-bit:3", "name": "logger"}


def test_kubectl_apply_removes_an_env_var_inside_a_container() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                            "env": [{"$patch": "delete", "name": "B"}, {"name": "C", "value": "3"}],
                            "name": "nginx",
                        }
                    ],
                }
            }
        }
    }
    got = containers(patched(live, patch, DEPLOYMENT))
    assert got[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert got[0]["image"] == "nginx:1.25"


def test_kubectl_apply_switches_strategy_with_retain_keys() -> None:
    patch = {
        "spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}
    }
    out = patched(live_deployment(), patch, DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_clears_keys_the_patch_does_not_mention() -> None:
    # Only $retainKeys decides: rollingUpdate is cleared without an explicit null.
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert patched(live_deployment(), patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_kubectl_apply_switches_a_volume_source() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/volumes": [{"name": "data"}],
                    "volumes": [
                        {
                            "$retainKeys": ["configMap", "name"],
                            "configMap": {"name": "web-config"},
                            "emptyDir": None,
                            "name": "data",
                        }
                    ],
                }
            }
        }
    }
    out = patched(live, patch, DEPLOYMENT)
    assert out["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "configMap": {"name": "web-config"}}
    ]


def test_container_ports_merge_by_container_port() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [
                        {
                            "$setElementOrder/ports": [
                                {"containerPort": 80},
                                {"containerPort": 443},
                            ],
                            "name": "nginx",
                            "ports": [
                                {"containerPort": 80, "name": "http"},
                                {"containerPort": 443, "name": "https"},
                            ],
                        }
                    ],
                }
            }
        }
    }
    got = containers(patched(live, patch, DEPLOYMENT))[0]["ports"]
    assert got == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443, "name": "https"},
    ]


def test_volume_mounts_merge_by_mount_path() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                        }
                    ]
                }
            }
        }
    }
    got = containers(patched(live, patch, DEPLOYMENT))[0]["volumeMounts"]
    assert got == [{"name": "data", "mountPath": "/data", "readOnly": True}]


def test_service_ports_merge_by_port() -> None:
    live = live_service()
    patch: dict[str, Any] = {
        "spec": {
            "$setElementOrder/ports": [{"port": 80}, {"port": 443}, {"port": 9090}],
            "ports": [
                {"name": "https", "port": 443, "targetPort": 8443},
                {"port": 80, "targetPort": 8081},
            ],
        }
    }
    # The patch list's order (443 before 80) contradicts $setElementOrder: rejected.
    with pytest.raises(MalformedPatch):
        apply_strategic_merge_patch(live, patch, SERVICE)

    patch["spec"]["ports"].reverse()
    out = patched(live, patch, SERVICE)
    assert names(out["spec"]["ports"], "port") == [80, 443, 9090]
    assert out["spec"]["ports"][0] == {
        "name": "http",
        "port": 80,
        "protocol": "TCP",
        "targetPort": 8081,
    }
    assert out["spec"]["clusterIPs"] == ["10.96.0.10"]


def test_service_port_removed_by_kubectl_apply() -> None:
    patch = {
        "spec": {
            "$setElementOrder/ports": [{"port": 80}],
            "ports": [{"$patch": "delete", "port": 9090}],
        }
    }
    out = patched(live_service(), patch, SERVICE)
    assert names(out["spec"]["ports"], "port") == [80]


def test_field_removed_by_kubectl_apply_is_null() -> None:
    out = patched(live_deployment(), {"spec": {"revisionHistoryLimit": None}}, DEPLOYMENT)
    assert "revisionHistoryLimit" not in out["spec"]


# -- list strategies --------------------------------------------------------------------------


def test_new_merge_list_item_without_order_goes_first() -> None:
    # Upstream's order: patch items not in the live list come before the server's items
    # (the Kubernetes docs' `kubectl patch` example shows the new container first).
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}
    got = containers(patched(live_deployment(), patch, DEPLOYMENT))
    assert names(got) == ["redis", "nginx", "sidecar"]


def test_patched_item_keeps_its_live_position_without_order() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "x"}]}}}}
    assert names(containers(patched(live_deployment(), patch, DEPLOYMENT))) == ["nginx", "sidecar"]


def test_rename_next_to_a_server_only_container_orders_as_upstream() -> None:
    # The live pod has a container the user's manifest does not (injected by a webhook).
    # kubectl apply renaming "web" to "api" sends a delete plus an add; upstream's merge
    # reuses the deleted slot of its array, so the server-only container ends up first.
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [_container("web", "nginx"), _container("proxy", "envoy")]},
    }
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "api"}],
            "containers": [{"image": "nginx", "name": "api"}, {"$patch": "delete", "name": "web"}],
        }
    }
    assert names(patched(pod, patch, POD)["spec"]["containers"]) == ["proxy", "api"]


def test_set_element_order_alone_reorders() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]}
            }
        }
    }
    live = live_deployment()
    got = containers(patched(live, patch, DEPLOYMENT))
    assert names(got) == ["sidecar", "nginx"]
    assert got[0] is containers(live)[1]


def test_set_element_order_for_a_list_the_live_object_lacks() -> None:
    live = live_deployment()
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/imagePullSecrets": [{"name": "b"}, {"name": "a"}],
                    "imagePullSecrets": [{"name": "b"}, {"name": "a"}],
                }
            }
        }
    }
    out = patched(live, patch, DEPLOYMENT)
    assert out["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "b"}, {"name": "a"}]


def test_atomic_lists_are_replaced() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "args": ["true"]}]}}}
    }
    got = containers(patched(live_deployment(), patch, DEPLOYMENT))
    assert got[1]["args"] == ["true"]

    tolerations = [{"key": "a", "operator": "Exists"}]
    live = live_deployment()
    live["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    out = patched(live, {"spec": {"template": {"spec": {"tolerations": tolerations}}}}, DEPLOYMENT)
    assert out["spec"]["template"]["spec"]["tolerations"] == tolerations


def test_primitive_merge_list_is_a_set() -> None:
    pod = {"metadata": {"name": "p", "finalizers": ["a.io/x", "b.io/y"]}}
    out = patched(pod, {"metadata": {"finalizers": ["b.io/y", "c.io/z"]}}, POD)
    # Union without duplicates; a new element follows the patch element it came after...
    assert out["metadata"]["finalizers"] == ["a.io/x", "b.io/y", "c.io/z"]
    # ...and goes first when the patch names no live element (upstream's interleaving).
    out = patched(pod, {"metadata": {"finalizers": ["c.io/z"]}}, POD)
    assert out["metadata"]["finalizers"] == ["c.io/z", "a.io/x", "b.io/y"]


def test_delete_from_primitive_list() -> None:
    pod = {"metadata": {"name": "p", "finalizers": ["a.io/x", "b.io/y", "c.io/z"]}}
    out = patched(pod, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b.io/y"]}}, POD)
    assert out["metadata"]["finalizers"] == ["a.io/x", "c.io/z"]


def test_kubectl_apply_primitive_list_change() -> None:
    # finalizers [a, b] -> [b, c]: kubectl's 3-way patch for a merge list of primitives.
    pod = {"metadata": {"name": "p", "finalizers": ["a", "b"]}}
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b", "c"],
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "finalizers": ["c"],
        }
    }
    assert patched(pod, patch, POD)["metadata"]["finalizers"] == ["b", "c"]


def test_owner_references_merge_by_uid() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "ownerReferences": [
                {"uid": "1", "kind": "ReplicaSet", "name": "rs", "controller": True}
            ],
        }
    }
    patch = {"metadata": {"ownerReferences": [{"uid": "1", "controller": False}]}}
    out = patched(pod, patch, POD)
    assert out["metadata"]["ownerReferences"] == [
        {"uid": "1", "kind": "ReplicaSet", "name": "rs", "controller": False}
    ]


def test_scale_subresource_patch() -> None:
    scale = {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "selector": "app=web"},
    }
    out = patched(scale, {"spec": {"replicas": 5}}, SCALE)
    assert out["spec"] == {"replicas": 5}
    assert out["status"] is scale["status"]


# -- directives -------------------------------------------------------------------------------


def test_replace_strategy_on_a_map_field() -> None:
    # PodDisruptionBudget spec.selector has patch strategy "replace": no merging inside.
    patch = {"spec": {"selector": {"matchLabels": {"app": "api"}}}}
    out = patched(live_pdb(), patch, PDB)
    assert out["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "api"}}}


def test_patch_replace_on_a_map() -> None:
    patch = {"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "api"}}}}
    assert patched(live_deployment(), patch, DEPLOYMENT)["spec"]["selector"] == {
        "matchLabels": {"app": "api"}
    }


def test_patch_replace_on_a_map_without_schema() -> None:
    cm = {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    out = patched(cm, {"data": {"$patch": "replace", "c": "3"}}, CONFIGMAP)
    assert out["data"] == {"c": "3"}


def test_patch_replace_as_list_item_replaces_the_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}
            }
        }
    }
    assert containers(patched(live_deployment(), patch, DEPLOYMENT)) == [
        {"name": "only", "image": "x"}
    ]


def test_patch_delete_on_a_map_removes_it() -> None:
    patch = {"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}}
    out = patched(live_deployment(), patch, DEPLOYMENT)
    assert out["spec"]["strategy"] == {"type": "RollingUpdate"}


def test_patch_delete_for_a_missing_map_adds_nothing() -> None:
    out = patched(live_deployment(), {"spec": {"nothing": {"$patch": "delete"}}}, DEPLOYMENT)
    assert "nothing" not in out["spec"]


def test_patch_delete_at_the_root_empties_the_object() -> None:
    assert apply_strategic_merge_patch(live_deployment(), {"$patch": "delete"}, DEPLOYMENT) == {}


def test_patch_delete_list_item_by_merge_key() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "nginx"}]}}}
    }
    assert names(containers(patched(live_deployment(), patch, DEPLOYMENT))) == ["sidecar"]


def test_patch_merge_is_the_explicit_default() -> None:
    patch = {"spec": {"$patch": "merge", "replicas": 3}}
    out = patched(live_deployment(), patch, DEPLOYMENT)
    assert out["spec"]["replicas"] == 3
    assert out["spec"]["revisionHistoryLimit"] == 10


def test_new_values_are_cleaned_of_directives_and_nulls() -> None:
    # A container that does not exist yet, carrying directives and nulls from a 3-way diff.
    new = {
        "name": "extra",
        "image": "x",
        "command": None,
        "$setElementOrder/env": [{"name": "B"}, {"name": "A"}],
        "env": [
            {"name": "B", "value": "2"},
            {"name": "A", "value": "1"},
            {"$patch": "delete", "name": "Z"},
        ],
        "resources": {"limits": {"cpu": "1", "memory": None}},
    }
    patch = {"spec": {"template": {"spec": {"containers": [new]}}}}
    got = containers(patched(live_deployment(), patch, DEPLOYMENT))[0]
    assert got == {
        "name": "extra",
        "image": "x",
        "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
        "resources": {"limits": {"cpu": "1"}},
    }


def test_unknown_schema_is_plain_merge() -> None:
    cm = {"metadata": {"name": "c"}, "data": {"a": "1"}}
    out = patched(cm, {"data": {"b": "2", "a": None}}, CONFIGMAP)
    assert out["data"] == {"b": "2"}

    thing = {"spec": {"items": [{"name": "a", "v": 1}], "nested": {"x": 1}}}
    out = patched(
        thing, {"spec": {"items": [{"name": "b"}], "nested": {"y": 2}}}, SchemaNode.empty()
    )
    assert out == {"spec": {"items": [{"name": "b"}], "nested": {"x": 1, "y": 2}}}


def test_type_change_replaces_the_value() -> None:
    out = patched({"spec": {"x": {"a": 1}}}, {"spec": {"x": [1]}}, SchemaNode.empty())
    assert out == {"spec": {"x": [1]}}


def test_pod_patch_updates_one_container_image() -> None:
    pod: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"containers": [_container("a", "a:1"), _container("b", "b:1")]},
    }
    patch = {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}
    out = patched(pod, patch, POD)
    assert [c["image"] for c in out["spec"]["containers"]] == ["a:1", "b:2"]
    assert out["spec"]["containers"][0] is pod["spec"]["containers"][0]


# -- malformed patches: 400 -----------------------------------------------------------------

MALFORMED: list[tuple[str, Any, str]] = [
    ("not an object", ["x"], "must be a JSON object"),
    ("unknown map directive", {"spec": {"$patch": "squash"}}, 'unknown $patch directive "squash"'),
    (
        "delete item without merge key",
        {"spec": {"template": {"spec": {"containers": [{"$patch": "delete", "image": "x"}]}}}},
        'does not contain its merge key "name"',
    ),
    (
        "merge item without merge key",
        {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
        'does not contain its merge key "name"',
    ),
    (
        "unknown list directive",
        {"spec": {"template": {"spec": {"containers": [{"$patch": "frob", "name": "a"}]}}}},
        'unknown $patch directive "frob"',
    ),
    (
        "retainKeys not a list",
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        "invalid patch format of $retainKeys",
    ),
    (
        "patch sets a key missing from retainKeys",
        {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}},
        '"spec.strategy.rollingUpdate" is set by the patch but missing from its $retainKeys',
    ),
    (
        "setElementOrder without a list name",
        {"spec": {"$setElementOrder": []}},
        "names no list",
    ),
    (
        "setElementOrder not a list",
        {"spec": {"template": {"spec": {"$setElementOrder/containers": {"name": "a"}}}}},
        "must be a list",
    ),
    (
        "deleteFromPrimitiveList not a list",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
        "must be a list",
    ),
    (
        "mixed element types in a merge list",
        {"spec": {"template": {"spec": {"containers": ["nginx"]}}}},
        "list element types are not identical",
    ),
]


@pytest.mark.parametrize(("name", "patch", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_patches_are_400(name: str, patch: Any, message: str) -> None:
    live = live_deployment()
    before = copy.deepcopy(live)
    with pytest.raises(MalformedPatch) as err:
        apply_strategic_merge_patch(live, patch, DEPLOYMENT)
    assert isinstance(err.value, BadRequest)
    assert err.value.to_status()["code"] == 400
    assert message in str(err.value)
    assert live == before


# -- differential check against kubectl's own strategic merge (Go, k8s.io/apimachinery) ----
# `kubectl patch --local` applies a strategic merge patch client-side with kubectl's
# compiled-in types; on these inputs kctl must produce exactly the same object.

DIFFERENTIAL: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "set image",
        live_deployment(),
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                        "containers": [{"image": "nginx:1.27", "name": "nginx"}],
                    }
                }
            }
        },
    ),
    (
        "new and existing items without order",
        live_deployment(),
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "sidecar", "image": "x"},
                            {"name": "new", "image": "y"},
                        ]
                    }
                }
            }
        },
    ),
    (
        "partial reorder with a new element",
        live_deployment(),
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}],
                        "containers": [{"name": "new", "image": "y"}],
                    }
                }
            }
        },
    ),
    (
        "nested env delete and add",
        live_deployment(),
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                                "env": [
                                    {"$patch": "delete", "name": "A"},
                                    {"name": "C", "value": "3"},
                                ],
                                "name": "nginx",
                            }
                        ]
                    }
                }
            }
        },
    ),
    (
        "strategy retainKeys",
        live_deployment(),
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}
            }
        },
    ),
    (
        "list replace directive",
        live_deployment(),
        {"spec": {"template": {"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}}}},
    ),
    (
        "primitive merge list",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "finalizers": ["a", "b", "c"]},
        },
        {"metadata": {"finalizers": ["d", "b"], "$deleteFromPrimitiveList/finalizers": ["c"]}},
    ),
    (
        "deletes and adds next to server-only elements",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": n, "image": n} for n in "ecgf"]},
        },
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "g"}, {"name": "b"}, {"name": "c"}],
                "containers": [
                    {"name": "b", "image": "b"},
                    {"$patch": "delete", "name": "a"},
                    {"$patch": "delete", "name": "e"},
                    {"name": "c", "image": "c2"},
                ],
            }
        },
    ),
    ("replace strategy", live_pdb(), {"spec": {"selector": {"matchLabels": {"app": "api"}}}}),
    (
        "service ports",
        live_service(),
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 9090}, {"port": 443}, {"port": 80}],
                "ports": [{"name": "https", "port": 443}, {"$patch": "delete", "port": 80}],
            }
        },
    ),
]

KINDS = {"Deployment": DEPLOYMENT, "Service": SERVICE, "Pod": POD, "PodDisruptionBudget": PDB}


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
@pytest.mark.parametrize(("name", "live", "patch"), DIFFERENTIAL, ids=[c[0] for c in DIFFERENTIAL])
def test_same_result_as_kubectl(
    name: str, live: dict[str, Any], patch: dict[str, Any], tmp_path: Path
) -> None:
    # An unreachable server makes kubectl's version dispatcher use its built-in 1.32.
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\n'
        "contexts: [{name: c, context: {cluster: c}}]\n"
    )
    (tmp_path / "obj.json").write_text(json.dumps(live))
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig"), "HOME": str(tmp_path)}
    run = subprocess.run(
        [
            "kubectl",
            "patch",
            "-f",
            str(tmp_path / "obj.json"),
            "--local",
            "--type=strategic",
            "-p",
            json.dumps(patch),
            "-o",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    expected = json.loads(run.stdout)
    assert patched(live, patch, KINDS[live["kind"]]) == expected
