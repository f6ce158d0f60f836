"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in
equal proportions: ``(1 - std(fractions)) * 100``, fractions capped at 1, over the
actual requests (pod included). A pod requesting nothing is skipped, as upstream."""

from __future__ import annotations

import numpy as np

from reconciler.scheduler.framework import MAX_NODE_SCORE, CycleState, Scores, Slots

NAME = "NodeResourcesBalancedAllocation"


def score(state: CycleState, nodes: Slots) -> Scores | None:
    n, pod = state.nodes, state.pod
    if pod.cpu == 0 and pod.memory == 0:
        return None
    alloc_cpu, alloc_mem = n.alloc_cpu[nodes], n.alloc_mem[nodes]
    has_cpu, has_mem = alloc_cpu > 0, alloc_mem > 0
    f_cpu = np.minimum((n.req_cpu[nodes] + pod.cpu) / np.where(has_cpu, alloc_cpu, 1), 1.0)
    f_mem = np.minimum((n.req_mem[nodes] + pod.memory) / np.where(has_mem, alloc_mem, 1), 1.0)
    # With one resource missing the standard deviation of one fraction is 0.
    std = np.where(has_cpu & has_mem, np.abs(f_cpu - f_mem) / 2, 0.0)
    return ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
