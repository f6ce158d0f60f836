"""Field-selector attributes as kube-apiserver's GetAttrs computes them."""

from __future__ import annotations

import pytest

from kctl.api import kinds, selectors
from kctl.api.fields import extract_fields


@pytest.fixture(scope="module")
def registry() -> kinds.Registry:
    return kinds.default_registry()


def test_pod_fields(registry: kinds.Registry) -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "hostNetwork": True},
        "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.7"}]},
    }
    fields = extract_fields(registry.resolve("pods"), pod)
    assert fields["metadata.name"] == "p"
    assert fields["metadata.namespace"] == "default"
    assert fields["spec.nodeName"] == "n1"
    assert fields["spec.hostNetwork"] == "true"
    assert fields["status.phase"] == "Running"
    assert fields["status.podIP"] == "10.0.0.7"  # the first of podIPs, as upstream
    assert fields["spec.schedulerName"] == ""
    assert set(fields) == {
        "metadata.name",
        "metadata.namespace",
        *registry.resolve("po").selectable_fields,
    }


def test_zero_values_follow_the_go_type(registry: kinds.Registry) -> None:
    node = extract_fields(registry.resolve("nodes"), {"metadata": {"name": "n"}})
    assert node == {"metadata.name": "n", "metadata.namespace": "", "spec.unschedulable": "false"}
    rs = extract_fields(registry.resolve("rs"), {"metadata": {"name": "r", "namespace": "d"}})
    assert rs["status.replicas"] == "0"
    pod = extract_fields(registry.resolve("pods"), {"metadata": {"name": "p"}, "spec": None})
    assert pod["spec.nodeName"] == "" and pod["spec.hostNetwork"] == "false"
    node = extract_fields(
        registry.resolve("nodes"), {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}
    )
    assert node["spec.unschedulable"] == "true"


def test_event_fields(registry: kinds.Registry) -> None:
    event = {
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {
            "kind": "Deployment",
            "name": "web",
            "namespace": "default",
            "uid": "u1",
        },
        "reason": "ScalingReplicaSet",
        "type": "Normal",
        "source": {"component": "deployment-controller"},
        "reportingController": "kctl/deployment",
    }
    fields = extract_fields(registry.resolve("events"), event)
    assert fields["involvedObject.kind"] == "Deployment"
    assert fields["involvedObject.uid"] == "u1"
    assert fields["source"] == "deployment-controller"
    assert fields["reportingComponent"] == "kctl/deployment"
    del event["source"]
    assert extract_fields(registry.resolve("events"), event)["source"] == "kctl/deployment"
    # kubectl describe's query works against the extracted fields
    sel = selectors.parse_field_selector(
        "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=u1"
    )
    assert sel.matches(fields)


def test_other_kinds(registry: kinds.Registry) -> None:
    assert (
        extract_fields(registry.resolve("secrets"), {"metadata": {"name": "s"}, "type": "Opaque"})[
            "type"
        ]
        == "Opaque"
    )
    ns = extract_fields(
        registry.resolve("ns"), {"metadata": {"name": "team"}, "status": {"phase": "Active"}}
    )
    assert ns["status.phase"] == "Active" and ns["name"] == "team"
    svc = extract_fields(
        registry.resolve("svc"), {"metadata": {"name": "s"}, "spec": {"clusterIP": "None"}}
    )
    assert svc["spec.clusterIP"] == "None" and svc["spec.type"] == ""
    assert extract_fields(
        registry.resolve("cm"), {"metadata": {"name": "c", "namespace": "d"}}
    ) == {
        "metadata.name": "c",
        "metadata.namespace": "d",
    }
