from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import pod_topology_spread
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores, verdicts

SKEW = ("node(s) didn't match pod topology spread constraints",)
MISSING = ("node(s) didn't match pod topology spread constraints (missing required label)",)
HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
NODES = [
    node("a", labels={ZONE: "z1"}),
    node("b", labels={ZONE: "z1"}),
    node("c", labels={ZONE: "z2"}),
    node("nozone"),
]


def _web(name: str, on: str) -> dict:
    return pod(name, labels={"app": "web"}, node_name=on)


def _spread(key: str, max_skew: int = 1, hard: bool = True, **extra) -> dict:
    return {
        "maxSkew": max_skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }


def _incoming(*constraints: dict, **spec) -> dict:
    return pod("p", labels={"app": "web"}, topologySpreadConstraints=list(constraints), **spec)


CASES = [
    # (bound, constraint, verdicts)
    ([], _spread(HOST), {"a": (), "b": (), "c": (), "nozone": ()}),
    ([_web("1", "a")], _spread(HOST), {"a": SKEW, "b": (), "c": (), "nozone": ()}),
    ([_web("1", "a")], _spread(HOST, 2), {"a": (), "b": (), "c": (), "nozone": ()}),
    ([_web("1", "a")], _spread(ZONE), {"a": SKEW, "b": SKEW, "c": (), "nozone": MISSING}),
    (
        [_web("1", "a"), _web("2", "c")],
        _spread(ZONE),
        {"a": (), "b": (), "c": (), "nozone": MISSING},
    ),
    # minDomains above the number of domains makes the global minimum 0.
    (
        [_web("1", "a"), _web("2", "c")],
        _spread(ZONE, minDomains=3),
        {"a": SKEW, "b": SKEW, "c": SKEW, "nozone": MISSING},
    ),
    # Pods the selector does not match do not count.
    (
        [pod("db", labels={"app": "db"}, node_name="a")],
        _spread(HOST),
        {"a": (), "b": (), "c": (), "nozone": ()},
    ),
    # ScheduleAnyway never filters.
    ([_web("1", "a")], _spread(ZONE, hard=False), {"a": (), "b": (), "c": (), "nozone": ()}),
]


@pytest.mark.parametrize(("bound", "constraint", "want"), CASES)
def test_filter(bound, constraint, want) -> None:
    assert verdicts(pod_topology_spread, cluster(NODES, bound), _incoming(constraint)) == want


def test_node_affinity_policy_honor_ignores_other_domains() -> None:
    # z2 is excluded by the pod's nodeSelector, so its empty domain does not set min 0.
    bound = [_web("1", "a"), _web("2", "b")]
    incoming = _incoming(_spread(ZONE), nodeSelector={ZONE: "z1"})
    got = verdicts(pod_topology_spread, cluster(NODES, bound), incoming)
    assert got["a"] == () and got["b"] == ()


def test_score_prefers_emptier_domains() -> None:
    bound = [_web("1", "a"), _web("2", "a"), _web("3", "b")]
    got = scores(
        pod_topology_spread, cluster(NODES[:3], bound), _incoming(_spread(HOST, hard=False))
    )
    assert got is not None
    assert got["c"] > got["b"] > got["a"]
    assert got["c"] == 100


def test_score_without_soft_constraints_has_no_opinion() -> None:
    assert scores(pod_topology_spread, cluster(NODES), _incoming(_spread(HOST))) is None
