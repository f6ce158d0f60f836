"""Deletion as Kubernetes does it: preconditions, graceful pod deletion, finalizers.

A DELETE either removes the object at once, or marks it (``deletionTimestamp``) and
keeps it while something still has work to do:
- finalizers: ``orphan`` (propagationPolicy Orphan) and ``foregroundDeletion``
  (Foreground) are added here; the garbage collector removes them; any other finalizer
  is some controller's;
- a pod bound to a node gets its grace period: the node agent stops it, then confirms
  with a DELETE with ``gracePeriodSeconds=0`` (and a uid precondition), as the kubelet
  does; a pod never bound to a node, or already finished, goes at once;
- a namespace keeps its ``spec.finalizers`` (``kubernetes``) until the namespace
  controller has emptied it.
An update that clears the last finalizer of a marked object removes it (:func:`finished`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from kctl.api import errors
from kctl.api.kinds import ResourceInfo

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
DEFAULT_POD_GRACE = 30
# Kinds whose immediate DELETE answers with the deleted object instead of a Status.
RETURNS_DELETED_OBJECT = frozenset({"pods", "services"})


@dataclass
class DeleteOptions:
    grace_period: int | None = None
    propagation: str | None = None
    preconditions_uid: str = ""
    preconditions_rv: str = ""


def parse_options(body: bytes, query: dict[str, str]) -> DeleteOptions:
    raw: dict[str, Any] = {}
    if body.strip():
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.BadRequest(f"the DeleteOptions body is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise errors.BadRequest("the DeleteOptions body must be an object")
    options = DeleteOptions()
    grace = query.get("gracePeriodSeconds", raw.get("gracePeriodSeconds"))
    if grace is not None and grace != "":
        try:
            options.grace_period = max(0, int(grace))
        except (TypeError, ValueError):
            raise errors.BadRequest(f"gracePeriodSeconds must be an integer: {grace!r}") from None
    propagation = query.get("propagationPolicy") or raw.get("propagationPolicy")
    if raw.get("orphanDependents") is True or query.get("orphanDependents") == "true":
        propagation = propagation or "Orphan"
    if propagation and propagation not in ("Orphan", "Background", "Foreground"):
        raise errors.BadRequest(
            f'propagationPolicy must be one of "Orphan", "Background", "Foreground", not {propagation!r}'
        )
    options.propagation = propagation
    pre = raw.get("preconditions") or {}
    if isinstance(pre, dict):
        options.preconditions_uid = str(pre.get("uid") or "")
        options.preconditions_rv = str(pre.get("resourceVersion") or "")
    return options


@dataclass
class Plan:
    """What a DELETE does: ``keep`` the (marked) ``obj``, or remove it with ``obj`` as its
    last state."""

    keep: bool
    obj: dict[str, Any]


def plan(info: ResourceInfo, current: dict[str, Any], options: DeleteOptions, now: str) -> Plan:
    md = current.get("metadata", {})
    name = str(md.get("name", ""))
    if options.preconditions_uid and options.preconditions_uid != md.get("uid"):
        raise errors.conflict(
            info.plural,
            info.group,
            name,
            f"Precondition failed: UID in precondition: {options.preconditions_uid}, "
            f"UID in object meta: {md.get('uid')}",
        )
    if options.preconditions_rv and options.preconditions_rv != md.get("resourceVersion"):
        raise errors.conflict(
            info.plural,
            info.group,
            name,
            f"Precondition failed: ResourceVersion in precondition: {options.preconditions_rv}, "
            f"ResourceVersion in object meta: {md.get('resourceVersion')}",
        )
    obj = orjson.loads(orjson.dumps(current))
    omd = obj["metadata"]
    finalizers = list(omd.get("finalizers") or [])
    if options.propagation == "Orphan" and ORPHAN not in finalizers:
        finalizers.append(ORPHAN)
    elif options.propagation == "Foreground" and FOREGROUND not in finalizers:
        finalizers.append(FOREGROUND)
    if finalizers:
        omd["finalizers"] = finalizers

    grace = _grace_period(info, obj, options)
    already = bool(omd.get("deletionTimestamp"))
    if info.resource == "namespaces":
        if obj.get("spec", {}).get("finalizers") or finalizers:
            if not already:
                omd["deletionTimestamp"] = now
                omd["deletionGracePeriodSeconds"] = 0
            obj.setdefault("status", {})["phase"] = "Terminating"
            return Plan(True, obj)
        return Plan(False, obj)

    if already:
        current_grace = int(omd.get("deletionGracePeriodSeconds") or 0)
        if grace < current_grace:  # a shorter grace period replaces a longer one
            omd["deletionGracePeriodSeconds"] = grace
            omd["deletionTimestamp"] = _after(now, grace)
        if finalizers or int(omd.get("deletionGracePeriodSeconds") or 0) > 0:
            return Plan(True, obj)
        return Plan(False, obj)
    if finalizers or grace > 0:
        omd["deletionTimestamp"] = _after(now, grace)
        omd["deletionGracePeriodSeconds"] = grace
        return Plan(True, obj)
    return Plan(False, obj)


def _grace_period(info: ResourceInfo, obj: dict[str, Any], options: DeleteOptions) -> int:
    if info.resource != "pods":
        return 0
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0  # never bound to a node, or finished: nothing to stop
    if options.grace_period is not None:
        return options.grace_period
    return int(spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE) or 0)


def _after(now: str, seconds: int) -> str:
    if not seconds:
        return now
    base = datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def finished(obj: dict[str, Any]) -> bool:
    """A marked object with nothing left to wait for: the write that got it there removes it."""
    md = obj.get("metadata", {})
    if not md.get("deletionTimestamp") or md.get("finalizers"):
        return False
    if obj.get("kind") == "Namespace" and obj.get("spec", {}).get("finalizers"):
        return False
    return not int(md.get("deletionGracePeriodSeconds") or 0)


def success_status(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata", {})
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": md.get("name"),
            "group": info.group,
            "kind": info.plural,
            "uid": md.get("uid"),
        },
    }
