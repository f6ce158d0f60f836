"""PodTopologySpread: ``topologySpreadConstraints`` over any topology key (hostname,
zone, ...). DoNotSchedule constraints filter, ScheduleAnyway constraints score.

Matching pods are counted per topology value with one ``bincount`` over interned value
ids, only on nodes that qualify as domains (carry every constraint's key, and match the
pod's node affinity when ``nodeAffinityPolicy`` is Honor). A node fails when it lacks a
key ("missing required label") or when placing the pod there would make
``count + self - min`` exceed ``maxSkew`` (``min`` is 0 while fewer than ``minDomains``
domains exist). The score follows kube-scheduler: ``count * log(domains + 2) + maxSkew -
1`` summed over constraints, inverted so that emptier domains score higher.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from reconciler.scheduler.framework import MAX_NODE_SCORE, REASONS, Codes, CycleState, Scores, Slots
from reconciler.scheduler.nodetable import HARD_EFFECTS, Bools, Int32s
from reconciler.scheduler.plugins import node_affinity, taint_toleration
from reconciler.scheduler.podinfo import SpreadConstraint

NAME = "PodTopologySpread"
ERR_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
_SKEW = REASONS.code(ERR_CONSTRAINTS)
_MISSING = REASONS.code(ERR_MISSING_LABEL)


def _column(state: CycleState, key: str) -> Int32s:
    col = state.nodes.label_cols.get(key)
    return col[: state.size] if col is not None else np.full(state.size, -1, np.int32)


def _has_keys(state: CycleState, constraints: tuple[SpreadConstraint, ...]) -> Bools:
    ok = state.nodes.live[: state.size].copy()
    for c in constraints:
        ok &= _column(state, c.topology_key) >= 0
    return ok


def _domains(state: CycleState, c: SpreadConstraint, has_keys: Bools) -> Bools:
    """Nodes whose pods count for ``c``."""
    ok = has_keys.copy()
    if c.honor_node_affinity:
        affinity = node_affinity.required_mask(state)
        if affinity is not None:
            ok &= affinity
    if c.honor_taints:
        ids = taint_toleration.untolerated(state, HARD_EFFECTS, state.pod.tolerations)
        if ids:
            ok &= ~(state.nodes.taint_pos[: state.size, ids] > 0).any(axis=1)
    return ok


def _counts(state: CycleState, c: SpreadConstraint, counted: Bools) -> npt.NDArray[np.int64]:
    """Matching pods per topology value id, over the ``counted`` nodes."""
    col = _column(state, c.topology_key)
    slot_of = state.nodes.slot_of
    values = []
    namespaces = frozenset((state.pod.namespace,))
    for pod, node in state.cache.matching(c.selector, namespaces):
        slot = slot_of.get(node)
        if slot is not None and not pod.deleting and counted[slot]:
            values.append(col[slot])
    return np.bincount(np.array(values, np.int64), minlength=len(state.nodes.values) + 1)


def filter(state: CycleState) -> Codes | None:
    hard = tuple(c for c in state.pod.spread if c.hard)
    if not hard:
        return None
    has_keys = _has_keys(state, hard)
    codes = np.where(has_keys, 0, _MISSING).astype(np.int32)
    for c in hard:
        domains = _domains(state, c, has_keys)
        counts = _counts(state, c, domains)
        col = _column(state, c.topology_key)
        present = np.unique(col[domains])
        min_match = int(counts[present].min()) if len(present) else 0
        if len(present) < c.min_domains:
            min_match = 0
        self_match = 1 if c.selector.matches(state.pod.labels) else 0
        skew = counts[np.where(col >= 0, col, 0)] + self_match - min_match
        codes[(codes == 0) & has_keys & (skew > c.max_skew)] = _SKEW
    return codes


def score(state: CycleState, nodes: Slots) -> Scores | None:
    soft = tuple(c for c in state.pod.spread if not c.hard)
    if not soft:
        return None
    has_keys = _has_keys(state, soft)
    scored = has_keys[nodes]
    raw = np.zeros(len(nodes), np.float64)
    for c in soft:
        col = _column(state, c.topology_key)
        counts = _counts(state, c, _domains(state, c, has_keys))
        picked = col[nodes]
        size = len(nodes) if c.topology_key == HOSTNAME else len(np.unique(picked[picked >= 0]))
        weight = math.log(size + 2)
        raw += np.where(
            picked >= 0, counts[np.where(picked >= 0, picked, 0)] * weight + (c.max_skew - 1), 0.0
        )
    rounded = np.round(raw).astype(np.int64)
    if not scored.any():
        return np.zeros(len(nodes), np.int64)
    low, high = int(rounded[scored].min()), int(rounded[scored].max())
    if high == 0:
        return np.where(scored, MAX_NODE_SCORE, 0).astype(np.int64)
    return np.where(scored, MAX_NODE_SCORE * (high + low - rounded) // high, 0).astype(np.int64)
