"""A Deployment's status, computed from its ReplicaSets, and the progress check.

``calculate_status`` is ``calculateStatus``: counts summed over the ReplicaSets
(``replicas`` from their status, ``updatedReplicas`` from the new one's,
``unavailableReplicas`` = sum of spec.replicas - available, never negative) and the
Available condition (MinimumReplicasAvailable when available >= replicas -
maxUnavailable). ``rollout_status`` adds what ``syncRolloutStatus`` adds during a
rollout: the Progressing condition (complete, progressing, or timed out against the
deadline) and the ReplicaFailure condition lifted from a ReplicaSet.

Counts of 0 are left out, as Go's ``omitempty`` leaves them out, and comparisons treat
absent and 0 alike (``collisionCount`` excepted: it is a pointer in Go), so an
unchanged Deployment costs no write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.controllers.deployment import conditions as cond
from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment.fenceposts import max_unavailable

Obj = Mapping[str, Any]

PROGRESS_REQUEUE_MARGIN = 1.0  # seconds: AddAfter's millisecond skew, as upstream
_COUNTS = (
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


def calculate_status(
    all_rss: Sequence[Obj | None], new_rs: Obj | None, d: Obj, now: float
) -> dict[str, Any]:
    """``calculateStatus``."""
    available = rsutil.available_replica_count(all_rss)
    unavailable = max(0, rsutil.replica_count(all_rss) - available)
    old: Obj = d.get("status") or {}
    counts = {
        "observedGeneration": int((d.get("metadata") or {}).get("generation") or 0),
        "replicas": rsutil.actual_replica_count(all_rss),
        "updatedReplicas": rsutil.actual_replica_count([new_rs]),
        "readyReplicas": rsutil.ready_replica_count(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    status: dict[str, Any] = {k: v for k, v in counts.items() if v}
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if available >= rsutil.spec_replicas(d) - max_unavailable(d):
        condition = cond.new_condition(
            cond.AVAILABLE,
            "True",
            cond.MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.",
            now,
        )
    else:
        condition = cond.new_condition(
            cond.AVAILABLE,
            "False",
            cond.MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    cond.set_condition(status, condition)
    return status


def _replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[dict[str, Any]]:
    """``getReplicaFailures``: the new ReplicaSet's failures first, else any old one's."""

    def failures(rss: Sequence[Obj | None]) -> list[dict[str, Any]]:
        return [
            cond.rs_to_deployment_condition(c)
            for rs in rss
            if rs is not None
            for c in (rs.get("status") or {}).get("conditions") or ()
            if c.get("type") == cond.REPLICA_FAILURE
        ]

    return failures([new_rs]) or failures(all_rss)


def _progress_message(d: Obj, new_rs: Obj | None, what: str) -> str:
    if new_rs is not None:
        return f'ReplicaSet "{rsutil.name_of(new_rs)}" {what}'
    return f'Deployment "{rsutil.name_of(d)}" {what}'


def rollout_status(
    all_rss: Sequence[Obj | None], new_rs: Obj | None, d: Obj, now: float
) -> dict[str, Any]:
    """The status ``syncRolloutStatus`` writes."""
    status = calculate_status(all_rss, new_rs, d, now)
    if not cond.has_progress_deadline(d):
        cond.remove_condition(status, cond.PROGRESSING)
    current = cond.get_condition(d.get("status") or {}, cond.PROGRESSING)
    complete = (
        status.get("replicas", 0) == status.get("updatedReplicas", 0)
        and current is not None
        and current.get("reason") == cond.NEW_RS_AVAILABLE_REASON
    )
    if cond.has_progress_deadline(d) and not complete:
        if cond.deployment_complete(d, status):
            cond.set_condition(
                status,
                cond.new_condition(
                    cond.PROGRESSING,
                    "True",
                    cond.NEW_RS_AVAILABLE_REASON,
                    _progress_message(d, new_rs, "has successfully progressed."),
                    now,
                ),
            )
        elif cond.deployment_progressing(d, status):
            condition = cond.new_condition(
                cond.PROGRESSING,
                "True",
                cond.REPLICA_SET_UPDATED_REASON,
                _progress_message(d, new_rs, "is progressing."),
                now,
            )
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                cond.remove_condition(status, cond.PROGRESSING)
            cond.set_condition(status, condition)
        elif cond.deployment_timed_out(d, status, now):
            cond.set_condition(
                status,
                cond.new_condition(
                    cond.PROGRESSING,
                    "False",
                    cond.TIMED_OUT_REASON,
                    _progress_message(d, new_rs, "has timed out progressing."),
                    now,
                ),
            )
    failures = _replica_failures(all_rss, new_rs)
    if failures:
        cond.set_condition(status, failures[0])
    else:
        cond.remove_condition(status, cond.REPLICA_FAILURE)
    return status


def _comparable(status: Obj) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(status.get(k) or 0) for k in _COUNTS}
    out["collisionCount"] = status.get("collisionCount")
    out["conditions"] = list(status.get("conditions") or ())
    return out


def status_equal(a: Obj, b: Obj) -> bool:
    """``reflect.DeepEqual`` of two DeploymentStatus values decoded from JSON."""
    return _comparable(a) == _comparable(b)


def progress_check_in(d: Obj, new_status: Obj, now: float) -> float | None:
    """``requeueStuckDeployment``: seconds until the progress deadline should be
    checked again (0: now, rate limited), or None when no check is needed."""
    deadline = cond.progress_deadline(d)
    current = cond.get_condition(d.get("status") or {}, cond.PROGRESSING)
    if deadline is None or current is None:
        return None
    if cond.deployment_complete(d, new_status) or current.get("reason") == cond.TIMED_OUT_REASON:
        return None
    since = cond.parse_timestamp(current.get("lastUpdateTime"))
    if since is None:
        return None
    after = since + deadline - now
    if after < 1.0:
        return 0.0
    return after + PROGRESS_REQUEUE_MARGIN
