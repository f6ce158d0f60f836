"""Node health: when did this controller last hear from each node?

Two signals prove a node agent is alive: its Lease in ``kube-node-lease`` (renewed every
10 s) and its Ready condition's ``lastHeartbeatTime`` (written with each status update).
As in Kubernetes' node lifecycle controller, the *values* are never compared with this
controller's clock: a change of either value is what counts, and the local time of the
observation becomes the probe timestamp. A node whose agent's clock is skewed is
therefore judged correctly.

:class:`HealthTracker` keeps that per-node record; :func:`mark_unknown` is what the
controller writes once the grace period has passed without a probe.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.controllers.nodelifecycle.nodes import READY, condition, epoch, rfc3339

Obj = Mapping[str, Any]

# The conditions the controller sets to Unknown (NetworkUnavailable belongs to the
# network provider, as in Kubernetes).
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
REASON_UNKNOWN = "NodeStatusUnknown"
MESSAGE_UNKNOWN = "Kubelet stopped posting node status."
REASON_NEVER_UPDATED = "NodeStatusNeverUpdated"
MESSAGE_NEVER_UPDATED = "Kubelet never posted node status."


@dataclass
class _Record:
    probe: float  # local time of the last sign of life
    ready: dict[str, Any] | None  # the Ready condition last seen, as seen
    lease_renew: float | None  # the last Lease renewTime seen


def _heartbeat_changed(saved: Obj | None, current: Obj | None) -> bool:
    if saved is None or current is None:
        return saved is not current
    return saved.get("lastHeartbeatTime") != current.get("lastHeartbeatTime")


class HealthTracker:
    """Per-node probe timestamps from observed Ready heartbeats and Lease renewals."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    def observe(self, name: str, node: Obj, lease: Obj | None, now: float) -> float:
        """Record what the caches show now; return the node's probe timestamp."""
        ready = condition(node, READY)
        record = self._records.get(name)
        if record is None:
            # Never seen: a node that never reported Ready counts from its creation.
            created = epoch((node.get("metadata") or {}).get("creationTimestamp"))
            start = created if ready is None and created is not None else now
            record = self._records[name] = _Record(start, copy.deepcopy(ready), None)
        elif _heartbeat_changed(record.ready, ready):
            record.probe = now
            record.ready = copy.deepcopy(ready)
        renew = epoch(((lease or {}).get("spec") or {}).get("renewTime"))
        if renew is not None and (record.lease_renew is None or renew > record.lease_renew):
            record.lease_renew = renew
            record.probe = now
        return record.probe

    def saw_own_write(self, name: str, node: Obj) -> None:
        """Remember the Ready condition this controller wrote, so it is not taken for a
        heartbeat (the controller keeps ``lastHeartbeatTime`` as it was)."""
        record = self._records.get(name)
        if record is not None:
            record.ready = copy.deepcopy(condition(node, READY))

    def reset_probes(self, now: float) -> None:
        """Give every node a fresh grace period (leaving full disruption mode)."""
        for record in self._records.values():
            record.probe = now

    def forget(self, name: str) -> None:
        self._records.pop(name, None)

    def known(self) -> set[str]:
        return set(self._records)


def mark_unknown(node: Obj, now: float) -> list[dict[str, Any]] | None:
    """The node's conditions with the monitored ones set to Unknown (``tryUpdateNodeHealth``
    past the grace period); None when they already are."""
    result = [copy.deepcopy(c) for c in (node.get("status") or {}).get("conditions") or []]
    changed = False
    stamp = rfc3339(now)
    created = (node.get("metadata") or {}).get("creationTimestamp") or stamp
    for kind in MONITORED_CONDITIONS:
        cond = next((c for c in result if isinstance(c, dict) and c.get("type") == kind), None)
        if cond is None:
            result.append(
                {
                    "type": kind,
                    "status": "Unknown",
                    "reason": REASON_NEVER_UPDATED,
                    "message": MESSAGE_NEVER_UPDATED,
                    "lastHeartbeatTime": created,
                    "lastTransitionTime": stamp,
                }
            )
            changed = True
        elif cond.get("status") != "Unknown":
            cond.update(
                status="Unknown",
                reason=REASON_UNKNOWN,
                message=MESSAGE_UNKNOWN,
                lastTransitionTime=stamp,
            )
            changed = True
    return result if changed else None
