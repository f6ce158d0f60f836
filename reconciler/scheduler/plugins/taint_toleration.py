"""TaintToleration: filter on untolerated NoSchedule/NoExecute taints; score against
untolerated PreferNoSchedule taints (fewer is better).

Taints are interned cluster-wide, so the pod's tolerations are checked once per
distinct taint, not once per node; the (node x taint) position matrix then gives every
node's *first* untolerated taint -- the one kube-scheduler names in its reason -- with
one ``argmin``.
"""

from __future__ import annotations

import numpy as np

from reconciler.scheduler.framework import (
    REASONS,
    Codes,
    CycleState,
    Scores,
    Slots,
    default_normalize,
)
from reconciler.scheduler.nodetable import HARD_EFFECTS, PREFER_NO_SCHEDULE
from reconciler.scheduler.podinfo import Toleration, tolerated

NAME = "TaintToleration"
_NOT_THERE = np.iinfo(np.int16).max


def reason(key: str, value: str) -> str:
    return f"node(s) had untolerated taint {{{key}: {value}}}"


def untolerated(
    state: CycleState, effects: tuple[str, ...], tolerations: tuple[Toleration, ...]
) -> list[int]:
    return [
        tid
        for tid, (key, value, effect) in enumerate(state.nodes.taints.items)
        if effect in effects and not tolerated(tolerations, key, value, effect)
    ]


def filter(state: CycleState) -> Codes | None:
    ids = untolerated(state, HARD_EFFECTS, state.pod.tolerations)
    if not ids:
        return None
    pos = state.nodes.taint_pos[: state.size, ids]
    present = pos > 0
    tainted = present.any(axis=1)
    if not tainted.any():
        return None
    first = np.where(present, pos, _NOT_THERE).argmin(axis=1)
    taints = state.nodes.taints.items
    codes = np.array([REASONS.code(reason(taints[t][0], taints[t][1])) for t in ids], np.int32)
    return np.where(tainted, codes[first], 0).astype(np.int32)


def score(state: CycleState, nodes: Slots) -> Scores | None:
    soft = tuple(t for t in state.pod.tolerations if t.effect in ("", PREFER_NO_SCHEDULE))
    ids = untolerated(state, (PREFER_NO_SCHEDULE,), soft)
    if not ids:
        return None
    counts = (state.nodes.taint_pos[np.ix_(nodes, np.asarray(ids, np.intp))] > 0).sum(axis=1)
    return default_normalize(counts, reverse=True)
