from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import node_unschedulable
from tests.reconciler.scheduler.helpers import cluster, node, pod, verdicts

CASES = [
    (False, [], ()),
    (True, [], ("node(s) were unschedulable",)),
    (
        True,
        [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}],
        (),
    ),
    (True, [{"operator": "Exists"}], ()),
    (
        True,
        [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}],
        ("node(s) were unschedulable",),
    ),
]


@pytest.mark.parametrize(("cordoned", "tolerations", "want"), CASES)
def test_filter(cordoned, tolerations, want) -> None:
    cache = cluster([node("a", unschedulable=cordoned), node("b")])
    assert verdicts(node_unschedulable, cache, pod("p", tolerations=tolerations)) == {
        "a": want,
        "b": (),
    }
