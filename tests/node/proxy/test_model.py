"""Services + Endpoints -> service ports: what gets programmed and what does not."""

from __future__ import annotations

from typing import Any

import pytest

from node.proxy.model import Endpoint, ModelCache, ServicePort, service_ports
from tests.node.proxy.fixtures import endpoints, service

HTTP = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
DNS = {"name": "dns", "port": 53, "protocol": "UDP"}


def ports_of(svc: dict[str, Any], eps: dict[str, Any] | None) -> list[tuple[str, str, int, int]]:
    return [(sp.name, sp.cluster_ip, sp.port, len(sp.endpoints)) for sp in service_ports(svc, eps)]


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        (service("web", "10.96.0.5", [HTTP]), [("default/web:http", "10.96.0.5", 80, 0)]),
        (service("web", "None", [HTTP]), []),  # headless
        (service("web", None, [HTTP]), []),  # ClusterIP not allocated yet
        (service("web", "fd00::5", [HTTP]), []),  # IPv6 only
        (service("web", "10.96.0.5", [HTTP], type_="ExternalName"), []),
        (
            service("web", "10.96.0.5", [{"port": 80}]),  # unnamed port, protocol defaults
            [("default/web", "10.96.0.5", 80, 0)],
        ),
        (
            service(
                "dns", "10.96.0.10", [DNS, {**DNS, "protocol": "TCP"}], namespace="kube-system"
            ),
            [("kube-system/dns:dns", "10.96.0.10", 53, 0)] * 2,
        ),
    ],
)
def test_which_services_are_programmed(svc: dict[str, Any], expected: list[Any]) -> None:
    assert ports_of(svc, None) == expected


def test_only_ready_addresses_of_the_matching_port() -> None:
    svc = service("web", "10.96.0.5", [HTTP, {"name": "metrics", "port": 9090}])
    eps = endpoints(
        "web",
        [
            (["10.244.0.3", "10.244.0.2"], ["10.244.0.9"], [{"name": "http", "port": 8080}]),
            (
                ["10.244.1.2"],
                [],
                [{"name": "http", "port": 8081}, {"name": "metrics", "port": 9090}],
            ),
            (["10.244.1.7"], [], [{"name": "http", "port": 8080, "protocol": "UDP"}]),
        ],
    )
    http, metrics = service_ports(svc, eps)
    assert http.endpoints == (
        Endpoint("10.244.0.2", 8080, "n1"),
        Endpoint("10.244.0.3", 8080, "n1"),
        Endpoint("10.244.1.2", 8081, "n1"),
    )
    assert metrics.endpoints == (Endpoint("10.244.1.2", 9090, "n1"),)


@pytest.mark.parametrize(
    ("type_", "affinity", "node_port", "timeout"),
    [
        ("ClusterIP", None, 0, 0),
        ("NodePort", None, 30080, 0),
        ("LoadBalancer", 0, 30080, 10800),  # ClientIP without config: Kubernetes' default
        ("NodePort", 60, 30080, 60),
    ],
)
def test_node_ports_and_affinity(
    type_: str, affinity: int | None, node_port: int, timeout: int
) -> None:
    svc = service("web", "10.96.0.5", [{**HTTP, "nodePort": 30080}], type_=type_, affinity=affinity)
    (sp,) = service_ports(svc, None)
    assert (sp.node_port, sp.affinity_timeout) == (node_port, timeout)


def test_cache_rebuilds_only_changed_services() -> None:
    cache = ModelCache()
    svcs = {
        "default/a": service("a", "10.96.0.1", [HTTP]),
        "default/b": service("b", "10.96.0.2", [HTTP]),
    }
    eps: dict[str, dict[str, Any]] = {}
    first = cache.build(svcs.items(), eps.get)
    assert [sp.service for sp in first] == ["a", "b"]
    eps["default/b"] = endpoints(
        "b", [(["10.244.0.2"], [], [{"name": "http", "port": 80}])], rv="7"
    )
    second = cache.build(svcs.items(), eps.get)
    assert second[0] is first[0]  # a: same resourceVersions, same object
    assert second[1] is not first[1] and len(second[1].endpoints) == 1
    del svcs["default/a"]
    assert [sp.service for sp in cache.build(svcs.items(), eps.get)] == ["b"]


def test_port_name_string_is_kube_proxys() -> None:
    sp = ServicePort("ns1", "svc1", "p80", "TCP", "172.30.0.41", 80)
    assert (sp.name, sp.proto) == ("ns1/svc1:p80", "tcp")
