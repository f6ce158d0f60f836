"""Field tracking on non-apply writes (kctl.api.apply.track_update)."""

from __future__ import annotations

import copy
from typing import Any

from kctl.api.apply import MAX_UPDATE_MANAGERS, apply, from_fields_v1, track_update
from kctl.api.schema_nav import SchemaNode

DEPLOYMENT = SchemaNode.for_definition("io.k8s.api.apps.v1.Deployment")
CONFIGMAP = SchemaNode.for_definition("io.k8s.api.core.v1.ConfigMap")


def ts(second: int) -> str:
    return f"2025-01-01T00:{second // 60:02d}:{second % 60:02d}Z"


def configmap(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d", "uid": "u", "resourceVersion": "1"},
        "data": dict(data),
    }


def deployment(replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "1"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
            },
        },
    }


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["metadata"].get("managedFields", [])


def fields_of(obj: dict[str, Any], manager: str) -> set[tuple[str, ...]]:
    [entry] = [e for e in entries(obj) if e["manager"] == manager]
    return from_fields_v1(entry["fieldsV1"])


def update(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str, **kw: Any
) -> dict[str, Any]:
    schema = kw.pop("schema", CONFIGMAP)
    return track_update(old, new, manager, new["apiVersion"], schema, now, **kw)


def test_create_owns_everything_but_identity_fields() -> None:
    out = update(None, configmap(a="1"), "creator", ts(1))
    [entry] = entries(out)
    assert entry == {
        "manager": "creator",
        "operation": "Update",
        "apiVersion": "v1",
        "time": ts(1),
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:a": {}}},
    }


def test_an_update_takes_changed_fields_from_other_managers() -> None:
    live = update(None, configmap(a="1", b="2"), "creator", ts(1))
    new = copy.deepcopy(live)
    new["data"]["a"] = "changed"
    new["data"]["c"] = "3"
    out = update(live, new, "editor", ts(2))
    assert fields_of(out, "editor") == {("f:data", "f:a"), ("f:data", "f:c")}
    assert fields_of(out, "creator") == {("f:data",), ("f:data", "f:b")}
    assert new["metadata"]["managedFields"] == live["metadata"]["managedFields"]  # input untouched


def test_removed_fields_leave_every_set_and_empty_entries_go() -> None:
    live = update(None, configmap(a="1"), "creator", ts(1))
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    live = update(live, new, "editor", ts(2))
    new = copy.deepcopy(live)
    del new["data"]["b"]
    out = update(live, new, "remover", ts(3))
    managers = [e["manager"] for e in entries(out)]
    assert managers == ["creator"]  # editor owned only b; remover changed nothing it keeps


def test_an_update_that_changes_nothing_keeps_the_history() -> None:
    live = update(None, configmap(a="1"), "creator", ts(1))
    out = update(live, copy.deepcopy(live), "other", ts(9))
    assert entries(out) == entries(live)


def test_the_same_manager_accumulates_and_gets_a_new_time() -> None:
    live = update(None, configmap(a="1"), "m", ts(1))
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    out = update(live, new, "m", ts(5))
    [entry] = entries(out)
    assert entry["time"] == ts(5)
    assert from_fields_v1(entry["fieldsV1"]) == {("f:data",), ("f:data", "f:a"), ("f:data", "f:b")}


def test_one_entry_per_manager_operation_version_and_subresource() -> None:
    live = update(None, deployment(), "ctl", ts(1), schema=DEPLOYMENT)
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 3
    live = update(live, new, "ctl", ts(2), schema=DEPLOYMENT, subresource="scale")
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 3}
    out = update(live, new, "ctl", ts(3), schema=DEPLOYMENT, subresource="status")
    keys = [(e["manager"], e.get("subresource", "")) for e in entries(out)]
    assert keys == [("ctl", ""), ("ctl", "scale"), ("ctl", "status")]
    assert fields_of_sub(out, "scale") == {("f:spec", "f:replicas")}
    # status exists in every typed object ({}), so it is not "added": no "." here.
    assert fields_of_sub(out, "status") == {("f:status", "f:replicas")}


def fields_of_sub(obj: dict[str, Any], sub: str) -> set[tuple[str, ...]]:
    [entry] = [e for e in entries(obj) if e.get("subresource") == sub]
    return from_fields_v1(entry["fieldsV1"])


def test_status_changes_through_the_main_resource_are_not_tracked() -> None:
    live = update(None, deployment(), "ctl", ts(1), schema=DEPLOYMENT)
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 9}
    out = update(live, new, "other", ts(2), schema=DEPLOYMENT)
    assert [e["manager"] for e in entries(out)] == ["ctl"]


def test_managed_fields_in_the_request_are_taken_as_given() -> None:
    live = update(None, configmap(a="1"), "kubectl-client-side-apply", ts(1))
    given = [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": ts(1),
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}},
        }
    ]
    migrated = copy.deepcopy(live)
    migrated["metadata"]["managedFields"] = given
    out = update(live, migrated, "kubectl", ts(2))
    assert entries(out) == given
    # ...and a change in the same request is still tracked on top of them.
    migrated["data"]["b"] = "2"
    out = update(live, migrated, "kubectl-patch", ts(3))
    assert [e["manager"] for e in entries(out)] == ["kubectl", "kubectl-patch"]


def test_request_managed_fields_are_ignored_on_subresources() -> None:
    live = update(None, deployment(), "ctl", ts(1), schema=DEPLOYMENT)
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [
        {"manager": "x", "operation": "Update", "fieldsType": "FieldsV1"}
    ]
    new["status"] = {"replicas": 1}
    out = update(live, new, "kcm", ts(2), schema=DEPLOYMENT, subresource="status")
    assert [e["manager"] for e in entries(out)] == ["ctl", "kcm"]


def test_resetting_managed_fields_stops_tracking_until_an_apply() -> None:
    live = update(None, configmap(a="1"), "creator", ts(1))
    resets: list[list[dict[str, Any]]] = [[{}], []]
    for reset in resets:
        new = copy.deepcopy(live)
        new["metadata"]["managedFields"] = reset
        new["data"]["b"] = "2"
        out = update(live, new, "editor", ts(2))
        assert "managedFields" not in out["metadata"]
        again = copy.deepcopy(out)
        again["data"]["c"] = "3"
        assert "managedFields" not in update(out, again, "editor", ts(3))["metadata"]
        # The first apply attributes what exists to before-first-apply.
        config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        applied = apply(
            out, {**config, "data": {"z": "1"}}, "kubectl", "v1", CONFIGMAP, False, ts(4)
        )
        assert [e["manager"] for e in entries(applied)] == ["kubectl", "before-first-apply"]
        assert fields_of(applied, "before-first-apply") == {
            ("f:data",),
            ("f:data", "f:a"),
            ("f:data", "f:b"),
        }
    # Invalid managedFields in a request fall back to the stored ones.
    bad = copy.deepcopy(live)
    bad["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
    assert entries(update(live, bad, "editor", ts(2))) == entries(live)


def test_update_managers_are_capped_with_ancient_changes() -> None:
    live = update(None, configmap(), "m00", ts(0))
    applied = apply(
        live, {**configmap(), "data": {"applied": "x"}}, "applier", "v1", CONFIGMAP, False, ts(0)
    )
    live = applied
    for i in range(1, 13):
        new = copy.deepcopy(live)
        new["data"][f"k{i:02d}"] = "v"
        live = update(live, new, f"m{i:02d}", ts(i))
    updaters = [e for e in entries(live) if e["operation"] == "Update"]
    assert len(updaters) == MAX_UPDATE_MANAGERS
    names = [e["manager"] for e in updaters]
    assert names[0] == "ancient-changes"
    assert names[1:] == [f"m{i:02d}" for i in range(4, 13)]
    ancient = from_fields_v1(updaters[0]["fieldsV1"])
    assert {("f:data", f"f:k{i:02d}") for i in (1, 2, 3)} <= ancient
    assert entries(live)[0]["operation"] == "Apply"  # appliers are never capped, and come first
