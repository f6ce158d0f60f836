from __future__ import annotations

import random

import pytest

from reconciler.scheduler.config import SchedulerConfig
from reconciler.scheduler.framework import num_feasible_nodes_to_find
from reconciler.scheduler.messages import fit_error_message
from reconciler.scheduler.podinfo import parse_pod
from reconciler.scheduler.scheduler import build_framework
from tests.reconciler.scheduler.helpers import cluster, node, pod, state


@pytest.mark.parametrize(
    ("percentage", "nodes", "want"),
    [
        (0, 50, 50),
        (0, 99, 99),
        (0, 100, 100),  # 50 - 0 = 50% of 100 = 50 -> at least 100
        (0, 500, 230),  # 50 - 4 = 46%
        (0, 5000, 500),  # 50 - 40 = 10%
        (0, 6000, 300),  # 50 - 48 = 2% -> minimum 5%
        (0, 1000, 420),  # 50 - 8 = 42%
        (30, 1000, 300),
        (1, 1000, 100),  # at least 100 nodes
        (100, 5000, 5000),
    ],
)
def test_num_feasible_nodes_to_find(percentage: int, nodes: int, want: int) -> None:
    assert num_feasible_nodes_to_find(percentage, nodes) == want


def test_first_rejecting_plugin_names_the_reason() -> None:
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
    cache = cluster(
        [
            node("a", cpu="1"),
            node("b", cpu="1"),
            node("c", cpu="1"),
            node("d", taints=[taint]),
            node("e", cpu="1", taints=[taint]),
        ]
    )
    fw = build_framework(SchedulerConfig(), random.Random(0))
    result = fw.schedule(state(cache, pod("p", cpu="2")))
    assert result.node is None
    assert fit_error_message(result.evaluated, result.diagnosis) == (
        "0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "3 Insufficient cpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )


def test_picks_the_least_allocated_node_and_assume_prevents_overcommit() -> None:
    cache = cluster([node("a", cpu="2"), node("b", cpu="2")], [pod("x", cpu="1", node_name="a")])
    fw = build_framework(SchedulerConfig(), random.Random(0))
    first = parse_pod(pod("p1", cpu="1500m"))
    result = fw.schedule(state(cache, first))
    assert result.node == "b"
    cache.assume(first, "b")
    # b is now full too: nothing fits a second 1500m pod (no overcommit while binding).
    assert fw.schedule(state(cache, pod("p2", cpu="1500m"))).node is None
    cache.forget(first.key)  # binding failed
    assert fw.schedule(state(cache, pod("p2", cpu="1500m"))).node == "b"


def test_round_robin_start_spreads_over_the_cluster() -> None:
    cache = cluster([node(f"n{i:03d}") for i in range(300)])
    fw = build_framework(SchedulerConfig(percentage_of_nodes_to_score=1), random.Random(0))
    first = fw.schedule(state(cache, pod("p", cpu="1")))
    assert first.feasible == 100 and fw.next_start == 100
    fw.schedule(state(cache, pod("q", cpu="1")))
    assert fw.next_start == 200


def test_weights_come_from_config() -> None:
    config = SchedulerConfig.from_options(
        {
            "scheduler.weight.NodeResourcesFit": "0",
            "scheduler.percentage-of-nodes-to-score": "20",
            "other.x": "1",
        }
    )
    assert config.weights["NodeResourcesFit"] == 0 and config.percentage_of_nodes_to_score == 20
    fw = build_framework(config)
    assert "NodeResourcesFit" not in [p.NAME for p, _ in fw.scores]
    with pytest.raises(ValueError, match="scheduler.weight.Nope"):
        SchedulerConfig.from_options({"scheduler.weight.Nope": "1"})
    with pytest.raises(ValueError):
        SchedulerConfig.from_options({"scheduler.percentage-of-nodes-to-score": "abc"})
