"""What a controller reads off a Pod: activity, readiness, availability.

These are the predicates of ``k8s.io/kubernetes/pkg/api/v1/pod`` and
``pkg/controller`` (``IsPodActive``, ``IsPodReady``, ``IsPodAvailable``) that the
ReplicaSet, Deployment and Endpoints controllers all decide on. They work on the plain
decoded objects of the informer caches and never modify them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.api import meta

Obj = Mapping[str, Any]

SUCCEEDED = "Succeeded"
FAILED = "Failed"


def _status(pod: Obj) -> Mapping[str, Any]:
    status = pod.get("status")
    # decoded JSON is made of dicts: test for dict first, the abstract Mapping check
    # costs ten times as much and these run for every pod on every sync
    return status if isinstance(status, dict) or isinstance(status, Mapping) else {}


def pod_key(pod: Obj) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


def phase(pod: Obj) -> str:
    return str(_status(pod).get("phase") or "")


def node_name(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_terminal(pod: Obj) -> bool:
    """Succeeded or Failed: its containers will not run again."""
    return phase(pod) in (SUCCEEDED, FAILED)


def is_active(pod: Obj) -> bool:
    """``controller.IsPodActive``: not finished and not being deleted."""
    return not is_terminal(pod) and not is_terminating(pod)


def ready_condition(pod: Obj) -> Mapping[str, Any] | None:
    for cond in _status(pod).get("conditions") or ():
        if (isinstance(cond, dict) or isinstance(cond, Mapping)) and cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> float | None:
    """When a ready pod became ready (epoch seconds); None if not ready or unknown."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return timestamp(cond.get("lastTransitionTime"))


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """``podutil.IsPodAvailable``: ready for more than ``min_ready_seconds``."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    since = timestamp(cond.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds < now


def timestamp(value: Any) -> float | None:
    """An RFC 3339 timestamp as epoch seconds (None when absent or malformed)."""
    if not value:
        return None
    try:
        return meta.parse_time(str(value)).timestamp()
    except ValueError:
        return None


def created_at(obj: Obj) -> float | None:
    return timestamp((obj.get("metadata") or {}).get("creationTimestamp"))
