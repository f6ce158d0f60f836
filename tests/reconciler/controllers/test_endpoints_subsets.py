"""Endpoints subsets from a Service and its pods: ports, readiness, packing, capacity."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.endpoints import subsets as sub
from reconciler.controllers.endpoints.controller import pod_changes
from reconciler.controllers.endpoints.triggertime import TriggerTimeTracker, format_trigger_time
from tests.reconciler.controllers.rsobjects import T0, pod, ts

HTTP = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def service(ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "svc",
            "creationTimestamp": ts(T0),
        },
        "spec": {
            "selector": {"app": "web"},
            "clusterIP": "10.96.0.10",
            "ports": ports if ports is not None else [{"port": 80, "protocol": "TCP"}],
            **spec,
        },
    }


def addr(name: str, ip: str, node: str = "n1") -> dict[str, Any]:
    return {
        "ip": ip,
        "nodeName": node,
        "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": f"uid-{name}"},
    }


def web(name: str, ip: str | None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("node", "n1")
    kw.setdefault("ports", HTTP)
    return pod(name, ip=ip, labels={"app": "web"}, **kw)


CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "ready and not ready, sorted by ip",
        service(),
        [
            web("b", "10.0.0.2", ready=True),
            web("a", "10.0.0.1", ready=True),
            web("c", "10.0.0.3", ready=False),
        ],
        [
            {
                "addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")],
                "notReadyAddresses": [addr("c", "10.0.0.3")],
                "ports": [{"port": 80, "protocol": "TCP"}],
            },
        ],
    ),
    (
        "named targetPort resolved per pod, pods without it skipped",
        service([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]),
        [
            web("a", "10.0.0.1", ready=True),
            web(
                "b",
                "10.0.0.2",
                ready=True,
                ports=[{"name": "http", "containerPort": 9090, "protocol": "TCP"}],
            ),
            web("c", "10.0.0.3", ready=True, ports=[]),
        ],
        [
            {
                "addresses": [addr("a", "10.0.0.1")],
                "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}],
            },
            {
                "addresses": [addr("b", "10.0.0.2")],
                "ports": [{"name": "web", "port": 9090, "protocol": "TCP"}],
            },
        ],
    ),
    (
        "named port with another protocol does not match",
        service([{"port": 53, "targetPort": "http", "protocol": "UDP"}]),
        [web("a", "10.0.0.1", ready=True)],
        [],
    ),
    (
        "numeric targetPort as is, two ports in one subset",
        service(
            [
                {"name": "a", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {
                    "name": "b",
                    "port": 443,
                    "targetPort": 8443,
                    "protocol": "TCP",
                    "appProtocol": "https",
                },
            ]
        ),
        [web("a", "10.0.0.1", ready=True)],
        [
            {
                "addresses": [addr("a", "10.0.0.1")],
                "ports": [
                    {"name": "a", "port": 8080, "protocol": "TCP"},
                    {"name": "b", "port": 8443, "protocol": "TCP", "appProtocol": "https"},
                ],
            }
        ],
    ),
    (
        "publishNotReadyAddresses: everything in addresses, terminating kept",
        service(publishNotReadyAddresses=True),
        [web("a", "10.0.0.1", ready=False), web("b", "10.0.0.2", ready=True, deleting=True)],
        [
            {
                "addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")],
                "ports": [{"port": 80, "protocol": "TCP"}],
            }
        ],
    ),
    (
        "no ip, terminating, finished: left out",
        service(),
        [
            web("a", None, ready=True),
            web("b", "10.0.0.2", ready=True, deleting=True),
            web("c", "10.0.0.3", phase="Succeeded"),
            web("d", "10.0.0.4", phase="Failed", ready=True),
        ],
        [],
    ),
    (
        "headless without ports: port-less subset, hostname for its subdomain",
        service([], clusterIP="None"),
        [web("a", "10.0.0.1", ready=True)],
        [{"addresses": [{**addr("a", "10.0.0.1"), "hostname": "a-host"}]}],
    ),
    (
        "a service with cluster IP and no ports has no endpoints",
        service([]),
        [web("a", "10.0.0.1", ready=True)],
        [],
    ),
    (
        "ipv6 service picks the pod's ipv6 address",
        service(ipFamilies=["IPv6"]),
        [web("a", "10.0.0.1", ready=True)],
        [],
    ),
]


@pytest.mark.parametrize("name,svc,pods,expected", CASES, ids=[c[0] for c in CASES])
def test_build_subsets(name: str, svc: dict, pods: list, expected: list) -> None:
    if "hostname" in name:
        pods[0]["spec"].update(hostname="a-host", subdomain="web")
    assert sub.build_subsets(svc, pods) == expected


def test_dual_stack_pod_in_ipv6_service() -> None:
    p = web("a", "10.0.0.1", ready=True)
    p["status"]["podIPs"] = [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]
    [subset] = sub.build_subsets(service(ipFamilies=["IPv6"]), [p])
    assert subset["addresses"][0]["ip"] == "fd00::1"


def test_repack_ready_wins_and_groups_by_address_set() -> None:
    a, b = addr("a", "10.0.0.1"), addr("b", "10.0.0.2")
    p80, p81 = {"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "TCP"}
    got = sub.repack([(a, p80, False), (a, p80, True), (b, p80, True), (a, p81, True)])
    assert got == [
        {"addresses": [a], "ports": [p81]},
        {"addresses": [a, b], "ports": [p80]},
    ]


def test_subsets_equal_ignores_order_and_resource_versions() -> None:
    a, b = addr("a", "10.0.0.1"), addr("b", "10.0.0.2")
    stored = [
        {
            "addresses": [b, {**a, "targetRef": {**a["targetRef"], "resourceVersion": "7"}}],
            "ports": [{"port": 80}],
        }
    ]
    assert sub.subsets_equal(
        stored, [{"addresses": [a, b], "ports": [{"port": 80, "protocol": "TCP"}]}]
    )
    assert not sub.subsets_equal(stored, [{"notReadyAddresses": [a, b], "ports": [{"port": 80}]}])


def test_truncate_over_capacity() -> None:
    def many(n: int, prefix: str) -> list[dict[str, Any]]:
        return [addr(f"{prefix}{i}", f"10.{prefix == 'r'}.{i // 250}.{i % 250}") for i in range(n)]

    subsets = [{"addresses": many(600, "r"), "notReadyAddresses": many(600, "n")}]
    assert sub.truncate(subsets)
    assert len(subsets[0]["addresses"]) == 600 and len(subsets[0]["notReadyAddresses"]) == 400
    subsets = [
        {"addresses": many(700, "r")},
        {"addresses": many(700, "s"), "notReadyAddresses": many(5, "n")},
    ]
    assert sub.truncate(subsets)
    assert [len(s["addresses"]) for s in subsets] == [500, 500]
    assert "notReadyAddresses" not in subsets[1]
    small = [{"addresses": many(3, "r")}]
    assert not sub.truncate(small)


@pytest.mark.parametrize(
    "change,expect",
    [
        (lambda p: p["status"]["conditions"][0].update(status="False"), (True, False)),
        (lambda p: p["metadata"].update(labels={"app": "other"}), (False, True)),
        (lambda p: p["metadata"].update(deletionTimestamp=ts(T0)), (True, False)),
        (
            lambda p: p["status"].update(podIP="10.0.0.9", podIPs=[{"ip": "10.0.0.9"}]),
            (True, False),
        ),
        (lambda p: p["metadata"].update(annotations={"x": "y"}), (False, False)),
    ],
)
def test_pod_changes(change: Any, expect: tuple[bool, bool]) -> None:
    old = web("a", "10.0.0.1", ready=True)
    new = web("a", "10.0.0.1", ready=True)
    change(new)
    assert pod_changes(old, new) == expect


def test_trigger_time_tracker() -> None:
    tracker = TriggerTimeTracker()
    svc = service()
    p = web("a", "10.0.0.1", ready=True, ready_at=T0 + 5)
    assert tracker.compute("default", svc, [p]) == T0  # first sync: service creation
    assert tracker.compute("default", svc, [p]) is None  # nothing moved
    q = web("b", "10.0.0.2", ready=False, ready_at=T0 + 20)
    p2 = web("a", "10.0.0.1", ready=False, ready_at=T0 + 30)
    assert tracker.compute("default", svc, [p2, q]) == T0 + 20  # earliest that moved
    tracker.delete("default", "web")
    assert tracker.compute("default", svc, [p2, q]) == T0
    assert format_trigger_time(T0) == "2023-11-14T22:13:20Z"
    assert format_trigger_time(T0 + 0.5) == "2023-11-14T22:13:20.5Z"
