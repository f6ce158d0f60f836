"""InterPodAffinity: required pod affinity and anti-affinity (both directions), and the
preferred terms of the incoming pod as a score.

Every rule reduces to "the set of topology values (interned label value ids of the
term's topologyKey) that hold matching pods", found through the cache's label index
(cost: the matching pods), then one ``isin`` over the nodes' label column. With
``kubernetes.io/hostname`` that is "the nodes running a matching pod"; any other key
(zone, rack) works the same way.

Filter order and reasons are kube-scheduler's: affinity first ("didn't match pod
affinity rules"), then the pod's anti-affinity ("didn't match pod anti-affinity
rules"), then existing pods' anti-affinity against this pod ("didn't satisfy existing
pods anti-affinity rules").
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from reconciler.scheduler.framework import MAX_NODE_SCORE, REASONS, Codes, CycleState, Scores, Slots
from reconciler.scheduler.nodetable import Bools, Int32s
from reconciler.scheduler.podinfo import PodAffinityTerm, PodInfo

NAME = "InterPodAffinity"
ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_AFF = REASONS.code(ERR_AFFINITY)
_ANTI = REASONS.code(ERR_ANTI_AFFINITY)
_EXISTING = REASONS.code(ERR_EXISTING_ANTI_AFFINITY)


def _column(state: CycleState, key: str) -> Int32s:
    col = state.nodes.label_cols.get(key)
    return col[: state.size] if col is not None else np.full(state.size, -1, np.int32)


def _values_of(state: CycleState, key: str, nodes: Iterable[str]) -> list[int]:
    """Topology value ids (of ``key``) of the named nodes that carry that label."""
    col = state.nodes.label_cols.get(key)
    if col is None:
        return []
    out = set()
    for node in nodes:
        slot = state.nodes.slot_of.get(node)
        if slot is not None and col[slot] >= 0:
            out.add(int(col[slot]))
    return list(out)


def _matching_nodes(state: CycleState, term: PodAffinityTerm) -> Iterable[str]:
    return (node for _, node in state.cache.matching(term.selector, term.namespaces))


def _existing_anti_affinity(state: CycleState) -> Bools:
    fail = np.zeros(state.size, np.bool_)
    pod = state.pod
    for other in state.cache.with_anti_affinity.values():
        node = state.cache.node_of(other.key)
        if node is None:
            continue
        for term in other.anti_affinity:
            if term.matches(pod):
                values = _values_of(state, term.topology_key, (node,))
                if values:
                    fail |= _column(state, term.topology_key) == values[0]
    return fail


def _anti_affinity(state: CycleState) -> Bools:
    fail = np.zeros(state.size, np.bool_)
    for term in state.pod.anti_affinity:
        values = _values_of(state, term.topology_key, _matching_nodes(state, term))
        if values:
            fail |= np.isin(_column(state, term.topology_key), values)
    return fail


def _matches_all(terms: tuple[PodAffinityTerm, ...], pod: PodInfo) -> bool:
    return all(t.matches(pod) for t in terms)


def _affinity(state: CycleState) -> Bools:
    terms = state.pod.affinity
    # Pods matching *all* terms count (kube-scheduler's affinityCounts).
    first = terms[0]
    nodes = [
        node
        for pod, node in state.cache.matching(first.selector, first.namespaces)
        if _matches_all(terms, pod)
    ]
    has_keys = np.ones(state.size, np.bool_)
    for term in terms:
        has_keys &= _column(state, term.topology_key) >= 0
    if not nodes:
        # The first pod of a group with affinity to itself may go anywhere it has keys.
        return has_keys if _matches_all(terms, state.pod) else np.zeros(state.size, np.bool_)
    ok = has_keys
    for term in terms:
        ok &= np.isin(
            _column(state, term.topology_key), _values_of(state, term.topology_key, nodes)
        )
    return ok


def filter(state: CycleState) -> Codes | None:
    pod = state.pod
    if not pod.affinity and not pod.anti_affinity and not state.cache.with_anti_affinity:
        return None
    codes = state.passing()
    if state.cache.with_anti_affinity:
        codes[_existing_anti_affinity(state)] = _EXISTING
    if pod.anti_affinity:
        codes[_anti_affinity(state)] = _ANTI
    if pod.affinity:
        codes[~_affinity(state)] = _AFF
    return codes


def score(state: CycleState, nodes: Slots) -> Scores | None:
    pod = state.pod
    if not pod.preferred_affinity and not pod.preferred_anti_affinity:
        return None
    raw = np.zeros(state.size, np.int64)
    for sign, terms in ((1, pod.preferred_affinity), (-1, pod.preferred_anti_affinity)):
        for term in terms:
            col = _column(state, term.topology_key)
            counts: dict[int, int] = {}
            for _, node in state.cache.matching(term.selector, term.namespaces):
                for v in _values_of(state, term.topology_key, (node,)):
                    counts[v] = counts.get(v, 0) + 1
            for value, n in counts.items():
                raw[col == value] += sign * term.weight * n
    picked = raw[nodes]
    low, high = int(picked.min()), int(picked.max())
    if high == low:
        return None
    return (MAX_NODE_SCORE * (picked - low) // (high - low)).astype(np.int64)
