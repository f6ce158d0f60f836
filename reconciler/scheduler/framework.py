"""The scheduling framework: filter plugins, score plugins, and picking a node.

A plugin is a module with ``NAME`` and ``filter(state)`` and/or ``score(state, nodes)``.
Both work on *all nodes at once* (see nodetable):

* ``filter`` returns a **status array**: one int32 reason code per node slot, 0 when
  the node passes, else a code from :data:`REASONS` naming the reason strings a
  kube-scheduler plugin would return for that node (``"Insufficient cpu"``, ...).
  "Does not fit" is an outcome, not an exception. ``None`` means "passes everywhere"
  (the plugin has nothing to check for this pod).
* ``score`` returns an int64 array of 0..100 for the given candidate slots, already
  normalized; ``None`` means "no opinion" (a constant, which cannot change the pick).

As in kube-scheduler a node's status is that of the first filter plugin rejecting it,
and only ``numFeasibleNodesToFind`` feasible nodes are scored, taken round-robin from
where the previous pod's search stopped, so successive pods spread over the cluster.
Unlike kube-scheduler every filter runs over every node: a vector op over 5,000 nodes
costs about what one Python call per node would, and it gives the full diagnosis.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from reconciler.scheduler.cache import SchedulerCache
from reconciler.scheduler.nodetable import NodeTable
from reconciler.scheduler.podinfo import PodInfo

Codes = npt.NDArray[np.int32]
Scores = npt.NDArray[np.int64]
Slots = npt.NDArray[np.intp]

MAX_NODE_SCORE = 100
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50


class ReasonTable:
    """Interned failure statuses: code -> the reason strings of one node's status.
    Code 0 is success; -1 marks slots of deleted nodes."""

    def __init__(self) -> None:
        self._codes: dict[tuple[str, ...], int] = {(): 0}
        self._reasons: list[tuple[str, ...]] = [()]

    def code(self, *reasons: str) -> int:
        c = self._codes.get(reasons)
        if c is None:
            c = self._codes[reasons] = len(self._reasons)
            self._reasons.append(reasons)
        return c

    def reasons(self, code: int) -> tuple[str, ...]:
        return self._reasons[code]


REASONS = ReasonTable()
DEAD = -1


@dataclass
class CycleState:
    """What one scheduling attempt shares between plugins."""

    pod: PodInfo
    cache: SchedulerCache
    data: dict[str, Any] = field(default_factory=dict)  # per-plugin scratch

    @property
    def nodes(self) -> NodeTable:
        return self.cache.nodes

    @property
    def size(self) -> int:
        return self.cache.nodes.size

    def passing(self) -> Codes:
        """A status array of all-success, to fill in."""
        return np.zeros(self.cache.nodes.size, np.int32)


class FilterPlugin(Protocol):
    NAME: str

    def filter(self, state: CycleState) -> Codes | None: ...


class ScorePlugin(Protocol):
    NAME: str

    def score(self, state: CycleState, nodes: Slots) -> Scores | None: ...


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """kube-scheduler's ``numFeasibleNodesToFind`` (adaptive when ``percentage`` is 0)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    adaptive = percentage
    if adaptive <= 0:
        adaptive = BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125
        if adaptive < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND:
            adaptive = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
    num = num_all_nodes * adaptive // 100
    if num < MIN_FEASIBLE_NODES_TO_FIND:
        return MIN_FEASIBLE_NODES_TO_FIND
    return num


def default_normalize(scores: npt.NDArray[Any], reverse: bool = False) -> Scores:
    """``helper.DefaultNormalizeScore``: scale to 0..100 by the maximum (reversed:
    100 minus that), all-zero input giving 0 (reversed: 100)."""
    raw = scores.astype(np.int64)
    top = int(raw.max()) if len(raw) else 0
    if top == 0:
        return np.full(len(raw), MAX_NODE_SCORE if reverse else 0, np.int64)
    out = MAX_NODE_SCORE * raw // top
    return MAX_NODE_SCORE - out if reverse else out


@dataclass
class ScheduleResult:
    node: str | None
    evaluated: int = 0
    feasible: int = 0
    # reason string -> number of nodes (only when no node fits)
    diagnosis: Counter[str] = field(default_factory=Counter)


class Framework:
    def __init__(
        self,
        filters: Sequence[FilterPlugin],
        scores: Sequence[tuple[ScorePlugin, int]],
        percentage_of_nodes_to_score: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.filters = list(filters)
        self.scores = [(p, w) for p, w in scores if w > 0]
        self.percentage = percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self.next_start = 0

    def run_filters(self, state: CycleState) -> Codes:
        """Each node's status: the first rejecting plugin's code, 0 if none, -1 dead."""
        size = state.size
        codes = np.where(state.nodes.live[:size], 0, DEAD).astype(np.int32)
        for plugin in self.filters:
            result = plugin.filter(state)
            if result is None:
                continue
            np.copyto(codes, result, where=(codes == 0) & (result != 0))
        return codes

    def pick_feasible(self, codes: Codes, num_nodes: int) -> Slots:
        """Up to ``numFeasibleNodesToFind`` feasible slots, round-robin from the last stop."""
        feasible = np.flatnonzero(codes == 0)
        size = len(codes)
        if size == 0:
            return feasible
        start = self.next_start % size
        want = num_feasible_nodes_to_find(self.percentage, num_nodes)
        cut = int(np.searchsorted(feasible, start))
        ordered = np.concatenate((feasible[cut:], feasible[:cut]))
        if len(ordered) > want:
            ordered = ordered[:want]
            processed = (int(ordered[-1]) - start) % size + 1
        else:
            processed = size
        self.next_start = (start + processed) % size
        return ordered

    def run_scores(self, state: CycleState, nodes: Slots) -> Scores:
        total = np.zeros(len(nodes), np.int64)
        for plugin, weight in self.scores:
            s = plugin.score(state, nodes)
            if s is not None:
                total += weight * s
        return total

    def select_host(self, nodes: Slots, totals: Scores) -> int:
        """The best-scoring slot; ties broken uniformly at random (kube-scheduler
        samples ties the same way)."""
        best = np.flatnonzero(totals == totals.max())
        return int(nodes[best[self.rng.randrange(len(best))]])

    def schedule(self, state: CycleState) -> ScheduleResult:
        table = state.nodes
        if table.count == 0:
            return ScheduleResult(None)
        codes = self.run_filters(state)
        chosen = self.pick_feasible(codes, table.count)
        if len(chosen) == 0:
            return ScheduleResult(None, table.count, 0, diagnose(codes))
        if len(chosen) == 1:
            slot = int(chosen[0])
        else:
            slot = self.select_host(chosen, self.run_scores(state, chosen))
        return ScheduleResult(table.names[slot], table.count, len(chosen))


def diagnose(codes: Codes) -> Counter[str]:
    """Reason string -> nodes, over the live nodes' statuses."""
    counts: Counter[str] = Counter()
    values, freq = np.unique(codes[codes > 0], return_counts=True)
    for code, n in zip(values.tolist(), freq.tolist(), strict=True):
        for reason in REASONS.reasons(code):
            counts[reason] += n
    return counts
