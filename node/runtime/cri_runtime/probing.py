"""Probes of the pods a CRI runtime runs: one :class:`~node.probes.PodProbes` per pod.

The workers read their container from the snapshots the runtime's last sync left
(container ID, state, start time, pod IP), so a probe never calls CRI to find its
container; exec probes go through CRI ``ExecSync``. What they conclude comes back as
callbacks: a readiness change asks for a pod sync (a status write); a liveness or
startup failure records the container as "to be killed" and asks for a sync, where the
container is stopped and restarted under its restart policy, as the kubelet does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from node.probes import ContainerSnapshot, PodProbes, ProbeEvent, Prober, ProbeType, ProbeUpdate
from node.probes.manager import kill_message

log = logging.getLogger(__name__)


@dataclass
class PodProbeState:
    probes: PodProbes | None = None
    snapshots: dict[str, ContainerSnapshot] = field(default_factory=dict)
    to_kill: dict[str, str] = field(default_factory=dict)  # container id -> why


class ProbeRunner:
    """Starts and stops pods' probes and turns their results into sync requests."""

    def __init__(self, prober: Prober, poke: Callable[[str], None]) -> None:
        self.prober = prober
        self.poke = poke
        self.pods: dict[str, PodProbeState] = {}

    def state(self, uid: str) -> PodProbeState:
        return self.pods.setdefault(uid, PodProbeState())

    def ensure_started(self, uid: str, pod: dict[str, Any]) -> bool:
        """Start the pod's probes unless they run; True when they were just started.
        The snapshots must be filled first: a worker whose container has no snapshot
        ends at once."""
        state = self.state(uid)
        if state.probes is not None:
            return False
        name = f"{(pod.get('metadata') or {}).get('namespace')}/{(pod.get('metadata') or {}).get('name')}"
        state.probes = PodProbes(
            pod,
            self.prober,
            source=lambda container: state.snapshots.get(container),
            on_update=lambda update: self._on_update(uid, name, update),
            on_event=lambda event: _log_event(name, event),
        )
        state.probes.start()
        return True

    def _on_update(self, uid: str, pod_name: str, update: ProbeUpdate) -> None:
        log.debug(
            "pod %s: %s %s -> %s",
            pod_name,
            update.container_name,
            update.probe_type.value,
            update.success,
        )
        if update.probe_type is not ProbeType.READINESS and update.success is False:
            why = kill_message(update.container_name, update.probe_type)
            log.info("pod %s: %s (%s)", pod_name, why, update.message)
            self.state(uid).to_kill[update.container_id] = why
        self.poke(uid)

    def ready(self, uid: str, name: str, container_id: str) -> bool | None:
        state = self.pods.get(uid)
        if state is None or state.probes is None:
            return None
        return state.probes.ready(name, container_id)

    async def stop(self, uid: str) -> None:
        state = self.pods.pop(uid, None)
        if state is not None and state.probes is not None:
            await state.probes.stop()

    async def stop_all(self) -> None:
        for uid in list(self.pods):
            await self.stop(uid)


def _log_event(pod_name: str, event: ProbeEvent) -> None:
    log.debug("pod %s: %s %s: %s", pod_name, event.reason, event.container_name, event.message)
