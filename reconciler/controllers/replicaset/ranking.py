"""Which pods a ReplicaSet deletes first when it scales down.

The order is kube-controller-manager's ``ActivePodsWithRanks`` (with the
``PodDeletionCost`` and ``LogarithmicScaleDown`` behaviours, both on in Kubernetes):
the pod that hurts least to lose goes first.

1. unassigned before assigned (no ``spec.nodeName``);
2. Pending before Unknown before Running;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first;
5. pods on nodes that hold more related pods first (the *rank*: "doubled up" pods);
6. among ready pods, the more recently ready first;
7. more container restarts first (regular containers, then restartable sidecars);
8. newer creation first.

Steps 6 and 8 compare timestamps in logarithmic buckets (``floor(log2(age in ns))``),
with the pod uid breaking ties within a bucket, so pods of similar age are deleted in
a spread-out (uid) order instead of strictly newest first. A missing timestamp sorts
first, as Go's zero time does in ``afterOrZero``.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.controllers import podstate

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}

Obj = Mapping[str, Any]


def deletion_cost(pod: Obj) -> int:
    """The pod-deletion-cost annotation as an int32; invalid or absent is 0."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(DELETION_COST)
    if value is None:
        return 0
    text = str(value)
    # Go's strconv.ParseInt base 10 after upstream's first-digit check: no "+", no
    # leading zeros, no blanks.
    if not text or not (text[0] == "-" or text == "0" or "1" <= text[0] <= "9"):
        return 0
    digits = text[1:] if text[0] == "-" else text
    if not digits.isascii() or not digits.isdigit():
        return 0
    cost = int(text)
    return cost if -(2**31) <= cost < 2**31 else 0


def max_restarts(pod: Obj) -> tuple[int, int]:
    """(most restarts of a regular container, most restarts of a sidecar)."""
    status = pod.get("status") or {}
    regular = max(
        (int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ()), default=0
    )
    sidecars = {
        c.get("name")
        for c in (pod.get("spec") or {}).get("initContainers") or ()
        if c.get("restartPolicy") == "Always"
    }
    sidecar = max(
        (
            int(c.get("restartCount") or 0)
            for c in status.get("initContainerStatuses") or ()
            if c.get("name") in sidecars
        ),
        default=0,
    )
    return regular, sidecar


def _log_rank(when: float, now: float) -> int:
    age_ns = (now - when) * 1e9
    return int(math.log2(age_ns)) if age_ns > 0 else -1


def _newer_first(
    t1: float | None, t2: float | None, now: float | None, uid1: str, uid2: str
) -> bool:
    """True when timestamp ``t1`` goes before ``t2`` (which differ)."""
    if now is None or t1 is None or t2 is None:
        if t1 is None or t2 is None:
            return t1 is None
        return t1 > t2
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


@dataclass(frozen=True)
class _Ranked:
    pod: Obj
    rank: int


def _uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _less(a: _Ranked, b: _Ranked, now: float | None) -> bool:
    pa, pb = a.pod, b.pod
    na, nb = podstate.node_name(pa), podstate.node_name(pb)
    if na != nb and (not na or not nb):
        return not na
    oa, ob = _PHASE_ORDER.get(podstate.phase(pa), 0), _PHASE_ORDER.get(podstate.phase(pb), 0)
    if oa != ob:
        return oa < ob
    ra, rb = podstate.is_ready(pa), podstate.is_ready(pb)
    if ra != rb:
        return not ra
    ca, cb = deletion_cost(pa), deletion_cost(pb)
    if ca != cb:
        return ca < cb
    if a.rank != b.rank:
        return a.rank > b.rank
    if ra and rb:
        ta, tb = podstate.ready_since(pa), podstate.ready_since(pb)
        if ta != tb:
            return _newer_first(ta, tb, now, _uid(pa), _uid(pb))
    restarts_a, restarts_b = max_restarts(pa), max_restarts(pb)
    if restarts_a[0] != restarts_b[0]:
        return restarts_a[0] > restarts_b[0]
    if restarts_a[1] != restarts_b[1]:
        return restarts_a[1] > restarts_b[1]
    ta, tb = podstate.created_at(pa), podstate.created_at(pb)
    if ta != tb:
        return _newer_first(ta, tb, now, _uid(pa), _uid(pb))
    return False


def related_pods_per_node(related: Iterable[Obj]) -> Counter[str]:
    """How many active related pods each node holds (unassigned count under "")."""
    return Counter(podstate.node_name(p) for p in related if podstate.is_active(p))


def rank_for_deletion(pods: Sequence[Obj], related: Iterable[Obj], now: float | None) -> list[Obj]:
    """``pods`` in deletion order, most deletable first."""
    per_node = related_pods_per_node(related)
    ranked = [_Ranked(p, per_node[podstate.node_name(p)]) for p in pods]

    def compare(a: _Ranked, b: _Ranked) -> int:
        if _less(a, b, now):
            return -1
        if _less(b, a, now):
            return 1
        return 0

    ranked.sort(key=functools.cmp_to_key(compare))
    return [r.pod for r in ranked]


def pods_to_delete(
    pods: Sequence[Obj], related: Iterable[Obj], count: int, now: float | None
) -> list[Obj]:
    """``getPodsToDelete``: the first ``count`` pods in deletion order (no sort needed
    when all of them go)."""
    if count < len(pods):
        pods = rank_for_deletion(pods, related, now)
    return list(pods[:count])
