from __future__ import annotations

from reconciler.scheduler.plugins import balanced_allocation
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores


def test_prefers_balanced_usage() -> None:
    cache = cluster(
        [node("a", cpu="4", memory="8Gi"), node("b", cpu="4", memory="8Gi")],
        [pod("x", "2", "0", node_name="b")],
    )
    # a: cpu 1/4=.25, mem 2/8=.25 -> std 0 -> 100; b: cpu 3/4=.75, mem .25 -> std .25 -> 75
    assert scores(balanced_allocation, cache, pod("p", "1", "2Gi")) == {"a": 100, "b": 75}


def test_fractions_capped_at_one() -> None:
    cache = cluster([node("a", cpu="1", memory="8Gi")])
    # cpu 2/1 -> 1, mem 0/8 -> 0: std 0.5 -> 50
    assert scores(balanced_allocation, cache, pod("p", "2", "0")) == {"a": 50}


def test_best_effort_pod_is_skipped() -> None:
    assert scores(balanced_allocation, cluster([node("a")]), pod("p")) is None
