"""A pod's probes: its workers, their recorded results, and what they mean for status.

The pod worker of the node agent creates one :class:`PodProbes` when a pod starts
running and stops it when the pod is torn down. It feeds each worker a snapshot of its
container (``source(container_name)``, read from the runtime's status) and gets back:

- ``on_update(ProbeUpdate)`` for each recorded change: a readiness change means a
  status write; a liveness failure (``success is False``) means "kill and restart this
  container" (:func:`kill_message` is the kubelet's event text for it); a startup
  failure (failureThreshold reached) likewise;
- ``on_event(ProbeEvent)`` for each failed run (``Unhealthy`` events);
- :meth:`ready` and :meth:`started` when it builds the container statuses: None means
  "no probe of that kind" (a running container is then ready / started).

Results are kept per container ID, so a restarted container starts from the probe
type's initial value and never inherits its predecessor's readiness.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from node.probes.handlers import Prober
from node.probes.spec import ProbeSpecError, ProbeType, parse_probe
from node.probes.worker import ContainerSnapshot, ProbeEvent, ProbeUpdate, ProbeWorker

log = logging.getLogger(__name__)


def kill_message(container_name: str, probe_type: ProbeType) -> str:
    return f"Container {container_name} failed {probe_type.value.lower()} probe, will be restarted"


class PodProbes:
    def __init__(
        self,
        pod: dict[str, Any],
        prober: Prober,
        source: Callable[[str], ContainerSnapshot | None],
        on_update: Callable[[ProbeUpdate], None],
        on_event: Callable[[ProbeEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pod = pod
        self.prober = prober
        self.source = source
        self.on_update = on_update
        self.on_event = on_event
        self.clock = clock
        self.results: dict[tuple[str, ProbeType], tuple[str, bool | None]] = {}
        self.probed: set[tuple[str, ProbeType]] = set()
        self.tasks: list[asyncio.Task[None]] = []

    def workers(self) -> list[ProbeWorker]:
        spec = self.pod.get("spec") or {}
        never = spec.get("restartPolicy") == "Never"
        out = []
        for container in spec.get("containers") or []:
            name = container.get("name", "")
            for probe_type in ProbeType:
                try:
                    probe = parse_probe(probe_type, container)
                except ProbeSpecError as exc:
                    log.warning("container %s: %s probe ignored: %s", name, probe_type.value, exc)
                    continue
                if probe is None:
                    continue
                self.probed.add((name, probe_type))
                source = self._source_for(name)
                out.append(ProbeWorker(self, name, probe, self.prober, source, never, self.clock))
        return out

    def _source_for(self, name: str) -> Callable[[], ContainerSnapshot | None]:
        return lambda: self.source(name)

    def start(self) -> None:
        for worker in self.workers():
            self.tasks.append(
                asyncio.create_task(
                    worker.run(), name=f"probe-{worker.name}-{worker.spec.type.value}"
                )
            )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()

    # -- what the workers call ------------------------------------------------------

    def set_result(
        self, name: str, probe_type: ProbeType, container_id: str, value: bool | None, message: str
    ) -> None:
        key = (name, probe_type)
        if self.results.get(key) == (container_id, value):
            return
        self.results[key] = (container_id, value)
        self.on_update(ProbeUpdate(name, container_id, probe_type, value, message))

    def is_started(self, name: str, container_id: str) -> bool:
        return self.started(name, container_id) is not False

    def event(self, event: ProbeEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    # -- what the pod status asks ---------------------------------------------------

    def _result(self, name: str, probe_type: ProbeType, container_id: str) -> bool | None:
        if (name, probe_type) not in self.probed:
            return None
        cid, value = self.results.get((name, probe_type), ("", None))
        return value is True and cid == container_id

    def started(self, name: str, container_id: str) -> bool | None:
        """False until the startup probe succeeded; None when there is no startup probe."""
        return self._result(name, ProbeType.STARTUP, container_id)

    def ready(self, name: str, container_id: str) -> bool | None:
        """The readiness result (False until started); None when there is no readiness probe."""
        if self.started(name, container_id) is False:
            return False if (name, ProbeType.READINESS) in self.probed else None
        return self._result(name, ProbeType.READINESS, container_id)
