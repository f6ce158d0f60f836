from __future__ import annotations

import pytest

from reconciler.scheduler.messages import fit_error_message

TAINT = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"

CASES = [
    (
        5,
        {"Insufficient cpu": 3, TAINT: 2},
        "PreemptLowerPriority",
        f"0/5 nodes are available: 2 {TAINT}, 3 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.",
    ),
    (
        3,
        {"Insufficient cpu": 3, "Insufficient memory": 3},
        "PreemptLowerPriority",
        "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    ),
    (
        2,
        {"node(s) didn't match Pod's node affinity/selector": 2},
        "Never",
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: not eligible due to preemptionPolicy=Never.",
    ),
    (0, {}, "PreemptLowerPriority", "no nodes available to schedule pods"),
    # Go's sort.Strings over "<count> <reason>": "10 ..." sorts before "9 ...".
    (
        19,
        {"Insufficient cpu": 9, "Too many pods": 10},
        "PreemptLowerPriority",
        "0/19 nodes are available: 10 Too many pods, 9 Insufficient cpu. "
        "preemption: 0/19 nodes are available: 19 Preemption is not helpful for scheduling.",
    ),
]


@pytest.mark.parametrize(("nodes", "reasons", "policy", "want"), CASES)
def test_fit_error_message(nodes, reasons, policy, want) -> None:
    assert fit_error_message(nodes, reasons, policy) == want
