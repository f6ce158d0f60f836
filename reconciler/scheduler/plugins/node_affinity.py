"""NodeAffinity: ``spec.nodeSelector`` and ``nodeAffinity`` (required filter, preferred
score), as kube-scheduler's NodeAffinity plugin, which also owns nodeSelector.

Each requirement is a vector predicate on the label column of its key (interned value
ids, -1 for "no such label"): ``In`` is ``isin``, ``NotIn`` its negation (a node without
the label matches), ``Exists``/``DoesNotExist`` compare with -1, ``Gt``/``Lt`` compare the
integer value of the label. Requirements of a term are ANDed, terms are ORed, and a term
with no requirements matches no node.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from reconciler.scheduler.framework import (
    REASONS,
    Codes,
    CycleState,
    Scores,
    Slots,
    default_normalize,
)
from reconciler.scheduler.nodetable import Bools, NodeTable
from reconciler.scheduler.podinfo import NodeSelectorRequirement, NodeSelectorTerm

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
_CODE = REASONS.code(ERR_REASON_POD)


def _int_or_nan(text: str) -> float:
    try:
        return float(int(text))
    except ValueError:
        return float("nan")


def requirement_mask(table: NodeTable, req: NodeSelectorRequirement, size: int) -> Bools:
    col = table.label_cols.get(req.key)
    if col is None:
        col = np.full(size, -1, np.int32)
    else:
        col = col[:size]
    op = req.operator
    if op in ("In", "NotIn"):
        ids = [i for i in (table.values.get(v) for v in req.values) if i >= 0]
        inside = np.isin(col, ids) if ids else np.zeros(size, np.bool_)
        return inside if op == "In" else ~inside
    if op == "Exists":
        return col >= 0
    if op == "DoesNotExist":
        return col < 0
    if op in ("Gt", "Lt") and len(req.values) == 1:
        want = _int_or_nan(req.values[0])
        numbers = np.array([_int_or_nan(v) for v in table.values.items] + [np.nan], np.float64)
        have = numbers[col]  # -1 picks the trailing NaN
        with np.errstate(invalid="ignore"):
            return (have > want) if op == "Gt" else (have < want)
    return np.zeros(size, np.bool_)


def _field_mask(table: NodeTable, req: NodeSelectorRequirement, size: int) -> Bools:
    if req.key != "metadata.name" or req.operator not in ("In", "NotIn"):
        return np.zeros(size, np.bool_)
    mask = np.zeros(size, np.bool_)
    for name in req.values:
        slot = table.slot_of.get(name)
        if slot is not None:
            mask[slot] = True
    return mask if req.operator == "In" else ~mask


def term_mask(table: NodeTable, term: NodeSelectorTerm, size: int) -> Bools:
    if not term.expressions and not term.fields:
        return np.zeros(size, np.bool_)
    mask = np.ones(size, np.bool_)
    for req in term.expressions:
        mask &= requirement_mask(table, req, size)
    for req in term.fields:
        mask &= _field_mask(table, req, size)
    return mask


def selector_mask(table: NodeTable, selector: Mapping[str, str], size: int) -> Bools:
    mask = np.ones(size, np.bool_)
    for key, value in selector.items():
        col = table.label_cols.get(key)
        vid = table.values.get(value)
        if col is None or vid < 0:
            return np.zeros(size, np.bool_)
        mask &= col[:size] == vid
    return mask


def required_mask(state: CycleState) -> Bools | None:
    """Nodes matching the pod's nodeSelector and required node affinity (None: all)."""
    pod, table, size = state.pod, state.nodes, state.size
    if not pod.node_selector and pod.required_terms is None:
        return None
    cached = state.data.get(NAME)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    mask = (
        selector_mask(table, pod.node_selector, size)
        if pod.node_selector
        else np.ones(size, np.bool_)
    )
    if pod.required_terms is not None:
        any_term = np.zeros(size, np.bool_)
        for term in pod.required_terms:
            any_term |= term_mask(table, term, size)
        mask &= any_term
    state.data[NAME] = mask
    return mask


def filter(state: CycleState) -> Codes | None:
    mask = required_mask(state)
    if mask is None:
        return None
    return np.where(mask, 0, _CODE).astype(np.int32)


def score(state: CycleState, nodes: Slots) -> Scores | None:
    preferred = state.pod.preferred_terms
    if not preferred:
        return None
    raw = np.zeros(len(nodes), np.int64)
    for weight, term in preferred:
        if weight:
            raw += weight * term_mask(state.nodes, term, state.size)[nodes]
    return default_normalize(raw)
