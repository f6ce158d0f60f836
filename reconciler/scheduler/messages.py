"""The FailedScheduling message, worded and ordered as kube-scheduler's ``FitError``.

``0/5 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/
unreachable: }, 3 Insufficient cpu. preemption: 0/5 nodes are available: 5 Preemption is
not helpful for scheduling.`` -- one "<count> <reason>" entry per distinct reason (a node
with several reasons counts under each), sorted as strings (Go's ``sort.Strings`` over
the formatted entries), then the PostFilter (preemption) message. kctl does not
preempt, so every node is reported as one where preemption does not help.
"""

from __future__ import annotations

from collections.abc import Mapping

NO_NODES_AVAILABLE = "no nodes available to schedule pods"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
PREEMPTION_NEVER = "preemption: not eligible due to preemptionPolicy=Never."


def histogram(reasons: Mapping[str, int]) -> str:
    return ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))


def preemption_message(num_all_nodes: int, preemption_policy: str) -> str:
    if preemption_policy == "Never":
        return PREEMPTION_NEVER
    return f"preemption: 0/{num_all_nodes} nodes are available: {num_all_nodes} {PREEMPTION_NOT_HELPFUL}."


def fit_error_message(
    num_all_nodes: int, reasons: Mapping[str, int], preemption_policy: str = "PreemptLowerPriority"
) -> str:
    if num_all_nodes == 0:
        return NO_NODES_AVAILABLE
    msg = f"0/{num_all_nodes} nodes are available:"
    if reasons:
        msg += f" {histogram(reasons)}."
    return f"{msg} {preemption_message(num_all_nodes, preemption_policy)}"
