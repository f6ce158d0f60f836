"""Server-side apply semantics (kctl.api.apply.apply): merge, removal, conflicts, force."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kctl.api.apply import apply, from_fields_v1, track_update
from kctl.api.apply.lastapplied import ANNOTATION, build
from kctl.api.errors import BadRequest, Conflict
from kctl.api.schema_nav import SchemaNode

DEPLOYMENT = SchemaNode.for_definition("io.k8s.api.apps.v1.Deployment")
SERVICE = SchemaNode.for_definition("io.k8s.api.core.v1.Service")
CONFIGMAP = SchemaNode.for_definition("io.k8s.api.core.v1.ConfigMap")
T0, T1, T2, T3 = (f"2025-01-01T00:00:0{i}Z" for i in range(4))


def deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
        },
    }
    body.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": body,
    }


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def stored(obj: dict[str, Any], rv: str = "1") -> dict[str, Any]:
    """What the server would store: identity fields and defaults filled in."""
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("uid", "u-1")
    out["metadata"]["resourceVersion"] = rv
    out["metadata"].setdefault("creationTimestamp", T0)
    spec = out.get("spec") or {}
    if "template" in spec:
        spec.setdefault("replicas", 1)
        spec.setdefault(
            "strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        )
        for ctr in spec["template"]["spec"]["containers"]:
            ctr.setdefault("imagePullPolicy", "IfNotPresent")
            for port in ctr.get("ports", []):
                port.setdefault("protocol", "TCP")
    return out


def owners(obj: dict[str, Any]) -> dict[tuple[str, str], set[tuple[str, ...]]]:
    return {
        (e["manager"], e["operation"]): from_fields_v1(e["fieldsV1"])
        for e in obj["metadata"].get("managedFields", [])
    }


def do_apply(
    live: dict[str, Any] | None, config: dict[str, Any], manager: str, **kw: Any
) -> dict[str, Any]:
    schema = kw.pop("schema", DEPLOYMENT)
    now = kw.pop("now", T1)
    force = kw.pop("force", False)
    return apply(live, config, manager, config["apiVersion"], schema, force, now, **kw)


def test_create_owns_what_the_configuration_sets() -> None:
    config = deployment(replicas=2)
    out = do_apply(None, config, "kubectl")
    assert out["spec"] == config["spec"]
    assert out["metadata"]["name"] == "web"
    [entry] = out["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl" and entry["operation"] == "Apply" and entry["time"] == T1
    assert ("f:spec", "f:replicas") in from_fields_v1(entry["fieldsV1"])
    assert config == deployment(replicas=2)  # input untouched


def test_reapplying_the_same_configuration_is_a_no_op() -> None:
    config = deployment(replicas=2)
    live = stored(do_apply(None, config, "kubectl", now=T1))
    again = do_apply(live, config, "kubectl", now=T3)
    assert again == live
    assert again is not live
    assert again["metadata"]["managedFields"][0]["time"] == T1


def test_a_field_the_manager_stops_applying_is_removed() -> None:
    config = deployment(replicas=2, minReadySeconds=5)
    config["metadata"]["labels"] = {"app": "web", "tier": "frontend"}
    live = stored(do_apply(None, config, "kubectl"))
    config2 = deployment(replicas=2)
    config2["metadata"]["labels"] = {"app": "web"}
    out = do_apply(live, config2, "kubectl", now=T2)
    assert "minReadySeconds" not in out["spec"]
    assert out["metadata"]["labels"] == {"app": "web"}
    # Defaults nobody owns stay.
    assert out["spec"]["strategy"]["type"] == "RollingUpdate"
    assert containers(out)[0]["imagePullPolicy"] == "IfNotPresent"
    fields = owners(out)[("kubectl", "Apply")]
    assert ("f:spec", "f:minReadySeconds") not in fields
    assert out["metadata"]["managedFields"][0]["time"] == T2


def test_a_field_another_applier_also_owns_stays() -> None:
    a = deployment(replicas=2, minReadySeconds=5)
    live = stored(do_apply(None, a, "alice"))
    b = deployment(minReadySeconds=5)  # same value: shared, no conflict
    live = stored(do_apply(live, b, "bob", now=T2), rv="2")
    assert ("f:spec", "f:minReadySeconds") in owners(live)[("bob", "Apply")]
    out = do_apply(live, deployment(replicas=2), "alice", now=T3)
    assert out["spec"]["minReadySeconds"] == 5
    assert ("f:spec", "f:minReadySeconds") not in owners(out)[("alice", "Apply")]
    assert ("f:spec", "f:minReadySeconds") in owners(out)[("bob", "Apply")]


def test_a_field_an_updater_took_over_stays_when_the_applier_drops_it() -> None:
    live = stored(do_apply(None, deployment(replicas=2, minReadySeconds=5), "kubectl"))
    edited = copy.deepcopy(live)
    edited["spec"]["minReadySeconds"] = 9
    live = stored(track_update(live, edited, "kubectl-edit", "apps/v1", DEPLOYMENT, T2), rv="2")
    assert ("f:spec", "f:minReadySeconds") in owners(live)[("kubectl-edit", "Update")]
    assert ("f:spec", "f:minReadySeconds") not in owners(live)[("kubectl", "Apply")]
    out = do_apply(live, deployment(replicas=2), "kubectl", now=T3)
    assert out["spec"]["minReadySeconds"] == 9


def test_containers_merge_by_name_and_ports_by_port_and_protocol() -> None:
    a = deployment()
    containers(a)[0]["ports"] = [{"containerPort": 80, "name": "http"}]
    live = stored(do_apply(None, a, "alice"))
    b = deployment()
    containers(b)[:] = [
        {"name": "nginx", "ports": [{"containerPort": 9090, "name": "metrics"}]},
        {"name": "sidecar", "image": "busybox"},
    ]
    del b["spec"]["selector"]
    out = do_apply(live, b, "bob", now=T2)
    names = [c["name"] for c in containers(out)]
    assert names == ["nginx", "sidecar"]
    nginx = containers(out)[0]
    assert nginx["image"] == "nginx:1.27"  # alice's, untouched
    assert nginx["imagePullPolicy"] == "IfNotPresent"
    assert [p["containerPort"] for p in nginx["ports"]] == [80, 9090]
    bob = owners(out)[("bob", "Apply")]
    item = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}')
    port = (*item, "f:ports", 'k:{"containerPort":9090,"protocol":"TCP"}')
    assert {item, port, (*port, "f:containerPort"), (*port, "f:name")} <= bob
    assert (*item, "f:image") not in bob
    # The same port number with another protocol is another item.
    c = deployment()
    containers(c)[0]["ports"] = [{"containerPort": 80, "protocol": "UDP", "name": "dns"}]
    out2 = do_apply(stored(out, rv="2"), c, "carol", now=T3)
    assert [(p["containerPort"], p["protocol"]) for p in containers(out2)[0]["ports"]] == [
        (80, "TCP"),
        (9090, "TCP"),
        (80, "UDP"),
    ]


def test_removing_an_applied_container_removes_its_defaults_too() -> None:
    a = deployment()
    containers(a).append({"name": "sidecar", "image": "busybox"})
    live = stored(do_apply(None, a, "kubectl"))
    assert containers(live)[1]["imagePullPolicy"] == "IfNotPresent"
    out = do_apply(live, deployment(), "kubectl", now=T2)
    assert containers(out) == [
        {"name": "nginx", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent"}
    ]


def test_conflict_with_an_updater_names_the_field() -> None:
    live = stored(do_apply(None, deployment(replicas=3), "kubectl"))
    patched = copy.deepcopy(live)
    patched["spec"]["replicas"] = 5
    live = stored(track_update(live, patched, "kubectl-patch", "apps/v1", DEPLOYMENT, T2), rv="2")
    with pytest.raises(Conflict) as err:
        do_apply(live, deployment(replicas=3), "kubectl", now=T3)
    assert err.value.code == 409
    assert str(err.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas'
    )
    status = err.value.to_status()
    assert status["reason"] == "Conflict"
    assert status["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-patch" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }
    # Agreeing with the current value is no conflict: the field becomes shared.
    shared = do_apply(live, deployment(replicas=5), "kubectl", now=T3)
    assert shared["spec"]["replicas"] == 5
    assert ("f:spec", "f:replicas") in owners(shared)[("kubectl-patch", "Update")]


def test_force_takes_ownership() -> None:
    live = stored(do_apply(None, deployment(replicas=3), "kubectl"))
    patched = copy.deepcopy(live)
    patched["spec"]["replicas"] = 5
    live = stored(track_update(live, patched, "kubectl-patch", "apps/v1", DEPLOYMENT, T2), rv="2")
    snapshot = copy.deepcopy(live)
    out = do_apply(live, deployment(replicas=3), "kubectl", now=T3, force=True)
    assert live == snapshot  # inputs are never mutated
    out["spec"]["template"]["spec"]["containers"][0]["image"] = "mutated"
    assert live == snapshot  # nor shared with the result
    assert out["spec"]["replicas"] == 3
    assert ("kubectl-patch", "Update") not in owners(out)  # owned nothing else: dropped
    assert ("f:spec", "f:replicas") in owners(out)[("kubectl", "Apply")]


def test_conflicts_with_several_managers_are_grouped_and_sorted() -> None:
    config = deployment(replicas=1, minReadySeconds=1, paused=False)
    live = stored(do_apply(None, config, "zed"))
    changed = deployment(replicas=2, minReadySeconds=2, paused=True)
    live = stored(do_apply(live, changed, "amy", force=True, now=T2), rv="2")
    live["metadata"]["managedFields"] = [
        e for e in live["metadata"]["managedFields"] if e["manager"] == "amy"
    ]
    edited = copy.deepcopy(live)
    edited["spec"]["paused"] = False
    live = stored(track_update(live, edited, "bob", "apps/v1", DEPLOYMENT, T2), rv="3")
    with pytest.raises(Conflict) as err:
        do_apply(live, deployment(replicas=3, minReadySeconds=3, paused=True), "zed", now=T3)
    assert str(err.value) == (
        "Apply failed with 3 conflicts: "
        'conflicts with "amy":\n- .spec.minReadySeconds\n- .spec.replicas\n'
        'conflicts with "bob" using apps/v1:\n- .spec.paused'
    )
    fields = [c["field"] for c in err.value.details["causes"]]
    assert fields == [".spec.minReadySeconds", ".spec.replicas", ".spec.paused"]


def test_status_is_neither_applied_nor_owned() -> None:
    config = deployment(replicas=1)
    config["status"] = {"replicas": 7}
    created = do_apply(None, config, "kubectl")
    assert "status" not in created
    live = stored(created)
    live["status"] = {"replicas": 1, "observedGeneration": 1}
    out = do_apply(live, config, "kubectl", now=T2)
    assert out["status"] == {"replicas": 1, "observedGeneration": 1}
    assert not any(p[0] == "f:status" for p in owners(out)[("kubectl", "Apply")])
    assert out == live  # nothing else changed: a no-op


def test_apply_to_the_status_subresource_owns_status_only() -> None:
    live = stored(do_apply(None, deployment(replicas=1), "kubectl"))
    config = deployment(replicas=9)
    config["status"] = {"replicas": 1}
    out = do_apply(live, config, "ctrl", subresource="status", now=T2)
    assert out["spec"]["replicas"] == 1
    assert out["status"] == {"replicas": 1}
    entry = next(e for e in out["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert entry["subresource"] == "status"
    assert from_fields_v1(entry["fieldsV1"]) == {("f:status", "f:replicas")}


def test_an_untracked_object_is_first_owned_by_before_first_apply() -> None:
    live = stored(deployment(replicas=4))
    with pytest.raises(Conflict) as err:
        do_apply(live, deployment(replicas=2), "kubectl")
    assert '"before-first-apply" using apps/v1: .spec.replicas' in str(err.value)
    out = do_apply(live, deployment(replicas=4), "kubectl")
    assert set(owners(out)) == {("kubectl", "Apply"), ("before-first-apply", "Update")}


def test_identity_metadata_comes_from_the_live_object_and_is_never_owned() -> None:
    live = stored(do_apply(None, deployment(), "kubectl"), rv="41")
    config = deployment()
    config["metadata"].update(uid="other", resourceVersion="7", generation=99)
    out = do_apply(live, config, "kubectl", now=T2)
    assert out["metadata"]["uid"] == "u-1"
    assert out["metadata"]["resourceVersion"] == "41"
    assert "generation" not in out["metadata"]
    assert not any(p[0] in ("f:apiVersion", "f:kind") for p in owners(out)[("kubectl", "Apply")])
    assert not any(
        p[:1] == ("f:metadata",) and len(p) <= 2 for p in owners(out)[("kubectl", "Apply")]
    )


def test_set_lists_merge_by_value() -> None:
    a = deployment()
    a["metadata"]["finalizers"] = ["example.com/a"]
    live = stored(do_apply(None, a, "alice"))
    b = deployment()
    b["metadata"]["finalizers"] = ["example.com/b"]
    live = stored(do_apply(live, b, "bob", now=T2), rv="2")
    assert live["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert ("f:metadata", "f:finalizers", 'v:"example.com/b"') in owners(live)[("bob", "Apply")]
    out = do_apply(live, deployment(), "alice", now=T3)
    assert out["metadata"]["finalizers"] == ["example.com/b"]


def test_null_unsets_a_field_and_atomic_lists_are_replaced() -> None:
    a = deployment(minReadySeconds=5)
    containers(a)[0]["args"] = ["--one", "--two"]
    live = stored(do_apply(None, a, "kubectl"))
    b = deployment(minReadySeconds=None)
    containers(b)[0]["args"] = ["--three"]
    out = do_apply(live, b, "kubectl", now=T2)
    assert "minReadySeconds" not in out["spec"]
    assert containers(out)[0]["args"] == ["--three"]


def test_list_order_follows_the_configuration_and_keeps_others_in_place() -> None:
    a = deployment()
    containers(a)[:] = [{"name": n, "image": "x"} for n in ("a", "b", "c")]
    live = stored(do_apply(None, a, "alice"))
    b = deployment()
    containers(b)[:] = [
        {"name": "c", "image": "x"},
        {"name": "new", "image": "y"},
        {"name": "a", "image": "x"},
    ]
    out = do_apply(live, b, "bob", now=T2)
    assert [c["name"] for c in containers(out)] == ["b", "c", "new", "a"]


def test_service_ports_without_protocol_match_defaulted_live_ports() -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    live = stored(do_apply(None, config, "kubectl", schema=SERVICE))
    live["spec"]["ports"][0]["protocol"] = "TCP"
    live["spec"].update(type="ClusterIP", clusterIP="10.0.0.10", sessionAffinity="None")
    assert do_apply(live, config, "kubectl", schema=SERVICE, now=T2) == live


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda c: c.update(apiVersion="apps/v1beta1"),
            "Incorrect version specified in apply patch",
        ),
        (lambda c: c["metadata"].update(managedFields=[]), "metadata.managedFields must be nil"),
        (
            lambda c: containers(c).append({"name": "nginx", "image": "again"}),
            'duplicate entries for key [name="nginx"]',
        ),
        (
            lambda c: containers(c).append({"image": "nameless"}),
            'omits key field "name"',
        ),
    ],
)
def test_bad_configurations_are_rejected(mutate: Any, message: str) -> None:
    config = deployment()
    mutate(config)
    with pytest.raises(BadRequest) as err:
        apply(None, config, "kubectl", "apps/v1", DEPLOYMENT, False, T1)
    assert message in str(err.value)


def test_apply_requires_a_field_manager() -> None:
    with pytest.raises(BadRequest):
        do_apply(None, deployment(), "")


def test_configmap_data_keys_are_owned_one_by_one() -> None:
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}}
    live = stored({**base, "data": {"a": "1", "b": "2"}})
    live["metadata"]["managedFields"] = []
    out = do_apply(None, {**base, "data": {"a": "1", "b": "2"}}, "alice", schema=CONFIGMAP)
    out = do_apply(
        stored(out), {**base, "data": {"b": "2", "c": "3"}}, "bob", schema=CONFIGMAP, now=T2
    )
    out = do_apply(
        stored(out, rv="2"), {**base, "data": {"a": "1"}}, "alice", schema=CONFIGMAP, now=T3
    )
    assert out["data"] == {"a": "1", "b": "2", "c": "3"}
    out = do_apply(
        stored(out, rv="3"), {**base, "data": {"c": "3"}}, "bob", schema=CONFIGMAP, now=T3
    )
    assert out["data"] == {"a": "1", "c": "3"}


# --- client-side apply -> server-side apply ---------------------------------------------------


def csa_created(config: dict[str, Any]) -> dict[str, Any]:
    """An object created by client-side ``kubectl apply`` (annotation + Update entry)."""
    body = copy.deepcopy(config)
    body["metadata"].setdefault("annotations", {})
    body["metadata"]["annotations"][ANNOTATION] = build(body)
    body = stored(body)
    return stored(track_update(None, body, "kubectl-client-side-apply", "apps/v1", DEPLOYMENT, T0))


def test_kubectl_server_side_apply_over_client_side_apply_succeeds() -> None:
    config = deployment(replicas=2)
    live = csa_created(config)
    changed = deployment(replicas=4)
    containers(changed)[0]["image"] = "nginx:1.28"
    out = do_apply(live, changed, "kubectl", now=T2)
    assert out["spec"]["replicas"] == 4
    assert containers(out)[0]["image"] == "nginx:1.28"
    csa = owners(out)[("kubectl-client-side-apply", "Update")]
    assert ("f:spec", "f:replicas") not in csa
    assert ("f:spec", "f:replicas") in owners(out)[("kubectl", "Apply")]
    # The annotation follows the applied configuration.
    assert out["metadata"]["annotations"][ANNOTATION] == build(changed)
    assert out["metadata"]["annotations"][ANNOTATION].endswith("}\n")


def test_only_the_kubectl_manager_is_forgiven() -> None:
    live = csa_created(deployment(replicas=2))
    with pytest.raises(Conflict) as err:
        do_apply(live, deployment(replicas=4), "argocd", now=T2)
    assert 'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas' in str(
        err.value
    )


def test_fields_changed_since_the_last_client_side_apply_still_conflict() -> None:
    live = csa_created(deployment(replicas=2))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 7
    live = stored(
        track_update(live, scaled, "kubectl-client-side-apply", "apps/v1", DEPLOYMENT, T1), rv="2"
    )
    changed = deployment(replicas=4)
    containers(changed)[0]["image"] = "nginx:1.28"
    with pytest.raises(Conflict) as err:
        do_apply(live, changed, "kubectl", now=T2)
    # The image is forgiven (the annotation still says the live value), replicas is not.
    assert str(err.value) == (
        "Apply failed with 1 conflict: "
        'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )


def test_a_conflict_with_a_subresource_writer_names_the_subresource() -> None:
    live = stored(do_apply(None, deployment(replicas=1), "argocd"))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 4
    live = stored(
        track_update(live, scaled, "kubectl", "apps/v1", DEPLOYMENT, T2, subresource="scale"),
        rv="2",
    )
    with pytest.raises(Conflict) as err:
        do_apply(live, deployment(replicas=1), "argocd", now=T3)
    assert str(err.value) == (
        "Apply failed with 1 conflict: conflict with "
        '"kubectl" with subresource "scale" using apps/v1: .spec.replicas'
    )
