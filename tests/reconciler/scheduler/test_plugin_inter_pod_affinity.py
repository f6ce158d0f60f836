from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import inter_pod_affinity
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores, verdicts

AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
NODES = [
    node("a", labels={ZONE: "z1"}),
    node("b", labels={ZONE: "z1"}),
    node("c", labels={ZONE: "z2"}),
]


def _term(key: str, labels: dict[str, str]) -> dict:
    return {"topologyKey": key, "labelSelector": {"matchLabels": labels}}


def _anti(key: str, labels: dict[str, str]) -> dict:
    return {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [_term(key, labels)]}
    }


def _aff(key: str, labels: dict[str, str]) -> dict:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [_term(key, labels)]}}


WEB_ON_A = pod("w", labels={"app": "web"}, node_name="a")
CASES = [
    # (bound pods, incoming pod, reasons by node)
    (
        [WEB_ON_A],
        pod("p", labels={"app": "web"}, affinity=_anti(HOST, {"app": "web"})),
        {"a": ANTI},
    ),
    ([WEB_ON_A], pod("p", affinity=_anti(ZONE, {"app": "web"})), {"a": ANTI, "b": ANTI}),
    ([WEB_ON_A], pod("p", affinity=_anti(HOST, {"app": "db"})), {}),
    # Another namespace's pods do not count unless the term names it.
    (
        [pod("w", ns="other", labels={"app": "web"}, node_name="a")],
        pod("p", affinity=_anti(HOST, {"app": "web"})),
        {},
    ),
    # Existing pods' anti-affinity keeps matching pods away (symmetry).
    (
        [pod("w", labels={"app": "web"}, node_name="b", affinity=_anti(HOST, {"app": "web"}))],
        pod("p", labels={"app": "web"}),
        {"b": EXISTING},
    ),
    (
        [pod("w", labels={"app": "web"}, node_name="b", affinity=_anti(ZONE, {"app": "web"}))],
        pod("p", labels={"app": "web"}),
        {"a": EXISTING, "b": EXISTING},
    ),
    (
        [pod("w", node_name="b", affinity=_anti(HOST, {"app": "web"}))],
        pod("p", labels={"app": "db"}),
        {},
    ),
    # Required affinity: only where matching pods run (same topology value).
    ([WEB_ON_A], pod("p", affinity=_aff(HOST, {"app": "web"})), {"b": AFF, "c": AFF}),
    ([WEB_ON_A], pod("p", affinity=_aff(ZONE, {"app": "web"})), {"c": AFF}),
    ([], pod("p", affinity=_aff(HOST, {"app": "web"})), {"a": AFF, "b": AFF, "c": AFF}),
    # ... unless it is the first of a group with affinity to itself.
    ([], pod("p", labels={"app": "web"}, affinity=_aff(HOST, {"app": "web"})), {}),
]


@pytest.mark.parametrize(("bound", "incoming", "want"), CASES)
def test_filter(bound, incoming, want) -> None:
    got = verdicts(inter_pod_affinity, cluster(NODES, bound), incoming)
    assert {n: r for n, r in got.items() if r} == {n: (r,) for n, r in want.items()}


def test_no_affinity_anywhere_is_skipped() -> None:
    assert inter_pod_affinity.filter is not None
    got = verdicts(inter_pod_affinity, cluster(NODES, [WEB_ON_A]), pod("p"))
    assert all(r == () for r in got.values())


def test_preferred_anti_affinity_score() -> None:
    aff = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": _term(ZONE, {"app": "web"})}
            ]
        }
    }
    got = scores(inter_pod_affinity, cluster(NODES, [WEB_ON_A]), pod("p", affinity=aff))
    assert got == {"a": 0, "b": 0, "c": 100}
