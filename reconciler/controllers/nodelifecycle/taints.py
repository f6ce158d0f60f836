"""Taints and tolerations: which taints a node should carry and when a pod must go.

Pure functions, so every rule is table-tested without a cluster:

* :func:`condition_taints` is TaintNodesByCondition: each node condition maps to a
  NoSchedule taint (Ready=False -> not-ready, Ready=Unknown -> unreachable, pressure
  conditions True -> their taint, ``spec.unschedulable`` -> unschedulable). Only the
  taints of those keys are managed; other NoSchedule taints are the user's.
* :func:`swap_taints` adds and removes taints matched by key and effect, stamping
  ``timeAdded`` on the added ones (``SwapNodeControllerTaint``).
* :func:`eviction_time` is the taint eviction rule: a pod that does not tolerate every
  NoExecute taint goes now; otherwise it may stay until the smallest
  ``tolerationSeconds`` of the tolerations used runs out. The time counts from the
  taint's ``timeAdded`` (so a restarted controller does not grant a pod a fresh
  period), falling back to the moment of observation when the taint has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.controllers.nodelifecycle.nodes import conditions, epoch, rfc3339

Obj = Mapping[str, Any]
Taint = dict[str, Any]

NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

NOT_READY_NO_EXECUTE: Taint = {"key": NOT_READY, "effect": NO_EXECUTE}
UNREACHABLE_NO_EXECUTE: Taint = {"key": UNREACHABLE, "effect": NO_EXECUTE}

# nodeConditionToTaintKeyStatusMap: condition type -> status -> taint key.
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
_CONDITION_TAINT_KEYS = frozenset(
    key for by_status in CONDITION_TAINTS.values() for key in by_status.values()
)


def node_taints(node: Obj) -> list[Taint]:
    found = (node.get("spec") or {}).get("taints") or []
    return [t for t in found if isinstance(t, dict)]


def matches(a: Obj, b: Obj) -> bool:
    """``Taint.MatchTaint``: same key and effect."""
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


def has_taint(taints: Iterable[Obj], template: Obj) -> bool:
    return any(matches(t, template) for t in taints)


def condition_taints(node: Obj) -> list[Taint]:
    """The NoSchedule taints the node's conditions and ``spec.unschedulable`` call for."""
    wanted: list[Taint] = []
    for cond in conditions(node):
        key = CONDITION_TAINTS.get(str(cond.get("type")), {}).get(str(cond.get("status")))
        if key:
            wanted.append({"key": key, "effect": NO_SCHEDULE})
    if (node.get("spec") or {}).get("unschedulable") is True:
        wanted.append({"key": UNSCHEDULABLE, "effect": NO_SCHEDULE})
    return wanted


def condition_taint_diff(node: Obj) -> tuple[list[Taint], list[Taint]]:
    """(taints to add, taints to remove) to bring the managed NoSchedule taints in line."""
    wanted = condition_taints(node)
    managed = [
        t
        for t in node_taints(node)
        if t.get("effect") == NO_SCHEDULE
        and (t.get("key") == UNSCHEDULABLE or t.get("key") in _CONDITION_TAINT_KEYS)
    ]
    to_add = [t for t in wanted if not has_taint(managed, t)]
    to_remove = [t for t in managed if not has_taint(wanted, t)]
    return to_add, to_remove


def swap_taints(
    taints: list[Taint], add: Iterable[Obj], remove: Iterable[Obj], now: float
) -> list[Taint] | None:
    """``taints`` with ``remove`` gone and ``add`` present (stamped ``timeAdded``);
    None when that changes nothing (a taint already present keeps its ``timeAdded``)."""
    remove = list(remove)
    result = [t for t in taints if not has_taint(remove, t)]
    for taint in add:
        if has_taint(result, taint):
            continue
        result.append({**taint, "timeAdded": rfc3339(now)})
    return None if result == taints else result


# --- tolerations -------------------------------------------------------------------


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """``Toleration.ToleratesTaint``."""
    effect, key = toleration.get("effect"), toleration.get("key")
    if effect and effect != taint.get("effect"):
        return False
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def no_execute_taints(node: Obj) -> list[Taint]:
    return [t for t in node_taints(node) if t.get("effect") == NO_EXECUTE]


def eviction_time(taints: Iterable[Obj], tolerations: Iterable[Obj], now: float) -> float | None:
    """When a pod with ``tolerations`` must leave a node with NoExecute ``taints``:
    ``now`` if some taint is not tolerated, None if it may stay for ever, else the
    earliest (taint timeAdded + tolerationSeconds) over the tolerations used."""
    tolerations = [t for t in tolerations if isinstance(t, Mapping)]
    deadline: float | None = None
    for taint in taints:
        used = next((t for t in tolerations if tolerates(t, taint)), None)
        if used is None:
            return now
        seconds = used.get("tolerationSeconds")
        if seconds is None:
            continue
        if int(seconds) <= 0:
            return now
        added = epoch(taint.get("timeAdded"))
        due = (now if added is None else added) + int(seconds)
        deadline = due if deadline is None else min(deadline, due)
    return deadline
