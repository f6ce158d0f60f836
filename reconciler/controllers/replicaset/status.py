"""A ReplicaSet's status, computed from the pods it owns.

``calculateStatus`` of kube-controller-manager: ``replicas`` counts the active owned
pods, ``fullyLabeledReplicas`` those that carry every template label,
``readyReplicas`` the Ready ones, ``availableReplicas`` those Ready for longer than
``minReadySeconds``. A failed create or delete sets the ``ReplicaFailure`` condition
(reason ``FailedCreate``/``FailedDelete``, the error as message); the next clean sync
removes it. ``observedGeneration`` is stamped when the status is written.

The status is written only when one of these fields differs, so a resync of an
unchanged ReplicaSet costs no request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.controllers import podstate

REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE = "FailedCreate"
FAILED_DELETE = "FailedDelete"

AVAILABILITY_MARGIN = 0.05  # seconds past the moment a pod becomes available
_COUNTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")

Obj = Mapping[str, Any]


def spec_replicas(rs: Obj) -> int:
    value = (rs.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def min_ready_seconds(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("minReadySeconds") or 0)


def _format_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(status: Obj, cond_type: str) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def calculate_status(
    rs: Obj, pods: Sequence[Obj], manage_error: str | None, now: float
) -> dict[str, Any]:
    """The new ``status`` for ``rs`` owning the active ``pods``; ``manage_error`` is the
    message of the create/delete failure of this sync, if any."""
    old: Mapping[str, Any] = rs.get("status") or {}
    status: dict[str, Any] = {k: v for k, v in old.items() if k != "conditions"}
    conditions = [dict(c) for c in old.get("conditions") or ()]
    template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get(
        "labels"
    ) or {}
    min_ready = min_ready_seconds(rs)
    fully_labeled = ready = available = 0
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        if podstate.is_available(pod, min_ready, now):
            ready += 1
            available += 1
        elif podstate.is_ready(pod):
            ready += 1

    failure = get_condition(old, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(pods) - spec_replicas(rs)
        reason = FAILED_CREATE if diff < 0 else FAILED_DELETE if diff > 0 else ""
        conditions.append(
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": _format_time(now),
                "reason": reason,
                "message": manage_error,
            }
        )
    elif manage_error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]

    status.update(
        replicas=len(pods),
        fullyLabeledReplicas=fully_labeled,
        readyReplicas=ready,
        availableReplicas=available,
    )
    if conditions:
        status["conditions"] = conditions
    return status


def needs_update(rs: Obj, status: Obj) -> bool:
    """True unless the counts, the conditions and observedGeneration are all current."""
    old: Mapping[str, Any] = rs.get("status") or {}
    if any(int(old.get(k) or 0) != int(status.get(k) or 0) for k in _COUNTS):
        return True
    generation = (rs.get("metadata") or {}).get("generation")
    if int(old.get("observedGeneration") or 0) != int(generation or 0):
        return True
    return list(old.get("conditions") or ()) != list(status.get("conditions") or ())


def next_available_in(rs: Obj, pods: Sequence[Obj], now: float) -> float | None:
    """Seconds until the next ready pod becomes available, if one is waiting out
    ``minReadySeconds`` (so the controller can look again at that moment)."""
    min_ready = min_ready_seconds(rs)
    if min_ready <= 0:
        return None
    waits = []
    for pod in pods:
        since = podstate.ready_since(pod)
        if since is not None and not podstate.is_available(pod, min_ready, now):
            waits.append(max(0.0, since + min_ready - now))
    if not waits:
        return None
    # availability is strictly "ready since + minReadySeconds < now": look just after
    return min(waits) + AVAILABILITY_MARGIN
