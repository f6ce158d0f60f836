"""One probe of one container, run periodically: kubelet's probe worker state machine.

Each tick (the first at once, then every ``periodSeconds``):

- container gone from the pod, or terminated under restartPolicy Never: the worker ends;
- container not running: readiness becomes failure (a stopped container is not ready);
- a new container ID (a restart): the result is reset to the probe type's initial
  value (readiness: not ready, liveness: healthy, startup: not started) and a hold
  from a previous failure is lifted;
- on hold (liveness or startup already failed for this container, a restart pending): skip;
- within initialDelaySeconds of the container's start: skip;
- startup gates the others: liveness and readiness run only once the container is
  started, startup stops once it is;
- otherwise probe. The result must repeat successThreshold (failureThreshold) times in a
  row before it is recorded; a recorded change goes to the owner as a
  :class:`ProbeUpdate`. A recorded liveness or startup failure puts the worker on hold.

Every failed run is also an ``Unhealthy`` event (``Readiness probe failed: ...``), as
the kubelet records it, whether or not the threshold was reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from node.probes.handlers import ProbeOutcome, Prober, Result
from node.probes.spec import ProbeSpec, ProbeType

log = logging.getLogger(__name__)

EVENT_UNHEALTHY = "Unhealthy"
EVENT_PROBE_WARNING = "ProbeWarning"

INITIAL_VALUE: dict[ProbeType, bool | None] = {
    ProbeType.READINESS: False,
    ProbeType.LIVENESS: True,
    ProbeType.STARTUP: None,  # unknown: not started
}


@dataclass(frozen=True)
class ContainerSnapshot:
    """What a worker needs to know of its container now (from the runtime's status)."""

    container_id: str  # "" until the container exists
    state: str  # "waiting" | "running" | "terminated"
    started_at: float | None = None  # epoch seconds the running state began
    pod_ip: str = ""


@dataclass(frozen=True)
class ProbeUpdate:
    """A recorded result changed: readiness -> pod status, liveness failure -> restart."""

    container_name: str
    container_id: str
    probe_type: ProbeType
    success: bool | None
    message: str = ""  # "Liveness probe failed: HTTP probe failed with statuscode: 500"


@dataclass(frozen=True)
class ProbeEvent:
    container_name: str
    event_type: str  # "Warning"
    reason: str  # "Unhealthy" | "ProbeWarning"
    message: str


class ResultSink(Protocol):
    def set_result(
        self, name: str, probe_type: ProbeType, container_id: str, value: bool | None, message: str
    ) -> None: ...

    def is_started(self, name: str, container_id: str) -> bool: ...

    def event(self, event: ProbeEvent) -> None: ...


def failure_message(probe_type: ProbeType, outcome: ProbeOutcome) -> str:
    if outcome.result is Result.UNKNOWN:
        return f"{probe_type.value} probe errored: {outcome.message}"
    return f"{probe_type.value} probe failed: {outcome.message}"


class ProbeWorker:
    def __init__(
        self,
        sink: ResultSink,
        container_name: str,
        spec: ProbeSpec,
        prober: Prober,
        source: Callable[[], ContainerSnapshot | None],
        restart_never: bool,
        clock: Callable[[], float],
    ) -> None:
        self.sink = sink
        self.name = container_name
        self.spec = spec
        self.prober = prober
        self.source = source
        self.restart_never = restart_never
        self.clock = clock
        self.container_id = ""
        self.on_hold = False
        self.last_result: bool | None = None
        self.result_run = 0

    async def run(self) -> None:
        while await self.do_probe():
            await asyncio.sleep(self.spec.period)

    def _set(self, value: bool | None, message: str = "") -> None:
        self.sink.set_result(self.name, self.spec.type, self.container_id, value, message)

    async def do_probe(self) -> bool:
        """One tick; False when the worker should end."""
        snap = self.source()
        if snap is None:
            return False
        if snap.container_id and snap.container_id != self.container_id:
            self.container_id = snap.container_id
            self._set(INITIAL_VALUE[self.spec.type])
            self.on_hold = False
            self.last_result, self.result_run = None, 0
        if snap.state != "running":
            if self.container_id and self.spec.type is ProbeType.READINESS:
                self._set(False)
            return not (snap.state == "terminated" and self.restart_never)
        if self.on_hold or not self.container_id:
            return True
        if snap.started_at is not None and self.clock() - snap.started_at < self.spec.initial_delay:
            return True
        started = self.sink.is_started(self.name, self.container_id)
        if (self.spec.type is ProbeType.STARTUP) == started:
            return True  # startup is done / the others wait for it
        outcome = await self.prober.probe(self.spec, snap.pod_ip, self.container_id)
        if self.source() is None:
            return False  # removed while probing: say nothing
        self._report(outcome)
        success = outcome.ok
        if success == self.last_result:
            self.result_run += 1
        else:
            self.last_result, self.result_run = success, 1
        threshold = self.spec.success_threshold if success else self.spec.failure_threshold
        if self.result_run < threshold:
            return True
        message = "" if success else failure_message(self.spec.type, outcome)
        self._set(success, message)
        if not success and self.spec.type in (ProbeType.LIVENESS, ProbeType.STARTUP):
            self.on_hold, self.result_run = True, 0
        return True

    def _report(self, outcome: ProbeOutcome) -> None:
        if outcome.result is Result.WARNING:
            message = f"{self.spec.type.value} probe warning: {outcome.message}"
            self.sink.event(ProbeEvent(self.name, "Warning", EVENT_PROBE_WARNING, message))
        elif not outcome.ok:
            message = failure_message(self.spec.type, outcome)
            log.debug("container %s: %s", self.name, message)
            self.sink.event(ProbeEvent(self.name, "Warning", EVENT_UNHEALTHY, message))
