"""The served kinds (schemas/*.yaml) say what kube-apiserver 1.32 says in discovery."""

from __future__ import annotations

import pytest

from kctl.api import kinds, upstream


@pytest.fixture(scope="module")
def registry() -> kinds.Registry:
    return kinds.load()


def test_discovery_order_and_groups(registry: kinds.Registry) -> None:
    assert [i.resource for i in registry] == [
        "pods",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "events",
        "namespaces",
        "nodes",
        "serviceaccounts",
        "deployments.apps",
        "replicasets.apps",
        "leases.coordination.k8s.io",
    ]
    assert registry.groups() == ["", "apps", "coordination.k8s.io"]


@pytest.mark.parametrize(
    ("word", "resource"),
    [
        ("po", "pods"),
        ("svc", "services"),
        ("ep", "endpoints"),
        ("cm", "configmaps"),
        ("ev", "events"),
        ("ns", "namespaces"),
        ("no", "nodes"),
        ("sa", "serviceaccounts"),
        ("deploy", "deployments.apps"),
        ("rs", "replicasets.apps"),
        ("Lease", "leases.coordination.k8s.io"),
        ("secret", "secrets"),
    ],
)
def test_short_names_resolve(registry: kinds.Registry, word: str, resource: str) -> None:
    assert registry.resolve(word).resource == resource


def test_category_all(registry: kinds.Registry) -> None:
    assert [i.plural for i in registry.in_category("all")] == [
        "pods",
        "services",
        "deployments",
        "replicasets",
    ]


def test_scope(registry: kinds.Registry) -> None:
    cluster = sorted(i.plural for i in registry if not i.namespaced)
    assert cluster == ["namespaces", "nodes"]


def test_subresources(registry: kinds.Registry) -> None:
    pods = registry.resolve("pods")
    binding = pods.subresource("binding")
    assert binding and (binding.kind, binding.group, binding.version, binding.verbs) == (
        "Binding",
        "",
        "v1",
        ("create",),
    )
    log = pods.subresource("log")
    assert log and log.kind == "Pod" and log.verbs == ("get",)
    exec_ = pods.subresource("exec")
    assert exec_ and exec_.kind == "PodExecOptions" and exec_.verbs == ("create", "get")
    status = pods.subresource("status")
    assert status and status.kind == "Pod" and status.verbs == ("get", "patch", "update")
    for name in ("deployments", "replicasets"):
        scale = registry.resolve(name).subresource("scale")
        assert scale and (scale.kind, scale.group, scale.version) == ("Scale", "autoscaling", "v1")
    assert registry.resolve("leases").subresources == ()
    assert "deletecollection" not in registry.resolve("namespaces").verbs


def test_selectable_fields(registry: kinds.Registry) -> None:
    pods = registry.resolve("pods").selectable_fields
    for f in ("spec.nodeName", "status.phase", "spec.schedulerName", "status.podIP"):
        assert f in pods
    assert registry.resolve("nodes").selectable_fields == ("spec.unschedulable",)
    assert registry.resolve("secrets").selectable_fields == ("type",)
    assert registry.resolve("rs").selectable_fields == ("status.replicas",)
    assert "involvedObject.uid" in registry.resolve("events").selectable_fields


def test_every_kind_has_an_upstream_schema(registry: kinds.Registry) -> None:
    defs = upstream.definitions(strict=False)
    for info in registry:
        name = info.upstream_definition
        assert name in defs, info.resource
        gvk = defs[name]["x-kubernetes-group-version-kind"][0]
        assert (gvk["group"], gvk["version"], gvk["kind"]) == (info.group, info.version, info.kind)
        assert info.schema_node().field("metadata").known
