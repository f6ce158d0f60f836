"""The ``endpoints.kubernetes.io/last-change-trigger-time`` annotation.

Kubernetes' ``TriggerTimeTracker``: the annotation says when the change that caused
an Endpoints update happened, so the network programming latency (trigger to rules
in place) can be measured end to end. A pod's trigger is the last transition of its
Ready condition, a Service's its creation. Per Service the tracker remembers the
trigger times seen at the previous sync; the annotation is the earliest one that
moved since (or the Service's creation on its first sync), and absent if none moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.controllers import podstate

ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"


@dataclass
class _State:
    pods: dict[str, float] = field(default_factory=dict)
    service: float | None = None


def _later(value: float | None, than: float | None) -> bool:
    return value is not None and (than is None or value > than)


class TriggerTimeTracker:
    def __init__(self) -> None:
        self._states: dict[tuple[str, str], _State] = {}

    def compute(
        self, namespace: str, service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]
    ) -> float | None:
        """The trigger time for this sync of ``service`` (epoch seconds) or None."""
        name = str((service.get("metadata") or {}).get("name") or "")
        key = (namespace, name)
        state = self._states.get(key)
        known = state is not None
        previous = state or _State()
        earliest: float | None = None
        seen: dict[str, float] = {}
        for pod in pods:
            cond = podstate.ready_condition(pod)
            when = podstate.timestamp(cond.get("lastTransitionTime")) if cond else None
            if when is None:
                continue
            pod_name = str((pod.get("metadata") or {}).get("name") or "")
            seen[pod_name] = when
            if _later(when, previous.pods.get(pod_name)) and (earliest is None or when < earliest):
                earliest = when
        service_time = podstate.created_at(service)
        if _later(service_time, previous.service) and (
            earliest is None or (service_time or 0) < earliest
        ):
            earliest = service_time
        self._states[key] = _State(seen, service_time)
        if not known:
            return service_time
        return earliest

    def delete(self, namespace: str, name: str) -> None:
        self._states.pop((namespace, name), None)


def format_trigger_time(when: float) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed (Go's ``time.RFC3339Nano``)."""
    moment = datetime.fromtimestamp(when, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
