"""The scale-down order: each rule of ActivePodsWithRanks, one row per rule."""

from __future__ import annotations

import pytest

from reconciler.controllers.replicaset.ranking import (
    deletion_cost,
    max_restarts,
    pods_to_delete,
    rank_for_deletion,
)
from tests.reconciler.controllers.rsobjects import T0, pod

HOUR = 3600.0

# (rule, pod deleted first, pod kept); each pair differs in the rule's field and ties on
# every earlier rule.
CASES = [
    ("unassigned first", pod("a"), pod("b", node="n1")),
    ("pending before running", pod("a", node="n1", phase="Pending"), pod("b", node="n1")),
    (
        "pending before unknown",
        pod("a", node="n1", phase="Pending"),
        pod("b", node="n1", phase="Unknown"),
    ),
    ("unknown before running", pod("a", node="n1", phase="Unknown"), pod("b", node="n1")),
    ("not ready first", pod("a", node="n1", ready=False), pod("b", node="n1", ready=True)),
    ("no ready condition first", pod("a", node="n1"), pod("b", node="n1", ready=True)),
    (
        "lower deletion cost first",
        pod("a", node="n1", ready=True, cost="-5"),
        pod("b", node="n1", ready=True),
    ),
    (
        "invalid deletion cost counts as 0",
        pod("a", node="n1", ready=True, cost="+7"),
        pod("b", node="n1", ready=True, cost="1"),
    ),
    (
        "recently ready first (log buckets far apart)",
        pod("a", node="n1", ready=True, ready_at=T0 - 10),
        pod("b", node="n1", ready=True, ready_at=T0 - 10 * HOUR),
    ),
    (
        "more restarts first",
        pod("a", node="n1", ready=True, restarts=3),
        pod("b", node="n1", ready=True, restarts=1),
    ),
    (
        "newer first",
        pod("a", node="n1", ready=True, created=T0 - 20),
        pod("b", node="n1", ready=True, created=T0 - 20 * HOUR),
    ),
    (
        "no creation time first",
        pod("a", node="n1", ready=True, created=None),
        pod("b", node="n1", ready=True),
    ),
]


@pytest.mark.parametrize("rule,first,second", CASES, ids=[c[0] for c in CASES])
def test_each_rule_orders_a_pair_both_ways(rule: str, first: dict, second: dict) -> None:
    assert rank_for_deletion([second, first], [], T0) == [first, second]
    assert rank_for_deletion([first, second], [], T0) == [first, second]


def test_earlier_rule_wins_over_later() -> None:
    # assigned and not ready vs unassigned, ready, expensive: unassigned still goes first
    unassigned = pod("u", ready=True, cost="1000")
    assigned = pod("a", node="n1", phase="Pending", ready=False)
    assert rank_for_deletion([assigned, unassigned], [], T0)[0] is unassigned


def test_doubled_up_pods_go_first() -> None:
    on_busy = pod("x", node="busy", ready=True)
    on_quiet = pod("y", node="quiet", ready=True)
    related = [on_busy, on_quiet, pod("r1", node="busy"), pod("r2", node="busy", deleting=True)]
    assert rank_for_deletion([on_quiet, on_busy], related, T0) == [on_busy, on_quiet]
    # inactive related pods do not count: one each side, the tie falls to later rules
    older = pod("y", node="quiet", ready=True, created=T0 - 100 * HOUR)
    assert rank_for_deletion([older, on_busy], [on_busy, older], T0) == [on_busy, older]


def test_same_log_bucket_breaks_ties_by_uid() -> None:
    # 100 s and 110 s ago are in the same log2(ns) bucket: uid order, not age
    newer = pod("z", node="n1", created=T0 - 100)
    older = pod("a", node="n1", created=T0 - 110)
    assert rank_for_deletion([newer, older], [], T0) == [older, newer]
    # without "now" (no logarithmic buckets) the newer pod goes first
    assert rank_for_deletion([older, newer], [], None) == [newer, older]


def test_pods_to_delete_takes_the_head() -> None:
    pods = [
        pod("r1", node="n1", ready=True),
        pod("p", phase="Pending"),
        pod("r2", node="n2", ready=True),
    ]
    assert [p["metadata"]["name"] for p in pods_to_delete(pods, [], 1, T0)] == ["p"]
    assert len(pods_to_delete(pods, [], 5, T0)) == 3


@pytest.mark.parametrize(
    "value,cost",
    [
        (None, 0),
        ("0", 0),
        ("10", 10),
        ("-3", -3),
        ("+3", 0),
        ("007", 0),
        ("x", 0),
        ("", 0),
        ("2147483647", 2147483647),
        ("2147483648", 0),
        (" 1", 0),
    ],
)
def test_deletion_cost_parsing(value: str | None, cost: int) -> None:
    p = pod("a", cost=value) if value is not None else pod("a")
    assert deletion_cost(p) == cost


def test_sidecar_restarts_break_regular_ties() -> None:
    def with_sidecar(name: str, restarts: int) -> dict:
        p = pod(name, node="n1", ready=True)
        p["spec"]["initContainers"] = [{"name": "side", "image": "i", "restartPolicy": "Always"}]
        p["status"]["initContainerStatuses"] = [{"name": "side", "restartCount": restarts}]
        return p

    a, b = with_sidecar("a", 4), with_sidecar("b", 1)
    assert max_restarts(a) == (0, 4)
    assert rank_for_deletion([b, a], [], T0) == [a, b]
