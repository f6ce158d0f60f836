"""NodeResourcesFit: filter on cpu, memory and pod count; score LeastAllocated.

The filter compares the pod's requests with every node's free allocatable in three
vector comparisons and maps the three failure bits to the reason strings
kube-scheduler reports ("Too many pods", "Insufficient cpu", "Insufficient memory";
a node short of both cpu and memory counts under both). The score is the default
``LeastAllocated`` strategy, cpu and memory weighted 1:1, over the "non-zero" requests
(a container without a request counts as 100m / 200Mi).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from reconciler.scheduler.framework import MAX_NODE_SCORE, REASONS, Codes, CycleState, Scores, Slots

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"


def _combos() -> Codes:
    out = np.zeros(8, np.int32)
    for bits in range(1, 8):
        names = [
            r
            for bit, r in ((1, TOO_MANY_PODS), (2, INSUFFICIENT_CPU), (4, INSUFFICIENT_MEMORY))
            if bits & bit
        ]
        out[bits] = REASONS.code(*names)
    return out


_COMBOS = _combos()


def filter(state: CycleState) -> Codes | None:
    n, s, pod = state.nodes, state.size, state.pod
    bits = (n.req_pods[:s] + 1 > n.alloc_pods[:s]).astype(np.int32)
    if pod.cpu > 0:
        bits |= (pod.cpu > n.alloc_cpu[:s] - n.req_cpu[:s]).astype(np.int32) << 1
    if pod.memory > 0:
        bits |= (pod.memory > n.alloc_mem[:s] - n.req_mem[:s]).astype(np.int32) << 2
    return _COMBOS[bits]


def least_requested(requested: npt.NDArray[np.int64], capacity: npt.NDArray[np.int64]) -> Scores:
    """``(capacity - requested) * 100 / capacity``; 0 when over or without capacity."""
    ok = (capacity > 0) & (requested <= capacity)
    safe = np.where(capacity > 0, capacity, 1)
    return np.where(ok, (capacity - requested) * MAX_NODE_SCORE // safe, 0)


def score(state: CycleState, nodes: Slots) -> Scores | None:
    n, pod = state.nodes, state.pod
    cpu = least_requested(n.nz_cpu[nodes] + pod.nonzero_cpu, n.alloc_cpu[nodes])
    mem = least_requested(n.nz_mem[nodes] + pod.nonzero_memory, n.alloc_mem[nodes])
    return (cpu + mem) // 2
