from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import node_ports
from tests.reconciler.scheduler.helpers import cluster, node, pod, verdicts

REASON = ("node(s) didn't have free ports for the requested pod ports",)


def _with_port(name: str, port: int, proto: str = "TCP", ip: str = "", node_name: str = "") -> dict:
    p = pod(name, node_name=node_name)
    entry: dict = {"containerPort": 80, "hostPort": port, "protocol": proto}
    if ip:
        entry["hostIP"] = ip
    p["spec"]["containers"][0]["ports"] = [entry]
    return p


CASES = [
    # (existing on a, incoming, a's verdict)
    (_with_port("x", 8080, node_name="a"), _with_port("p", 8080), REASON),
    (_with_port("x", 8080, node_name="a"), _with_port("p", 8081), ()),
    (_with_port("x", 8080, node_name="a"), _with_port("p", 8080, "UDP"), ()),
    (_with_port("x", 8080, ip="10.0.0.1", node_name="a"), _with_port("p", 8080, ip="10.0.0.2"), ()),
    (
        _with_port("x", 8080, ip="10.0.0.1", node_name="a"),
        _with_port("p", 8080, ip="10.0.0.1"),
        REASON,
    ),
    (_with_port("x", 8080, ip="10.0.0.1", node_name="a"), _with_port("p", 8080), REASON),  # 0.0.0.0
    (_with_port("x", 8080, node_name="a"), _with_port("p", 8080, ip="10.0.0.1"), REASON),
    (pod("x", node_name="a"), _with_port("p", 8080), ()),
]


@pytest.mark.parametrize(("existing", "incoming", "want"), CASES)
def test_filter(existing, incoming, want) -> None:
    cache = cluster([node("a"), node("b")], [existing])
    assert verdicts(node_ports, cache, incoming) == {"a": want, "b": ()}


def test_port_freed_when_pod_leaves() -> None:
    cache = cluster([node("a")], [_with_port("x", 8080, node_name="a")])
    cache.remove_pod("default/x")
    assert verdicts(node_ports, cache, _with_port("p", 8080)) == {"a": ()}
