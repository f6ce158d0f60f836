"""Deployment conditions: Progressing, Available, ReplicaFailure.

These are ``deploymentutil``'s condition helpers with Kubernetes' reasons and messages
verbatim, since ``kubectl rollout status`` and people read them. ``set_condition`` keeps
the current condition when status and reason are unchanged and keeps
``lastTransitionTime`` when only the reason changes; a new condition goes last.

The progress deadline is measured from the Progressing condition's
``lastUpdateTime``: a rollout that shows no progress for ``progressDeadlineSeconds``
gets ``ProgressDeadlineExceeded``; ``2147483647`` (MaxInt32) disables the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from kctl.api.meta import parse_time
from reconciler.controllers.deployment.replicasets import spec_replicas

PROGRESSING = "Progressing"
AVAILABLE = "Available"
REPLICA_FAILURE = "ReplicaFailure"

# reasons (pkg/controller/deployment/util)
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
REPLICA_SET_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"

MAX_INT32 = 2**31 - 1

Obj = Mapping[str, Any]
Status = MutableMapping[str, Any]


def format_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parse_time(value).timestamp()
    except ValueError:
        return None


def new_condition(
    cond_type: str, status: str, reason: str, message: str, now: float
) -> dict[str, Any]:
    stamp = format_time(now)
    return {
        "type": cond_type,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Obj, cond_type: str) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def set_condition(status: Status, condition: dict[str, Any]) -> None:
    """``SetDeploymentCondition``."""
    current = get_condition(status, condition["type"])
    if (
        current is not None
        and current.get("status") == condition["status"]
        and current.get("reason") == condition["reason"]
    ):
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    others = [c for c in status.get("conditions") or () if c.get("type") != condition["type"]]
    status["conditions"] = [*others, condition]


def remove_condition(status: Status, cond_type: str) -> None:
    """``RemoveDeploymentCondition``."""
    conditions = [c for c in status.get("conditions") or () if c.get("type") != cond_type]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def rs_to_deployment_condition(cond: Obj) -> dict[str, Any]:
    """``ReplicaSetToDeploymentCondition``."""
    return {
        "type": cond.get("type"),
        "status": cond.get("status"),
        "lastUpdateTime": cond.get("lastTransitionTime"),
        "lastTransitionTime": cond.get("lastTransitionTime"),
        "reason": cond.get("reason"),
        "message": cond.get("message"),
    }


def progress_deadline(d: Obj) -> int | None:
    """``spec.progressDeadlineSeconds``, or None when there is no deadline."""
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    if value is None or int(value) == MAX_INT32:
        return None
    return int(value)


def has_progress_deadline(d: Obj) -> bool:
    return progress_deadline(d) is not None


def _count(status: Obj, field: str) -> int:
    return int(status.get(field) or 0)


def deployment_complete(d: Obj, status: Obj) -> bool:
    """``DeploymentComplete``: every replica updated and available, generation seen."""
    replicas = spec_replicas(d)
    generation = int((d.get("metadata") or {}).get("generation") or 0)
    return (
        _count(status, "updatedReplicas") == replicas
        and _count(status, "replicas") == replicas
        and _count(status, "availableReplicas") == replicas
        and _count(status, "observedGeneration") >= generation
    )


def deployment_progressing(d: Obj, status: Obj) -> bool:
    """``DeploymentProgressing``: more updated, ready or available replicas than the
    Deployment's current status says, or fewer old ones."""
    old = d.get("status") or {}
    old_old = _count(old, "replicas") - _count(old, "updatedReplicas")
    new_old = _count(status, "replicas") - _count(status, "updatedReplicas")
    return (
        _count(status, "updatedReplicas") > _count(old, "updatedReplicas")
        or new_old < old_old
        or _count(status, "readyReplicas") > _count(old, "readyReplicas")
        or _count(status, "availableReplicas") > _count(old, "availableReplicas")
    )


def deployment_timed_out(d: Obj, status: Obj, now: float) -> bool:
    """``DeploymentTimedOut``: no progress since the Progressing condition's
    lastUpdateTime for longer than the deadline."""
    deadline = progress_deadline(d)
    if deadline is None:
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_timestamp(cond.get("lastUpdateTime"))
    return since is not None and since + deadline < now
