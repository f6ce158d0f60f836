"""Validation: compiled schema check, unknown fields, kube-apiserver's semantic rules,
immutable fields on update; plus the meta helpers the rules are built on."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kctl.api import kinds, meta, validation
from kctl.api.defaults import apply_defaults
from kctl.api.errors import BadRequest, Invalid
from kctl.api.validation import Validator

Obj = dict[str, Any]
REGISTRY = kinds.default_registry()


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    return Validator(tmp_path_factory.mktemp("validator-cache"))


def deployment() -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "env": [{"name": "MODE", "value": "prod"}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"memory": "128Mi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                            "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx/conf.d"}],
                        }
                    ],
                    "volumes": [{"name": "conf", "configMap": {"name": "web-conf"}}],
                },
            },
        },
    }


def replicaset() -> Obj:
    d = deployment()
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": d["metadata"],
        "spec": {
            "replicas": 1,
            "selector": d["spec"]["selector"],
            "template": d["spec"]["template"],
        },
    }


def pod() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}]},
    }


def service() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }


VALID: dict[str, Callable[[], Obj]] = {
    "deployments": deployment,
    "replicasets": replicaset,
    "pods": pod,
    "services": service,
    "configmaps": lambda: {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-conf", "namespace": "default"},
        "data": {"app.conf": "x=1", "MODE": "prod"},
    },
    "secrets": lambda: {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "default"},
        "data": {"password": "c2VjcmV0"},
        "stringData": {"user": "admin"},
    },
    "namespaces": lambda: {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    "nodes": lambda: {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"podCIDR": "10.244.1.0/24"},
        "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}},
    },
    "serviceaccounts": lambda: {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": "default"},
    },
    "endpoints": lambda: {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [
            {"addresses": [{"ip": "10.244.1.5", "nodeName": "node-1"}], "ports": [{"port": 8080}]}
        ],
    },
    "events": lambda: {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.17a", "namespace": "default"},
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default"},
        "reason": "ScalingReplicaSet",
        "message": "Scaled up",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2024-01-02T03:04:05Z",
        "source": {"component": "deployment-controller"},
    },
    "leases": lambda: {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
        "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 40,
            "renewTime": "2024-01-02T03:04:05.123456Z",
        },
    },
}


def info_of(obj: Obj) -> kinds.ResourceInfo:
    info = REGISTRY.by_api_version_kind(obj["apiVersion"], obj["kind"])
    assert info is not None
    return info


def check(
    validator: Validator, obj: Obj, *, defaults: bool = True, strict: bool = True
) -> validation.ValidationResult:
    info = info_of(obj)
    if defaults:
        apply_defaults(info, obj)
    return validator.validate(info, obj, strict=strict)


# --- accepted manifests ------------------------------------------------------------------


@pytest.mark.parametrize("resource", sorted(VALID))
def test_valid_manifests_pass_and_agree_with_kubernetes_validate(
    validator: Validator, resource: str
) -> None:
    obj = VALID[resource]()
    result = check(validator, obj)
    assert result.causes == []
    assert result.unknown_fields == []
    assert result.ok and result.error(info_of(obj), "x", strict=True) is None
    # the upstream checker accepts the same (defaulted) object, strictly
    kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_fast_path_is_used_and_is_fast(validator: Validator) -> None:
    import time

    obj = deployment()
    info = info_of(obj)
    apply_defaults(info, obj)
    validator.validate(info, obj, strict=True)
    start = time.perf_counter()
    for _ in range(200):
        validator.validate(info, obj, strict=True)
    per_object = (time.perf_counter() - start) / 200
    assert per_object < 0.002  # jsonschema alone needs ~20 ms per Deployment


# --- schema layer ------------------------------------------------------------------------


def test_wrong_type(validator: Validator) -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "abc"
    result = check(validator, obj)
    cause = result.causes[0]
    assert cause.field == "spec.replicas"
    assert cause.reason == "FieldValueInvalid"
    assert (
        cause.message
        == 'Invalid value: "abc": spec.replicas in body must be of type integer: "string"'
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, "1.32.0")


def test_nested_paths_and_every_error_reported(validator: Validator) -> None:
    obj = deployment()
    ctr = obj["spec"]["template"]["spec"]["containers"][0]
    ctr["ports"][0]["containerPort"] = "80"
    ctr["imagePullPolicy"] = 3
    del ctr["name"]
    obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2**63  # int64 overflows
    fields = {(c.field, c.reason) for c in check(validator, obj).causes}
    base = "spec.template.spec"
    assert (f"{base}.containers[0].ports[0].containerPort", "FieldValueInvalid") in fields
    assert (f"{base}.containers[0].imagePullPolicy", "FieldValueInvalid") in fields
    assert (f"{base}.containers[0].name", "FieldValueRequired") in fields
    assert (f"{base}.terminationGracePeriodSeconds", "FieldValueInvalid") in fields
    obj2 = deployment()
    obj2["spec"]["replicas"] = 2**31  # int32 overflows
    msgs = [c.message for c in check(validator, obj2).causes]
    assert msgs == [
        "Invalid value: 2147483648: spec.replicas in body should be less than or equal to 2147483647"
    ]


def test_enum_kind_mismatch_and_nulls(validator: Validator) -> None:
    obj = pod()
    obj["spec"]["nodeName"] = None  # upstream schemas allow null
    obj["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": None}]
    assert check(validator, obj).causes == []
    bad = pod()
    bad["kind"] = "Pods"
    result = validator.validate(REGISTRY.resolve("pods"), bad, strict=False)
    assert [(c.field, c.reason) for c in result.causes] == [("kind", "FieldValueNotSupported")]
    assert result.causes[0].message == 'Unsupported value: "Pods": supported values: "Pod"'


def test_formats(validator: Validator) -> None:
    secret = VALID["secrets"]()
    secret["data"]["password"] = "not base64!"
    assert [c.field for c in check(validator, secret).causes] == ["data.password"]
    lease = VALID["leases"]()
    lease["spec"]["renewTime"] = "yesterday"
    assert [c.field for c in check(validator, lease).causes] == ["spec.renewTime"]


def test_int_or_string_and_quantities_accept_both(validator: Validator) -> None:
    obj = deployment()
    obj["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "10%"},
    }
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": 1, "memory": "1Gi"}
    }
    assert check(validator, obj).causes == []


# --- unknown fields ----------------------------------------------------------------------


def test_unknown_fields(validator: Validator) -> None:
    obj = deployment()
    obj["spec"]["bogus"] = 1
    obj["metadata"]["nope"] = {"x": 1}
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    obj["spec"]["template"]["metadata"]["labels"]["free-form"] = "ok"  # maps take any key
    result = check(validator, obj)
    assert result.causes == []
    assert sorted(result.unknown_fields) == [
        "metadata.nope",
        "spec.bogus",
        "spec.template.spec.containers[0].imagee",
    ]
    err = result.error(info_of(obj), "web", strict=True)
    assert isinstance(err, BadRequest)
    assert 'strict decoding error: unknown field "' in str(err)
    assert result.warnings()[0].startswith('unknown field "')
    assert result.error(info_of(obj), "web", strict=False) is None
    # not looked for unless asked
    assert validator.validate(info_of(obj), obj, strict=False).unknown_fields == []


def test_prune_unknown(validator: Validator) -> None:
    obj = pod()
    obj["spec"]["containers"][0]["bogus"] = True
    obj["status"] = {"phase": "Running", "extra": 1}
    removed = validator.prune_unknown(info_of(obj), obj)
    assert removed == ["spec.containers[0].bogus", "status.extra"]
    assert "bogus" not in obj["spec"]["containers"][0] and obj["status"] == {"phase": "Running"}


# --- semantic rules (table-driven) --------------------------------------------------------

LABEL_ERR = "a valid label must be an empty string or consist of alphanumeric characters"
SUBDOMAIN_ERR = "a lowercase RFC 1123 subdomain must consist of"
LABEL_DNS_ERR = "a lowercase RFC 1123 label must consist of"


def _set(path: str, value: Any) -> Callable[[Obj], None]:
    """A mutation that sets a dotted path (``[i]`` for list items), or deletes it for ...."""

    def apply(obj: Obj) -> None:
        parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
        cur: Any = obj
        for part in parts[:-1]:
            cur = cur[int(part[1:-1])] if part.startswith("[") else cur.setdefault(part, {})
        last = parts[-1]
        key: Any = int(last[1:-1]) if last.startswith("[") else last
        if value is ...:
            del cur[key]
        else:
            cur[key] = value

    return apply


TPL = "spec.template.spec"
CASES: list[tuple[str, Callable[[], Obj], Callable[[Obj], None], str, str, str]] = [
    # (id, manifest, mutation, field, reason, message fragment)
    (
        "name-required",
        pod,
        _set("metadata.name", ...),
        "metadata.name",
        "FieldValueRequired",
        "Required value: name or generateName is required",
    ),
    (
        "name-subdomain",
        pod,
        _set("metadata.name", "Web_1"),
        "metadata.name",
        "FieldValueInvalid",
        'Invalid value: "Web_1": ' + SUBDOMAIN_ERR,
    ),
    (
        "generate-name-ok",
        pod,
        lambda o: (o["metadata"].pop("name"), o["metadata"].update(generateName="web-")),
        "",
        "",
        "",
    ),
    (
        "service-dns1035",
        service,
        _set("metadata.name", "1web"),
        "metadata.name",
        "FieldValueInvalid",
        "a DNS-1035 label must consist of",
    ),
    (
        "namespace-label",
        VALID["namespaces"],
        _set("metadata.name", "team.a"),
        "metadata.name",
        "FieldValueInvalid",
        LABEL_DNS_ERR,
    ),
    (
        "namespace-of-object",
        pod,
        _set("metadata.namespace", "Default"),
        "metadata.namespace",
        "FieldValueInvalid",
        LABEL_DNS_ERR,
    ),
    (
        "label-value",
        pod,
        _set("metadata.labels", {"app": "-x"}),
        "metadata.labels",
        "FieldValueInvalid",
        LABEL_ERR,
    ),
    (
        "label-key",
        pod,
        _set("metadata.labels", {"a/b/c": "x"}),
        "metadata.labels",
        "FieldValueInvalid",
        "a qualified name must consist of",
    ),
    (
        "annotation-key",
        pod,
        _set("metadata.annotations", {"bad key": "x"}),
        "metadata.annotations",
        "FieldValueInvalid",
        "name part must consist of",
    ),
    (
        "owner-uid",
        pod,
        _set(
            "metadata.ownerReferences",
            [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}],
        ),
        "metadata.ownerReferences.uid",
        "FieldValueInvalid",
        "uid must not be empty",
    ),
    (
        "deploy-selector-required",
        deployment,
        _set("spec.selector", ...),
        "spec.selector",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "deploy-selector-mismatch",
        deployment,
        _set("spec.selector.matchLabels", {"app": "other"}),
        "spec.template.metadata.labels",
        "FieldValueInvalid",
        'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ),
    (
        "deploy-empty-selector",
        deployment,
        _set("spec.selector", {}),
        "spec.selector",
        "FieldValueInvalid",
        "empty selector is invalid for deployment",
    ),
    (
        "deploy-selector-operator",
        deployment,
        _set("spec.selector.matchExpressions", [{"key": "app", "operator": "In"}]),
        "spec.selector.matchExpressions[0].values",
        "FieldValueRequired",
        "must be specified when `operator` is 'In' or 'NotIn'",
    ),
    (
        "deploy-replicas",
        deployment,
        _set("spec.replicas", -1),
        "spec.replicas",
        "FieldValueInvalid",
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "deploy-both-zero",
        deployment,
        _set(
            "spec.strategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
        ),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        "may not be 0 when `maxSurge` is 0",
    ),
    (
        "deploy-bad-percent",
        deployment,
        _set("spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x"}}),
        "spec.strategy.rollingUpdate.maxSurge",
        "FieldValueInvalid",
        "a valid percent string",
    ),
    (
        "deploy-over-100",
        deployment,
        _set(
            "spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}
        ),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
        "must not be greater than 100%",
    ),
    (
        "deploy-recreate-rolling",
        deployment,
        _set("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        "spec.strategy.rollingUpdate",
        "FieldValueForbidden",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ),
    (
        "deploy-strategy-type",
        deployment,
        _set("spec.strategy", {"type": "BlueGreen"}),
        "spec.strategy.type",
        "FieldValueNotSupported",
        'supported values: "Recreate", "RollingUpdate"',
    ),
    (
        "deploy-restart-never",
        deployment,
        _set(f"{TPL}.restartPolicy", "Never"),
        f"{TPL}.restartPolicy",
        "FieldValueNotSupported",
        'Unsupported value: "Never": supported values: "Always"',
    ),
    (
        "deploy-progress-deadline",
        deployment,
        lambda o: o["spec"].update(minReadySeconds=30, progressDeadlineSeconds=30),
        "spec.progressDeadlineSeconds",
        "FieldValueInvalid",
        "must be greater than minReadySeconds",
    ),
    (
        "rs-selector-mismatch",
        replicaset,
        _set("spec.template.metadata.labels", {"app": "x"}),
        "spec.template.metadata.labels",
        "FieldValueInvalid",
        "`selector` does not match template `labels`",
    ),
    (
        "rs-replicas",
        replicaset,
        _set("spec.replicas", -3),
        "spec.replicas",
        "FieldValueInvalid",
        "must be greater than or equal to 0",
    ),
    (
        "pod-no-containers",
        pod,
        _set("spec.containers", []),
        "spec.containers",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "pod-dup-names",
        pod,
        lambda o: o["spec"]["containers"].append(dict(o["spec"]["containers"][0])),
        "spec.containers[1].name",
        "FieldValueDuplicate",
        'Duplicate value: "app"',
    ),
    (
        "pod-name-label",
        pod,
        _set("spec.containers[0].name", "App"),
        "spec.containers[0].name",
        "FieldValueInvalid",
        LABEL_DNS_ERR,
    ),
    (
        "pod-image",
        pod,
        _set("spec.containers[0].image", ...),
        "spec.containers[0].image",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "pod-port-range",
        pod,
        _set("spec.containers[0].ports", [{"containerPort": 70000}]),
        "spec.containers[0].ports[0].containerPort",
        "FieldValueInvalid",
        "Invalid value: 70000: must be between 1 and 65535, inclusive",
    ),
    (
        "pod-port-protocol",
        pod,
        _set("spec.containers[0].ports", [{"containerPort": 80, "protocol": "HTTP"}]),
        "spec.containers[0].ports[0].protocol",
        "FieldValueNotSupported",
        'supported values: "SCTP", "TCP", "UDP"',
    ),
    (
        "pod-restart-policy",
        pod,
        _set("spec.restartPolicy", "Sometimes"),
        "spec.restartPolicy",
        "FieldValueNotSupported",
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ),
    (
        "pod-pull-policy",
        pod,
        _set("spec.containers[0].imagePullPolicy", "Maybe"),
        "spec.containers[0].imagePullPolicy",
        "FieldValueNotSupported",
        '"Always", "IfNotPresent", "Never"',
    ),
    (
        "pod-mount-unknown-volume",
        pod,
        _set("spec.containers[0].volumeMounts", [{"name": "data", "mountPath": "/d"}]),
        "spec.containers[0].volumeMounts[0].name",
        "FieldValueNotFound",
        'Not found: "data"',
    ),
    (
        "pod-requests-over-limits",
        pod,
        _set("spec.containers[0].resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
        "spec.containers[0].resources.requests[cpu]",
        "FieldValueInvalid",
        "must be less than or equal to cpu limit of 1",
    ),
    (
        "pod-bad-quantity",
        pod,
        _set("spec.containers[0].resources", {"limits": {"memory": "lots"}}),
        "spec.containers[0].resources.limits[memory]",
        "FieldValueInvalid",
        "quantities must match the regular expression",
    ),
    (
        "pod-probe-handler",
        pod,
        _set("spec.containers[0].livenessProbe", {"periodSeconds": 5}),
        "spec.containers[0].livenessProbe",
        "FieldValueRequired",
        "must specify a handler type",
    ),
    (
        "pod-toleration-seconds",
        pod,
        _set(
            "spec.tolerations",
            [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}],
        ),
        "spec.tolerations[0].effect",
        "FieldValueInvalid",
        "effect must be 'NoExecute' when `tolerationSeconds` is set",
    ),
    (
        "svc-ports-required",
        service,
        _set("spec.ports", []),
        "spec.ports",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "svc-headless-no-ports",
        service,
        lambda o: o["spec"].update(ports=[], clusterIP="None"),
        "",
        "",
        "",
    ),
    (
        "svc-external-name",
        service,
        lambda o: o["spec"].update(type="ExternalName", externalName="db.example.com", ports=[]),
        "",
        "",
        "",
    ),
    (
        "svc-type",
        service,
        _set("spec.type", "Magic"),
        "spec.type",
        "FieldValueNotSupported",
        '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ),
    (
        "svc-port-range",
        service,
        _set("spec.ports[0].port", 0),
        "spec.ports[0].port",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "svc-port-range-high",
        service,
        _set("spec.ports[0].port", 65536),
        "spec.ports[0].port",
        "FieldValueInvalid",
        "must be between 1 and 65535, inclusive",
    ),
    (
        "svc-port-names",
        service,
        lambda o: o["spec"]["ports"].append({"port": 443}),
        "spec.ports[0].name",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "svc-node-port-cluster-ip",
        service,
        _set("spec.ports[0].nodePort", 30080),
        "spec.ports[0].nodePort",
        "FieldValueForbidden",
        "may not be used when `type` is 'ClusterIP'",
    ),
    (
        "svc-cluster-ip",
        service,
        _set("spec.clusterIP", "10.0.0.300"),
        "spec.clusterIP",
        "FieldValueInvalid",
        "must be a valid IP address",
    ),
    (
        "svc-affinity",
        service,
        _set("spec.sessionAffinity", "Sticky"),
        "spec.sessionAffinity",
        "FieldValueNotSupported",
        '"ClientIP", "None"',
    ),
    (
        "cm-key",
        VALID["configmaps"],
        _set("data", {"a b": "x"}),
        "data[a b]",
        "FieldValueInvalid",
        "a valid config key must consist of",
    ),
    (
        "secret-tls",
        VALID["secrets"],
        _set("type", "kubernetes.io/tls"),
        "data[tls.crt]",
        "FieldValueRequired",
        "Required value",
    ),
    (
        "endpoints-ip",
        VALID["endpoints"],
        _set("subsets[0].addresses[0].ip", "nope"),
        "subsets[0].addresses[0].ip",
        "FieldValueInvalid",
        "must be a valid IP address",
    ),
    (
        "event-namespace",
        VALID["events"],
        _set("involvedObject.namespace", "other"),
        "involvedObject.namespace",
        "FieldValueInvalid",
        "does not match event.namespace",
    ),
    (
        "lease-duration",
        VALID["leases"],
        _set("spec.leaseDurationSeconds", 0),
        "spec.leaseDurationSeconds",
        "FieldValueInvalid",
        "must be greater than 0",
    ),
    (
        "node-taint-effect",
        VALID["nodes"],
        _set("spec.taints", [{"key": "k", "effect": "Sometimes"}]),
        "spec.taints[0].effect",
        "FieldValueNotSupported",
        '"NoExecute", "NoSchedule", "PreferNoSchedule"',
    ),
]


@pytest.mark.parametrize(
    ("manifest", "mutate", "field", "reason", "fragment"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_semantic_rules(
    validator: Validator,
    manifest: Callable[[], Obj],
    mutate: Callable[[Obj], None],
    field: str,
    reason: str,
    fragment: str,
) -> None:
    obj = manifest()
    mutate(obj)
    causes = check(validator, obj).causes
    if not reason:
        assert causes == []
        return
    matching = [c for c in causes if c.field == field and c.reason == reason]
    assert matching, causes
    assert any(fragment in c.message for c in matching), matching


def test_invalid_error_renders_like_kube(validator: Validator) -> None:
    obj = deployment()
    obj["spec"]["replicas"] = -1
    result = check(validator, obj)
    err = result.error(info_of(obj), "web", strict=True)
    assert isinstance(err, Invalid)
    assert (
        str(err)
        == 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    assert err.to_status()["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: -1: must be greater than or equal to 0",
            "field": "spec.replicas",
        }
    ]


def test_rules_survive_wrong_types(validator: Validator) -> None:
    obj = deployment()
    obj["spec"]["template"] = "nope"
    obj["spec"]["selector"] = ["x"]
    obj["metadata"]["labels"] = 5
    causes = check(validator, obj, defaults=False).causes
    assert {"spec.template", "spec.selector", "metadata.labels"} <= {c.field for c in causes}


# --- updates -----------------------------------------------------------------------------


def _defaulted(make: Callable[[], Obj]) -> Obj:
    obj = make()
    apply_defaults(info_of(obj), obj)
    return obj


def test_deployment_selector_is_immutable(validator: Validator) -> None:
    old = _defaulted(deployment)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert validator.validate_update(info_of(old), old, new) == []
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    causes = validation.validate_update(info_of(old), old, new)
    assert [(c.field, c.reason) for c in causes] == [("spec.selector", "FieldValueInvalid")]
    assert causes[0].message.endswith("field is immutable")


def test_pod_spec_updates(validator: Validator) -> None:
    info = REGISTRY.resolve("pods")
    old = _defaulted(pod)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    new["spec"]["activeDeadlineSeconds"] = 60
    new["spec"].setdefault("tolerations", []).append({"key": "k", "operator": "Exists"})
    new["metadata"]["labels"] = {"x": "y"}
    new["status"] = {"phase": "Running"}
    assert validation.validate_update(info, old, new) == []
    changed = copy.deepcopy(old)
    changed["spec"]["containers"][0]["command"] = ["true"]
    causes = validation.validate_update(info, old, changed)
    assert [(c.field, c.reason) for c in causes] == [("spec", "FieldValueForbidden")]
    assert (
        "pod updates may not change fields other than `spec.containers[*].image`"
        in causes[0].message
    )
    tolerated = copy.deepcopy(old)
    tolerated["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    removed = copy.deepcopy(tolerated)
    removed["spec"]["tolerations"] = []
    assert validation.validate_update(info, tolerated, removed)  # tolerations may only grow
    # activeDeadlineSeconds may only shrink
    old["spec"]["activeDeadlineSeconds"] = 30
    longer = copy.deepcopy(old)
    longer["spec"]["activeDeadlineSeconds"] = 60
    assert (
        "must be less than or equal to previous value"
        in validation.validate_update(info, old, longer)[0].message
    )
    # nil and empty compare equal, as upstream's semantic equality
    same = copy.deepcopy(old)
    same["spec"]["volumes"] = []
    assert validation.validate_update(info, old, same) == []


def test_service_cluster_ip_immutable() -> None:
    info = REGISTRY.resolve("services")
    old = _defaulted(service)
    old["spec"]["clusterIP"] = "10.96.0.10"
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    causes = validation.validate_update(info, old, new)
    assert [c.message for c in causes] == ['Invalid value: ["10.96.0.11"]: may not change once set']
    new["spec"]["clusterIP"] = "10.96.0.10"
    assert validation.validate_update(info, old, new) == []


def test_immutable_configmap_and_secret_type() -> None:
    info = REGISTRY.resolve("configmaps")
    old = VALID["configmaps"]()
    old["immutable"] = True
    new = copy.deepcopy(old)
    new["data"]["MODE"] = "dev"
    assert [c.field for c in validation.validate_update(info, old, new)] == ["data"]
    sinfo = REGISTRY.resolve("secrets")
    s_old = _defaulted(VALID["secrets"])
    s_new = copy.deepcopy(s_old)
    s_new["type"] = "kubernetes.io/basic-auth"
    assert [c.field for c in validation.validate_update(sinfo, s_old, s_new)] == ["type"]


# --- compile cache, warm-up, threads -----------------------------------------------------


def test_compiled_code_is_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = REGISTRY.resolve("configmaps")
    first = Validator(tmp_path)
    first.warm([info])
    cached = list(tmp_path.glob("validator-configmaps-v1-*.py"))
    assert len(cached) == 1

    import fastjsonschema

    def refuse(*_: Any, **__: Any) -> str:
        raise AssertionError("compiled again instead of loading the cache")

    monkeypatch.setattr(fastjsonschema, "compile_to_code", refuse)
    second = Validator(tmp_path)
    assert check(second, VALID["configmaps"]()).causes == []


def test_xdg_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Validator().cache_dir == tmp_path / "kctl"


def test_concurrent_first_use_compiles_once(validator: Validator) -> None:
    info = REGISTRY.resolve("serviceaccounts")
    results: list[validation.ValidationResult] = []

    def work() -> None:
        results.append(validator.validate(info, VALID["serviceaccounts"](), strict=True))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r.ok for r in results)
    assert validator.compiled(info) is validator.compiled(info)


def test_schema_is_self_contained() -> None:
    schema = validation.kind_schema(REGISTRY.resolve("deployments"))
    assert schema["$ref"] == "#/$defs/io.k8s.api.apps.v1.Deployment"
    assert "io.k8s.api.core.v1.Container" in schema["$defs"]
    assert "io.k8s.api.core.v1.Service" not in schema["$defs"]  # only what is reachable
    int_or_string = schema["$defs"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert sorted(int_or_string["type"]) == ["integer", "null", "string"]
    assert "oneOf" not in int_or_string


def test_package_keeps_the_single_module_api() -> None:
    """Every public name of the former ``kctl/api/validation.py`` is still importable."""
    names = {
        "DUPLICATE", "FORBIDDEN", "INVALID", "MAX_CONFIG_SIZE", "NOT_FOUND", "NOT_SUPPORTED",
        "REQUIRED", "RULES", "TOO_LONG", "TOTAL_ANNOTATION_SIZE", "UPDATE_RULES", "Errors",
        "NameCheck", "Rule", "UpdateRule", "ValidationResult", "Validator", "config_key_errors",
        "default_cache_dir", "kind_schema", "log", "port_name_errors", "strict_decoding_error",
        "validate_annotations", "validate_label_selector", "validate_labels",
        "validate_object_meta", "validate_pod_spec", "validate_pod_template", "validate_update",
    }  # fmt: skip
    assert names == set(validation.__all__)
    assert all(hasattr(validation, name) for name in names)
    assert validation.log.name == "kctl.api.validation"


# --- meta helpers ------------------------------------------------------------------------


def test_meta_time_and_names() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta.now_rfc3339())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", meta.now_rfc3339_micro())
    assert meta.format_time(meta.parse_time("2024-01-02T04:04:05+01:00")) == "2024-01-02T03:04:05Z"
    name = meta.generate_name("web-")
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert len(meta.generate_name("x" * 80)) == 63
    assert len(meta.new_uid()) == 36 and meta.new_uid() != meta.new_uid()


def test_meta_owner_references() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "uid": "u1"}}
    ref = meta.controller_ref(owner)
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs",
        "uid": "u1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    obj = {"metadata": {"ownerReferences": [{"kind": "X", "uid": "u0"}, ref]}}
    assert meta.owner_references(obj)[0]["uid"] == "u0"
    assert meta.controller_of(obj) == ref
    assert meta.controller_of({"metadata": {}}) is None and meta.owner_references({}) == []


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            meta.is_dns1123_label,
            ["a", "web-1", "1a", "a" * 63],
            ["", "A", "a.b", "-a", "a-", "a" * 64],
        ),
        (
            meta.is_dns1123_subdomain,
            ["a.b-c", "example.com", "a" * 253],
            ["", "a..b", "A.b", ".a", "a" * 254],
        ),
        (meta.is_dns1035_label, ["web", "a-1"], ["1web", "Web", ""]),
        (
            meta.is_qualified_name,
            ["app", "example.com/App_x", "a.b"],
            ["", "/a", "a/", "a/b/c", "-a", "x" * 64],
        ),
        (meta.is_label_value, ["", "v1.2_x", "a" * 63], ["-a", "a b", "a" * 64]),
    ],
)
def test_name_grammars(check: Callable[[str], bool], good: list[str], bad: list[str]) -> None:
    assert all(check(v) for v in good), [v for v in good if not check(v)]
    assert not any(check(v) for v in bad), [v for v in bad if check(v)]


def test_name_error_messages_match_kube() -> None:
    assert meta.dns1123_label_errors("Web") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ]
    assert meta.qualified_name_errors("/a") == ["prefix part must be non-empty"]
    assert meta.dns1123_label_errors("a" * 64)[0] == "must be no more than 63 characters"


def test_node_pod_cidr_may_be_set_once() -> None:
    info = REGISTRY.resolve("nodes")
    old = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {}}
    assigned = copy.deepcopy(old)
    assigned["spec"] = {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    assert validation.validate_update(info, old, assigned) == []
    moved = copy.deepcopy(assigned)
    moved["spec"] = {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}
    causes = validation.validate_update(info, assigned, moved)
    assert [(c.field, c.reason) for c in causes] == [("spec.podCIDRs", "FieldValueForbidden")]
    assert validation.validate_update(info, assigned, copy.deepcopy(assigned)) == []
