"""The scheduling queue: active, backoff and unschedulable pods, as kube-scheduler's
PriorityQueue.

* **active**: ready to be scheduled, highest ``spec.priority`` first, then oldest.
* **backoff**: failed recently; waits ``initial * 2^(attempts-1)`` seconds (1 s to
  10 s by default) before going back to active.
* **unschedulable**: did not fit anywhere. It stays parked until something happens
  that could make it fit -- a node added or changed, a pod deleted -- when
  :meth:`move_all_to_active_or_backoff` sends it to active (or to backoff if its
  backoff has not expired); after ``max_unschedulable_seconds`` it is retried anyway.
* **move request cycle**: if such an event arrives while a pod is being scheduled,
  that pod's failure may be stale; it goes to backoff instead of unschedulable, so it
  is not parked forever on information that has already changed.

The queue is plain data plus one asyncio Event; time comes from an injectable clock,
so every transition is unit-testable without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kctl.client.workqueue import ShutDown
from reconciler.scheduler.podinfo import PodInfo

ACTIVE = "active"
BACKOFF = "backoff"
UNSCHEDULABLE = "unschedulable"
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0


@dataclass
class QueuedPod:
    pod: PodInfo
    timestamp: float  # when it (re)entered the queue, for FIFO among equals
    attempts: int = 0
    last_failure: float = 0.0
    parked_at: float = 0.0  # entered unschedulable
    seq: int = field(default=0, compare=False)

    @property
    def key(self) -> str:
        return self.pod.key


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """A change that could alter scheduling (not status, resourceVersion, managedFields)."""
    if old.get("spec") != new.get("spec"):
        return True
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return om.get("labels") != nm.get("labels") or om.get("annotations") != nm.get("annotations")


class SchedulingQueue:
    def __init__(
        self,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        max_unschedulable: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self.clock = clock
        self._where: dict[str, str] = {}
        self._pods: dict[str, QueuedPod] = {}
        self._active: list[tuple[int, float, int, str]] = []
        self._backoff: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPod] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._closed = False
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._last_unschedulable_flush = clock()

    def __len__(self) -> int:
        return len(self._pods)

    def where(self, key: str) -> str | None:
        return self._where.get(key)

    def counts(self) -> dict[str, int]:
        out = {ACTIVE: 0, BACKOFF: 0, UNSCHEDULABLE: 0}
        for place in self._where.values():
            out[place] += 1
        return out

    # --- placing ------------------------------------------------------------------------

    def _push_active(self, qp: QueuedPod) -> None:
        qp.seq = next(self._seq)
        self._pods[qp.key] = qp
        self._where[qp.key] = ACTIVE
        self._unschedulable.pop(qp.key, None)
        heapq.heappush(self._active, (-qp.pod.priority, qp.timestamp, qp.seq, qp.key))
        self._wake.set()

    def _push_backoff(self, qp: QueuedPod) -> None:
        qp.seq = next(self._seq)
        self._pods[qp.key] = qp
        self._where[qp.key] = BACKOFF
        self._unschedulable.pop(qp.key, None)
        heapq.heappush(self._backoff, (self.backoff_expiry(qp), qp.seq, qp.key))
        self._wake.set()  # the waiter recomputes its timeout

    def _park(self, qp: QueuedPod) -> None:
        qp.seq = next(self._seq)
        qp.parked_at = self.clock()
        self._pods[qp.key] = qp
        self._where[qp.key] = UNSCHEDULABLE
        self._unschedulable[qp.key] = qp

    def backoff_duration(self, qp: QueuedPod) -> float:
        if qp.attempts <= 0:
            return 0.0
        return min(self.max_backoff, self.initial_backoff * 2 ** (qp.attempts - 1))

    def backoff_expiry(self, qp: QueuedPod) -> float:
        return qp.last_failure + self.backoff_duration(qp)

    def _backing_off(self, qp: QueuedPod, now: float) -> bool:
        return self.backoff_expiry(qp) > now

    def _to_active_or_backoff(self, qp: QueuedPod, now: float) -> None:
        if self._backing_off(qp, now):
            self._push_backoff(qp)
        else:
            self._push_active(qp)

    # --- informer events ----------------------------------------------------------------

    def add(self, pod: PodInfo) -> None:
        """A new pending pod (or one seen again after a relist)."""
        if pod.key in self._pods:
            self.update(pod)
            return
        self._push_active(QueuedPod(pod, self.clock()))

    def update(self, pod: PodInfo) -> None:
        qp = self._pods.get(pod.key)
        if qp is None:
            self._push_active(QueuedPod(pod, self.clock()))
            return
        old = qp.pod
        qp.pod = pod
        if self._where[pod.key] == UNSCHEDULABLE and _changed(old.obj, pod.obj):
            self._to_active_or_backoff(qp, self.clock())

    def delete(self, key: str) -> None:
        self._pods.pop(key, None)
        self._where.pop(key, None)
        self._unschedulable.pop(key, None)

    # --- scheduling outcomes --------------------------------------------------------------

    def add_unschedulable(self, qp: QueuedPod, cycle: int) -> None:
        """``qp`` fit nowhere in scheduling cycle ``cycle``."""
        if qp.key in self._pods:
            return  # re-added by an informer event meanwhile
        qp.last_failure = self.clock()
        if self.move_request_cycle >= cycle:
            self._push_backoff(qp)
        else:
            self._park(qp)

    def add_backoff(self, qp: QueuedPod) -> None:
        """``qp`` failed for another reason (an API error): retry after its backoff."""
        if qp.key in self._pods:
            return
        qp.last_failure = self.clock()
        self._push_backoff(qp)

    def move_all_to_active_or_backoff(self, event: str = "") -> int:
        """Something changed that may let parked pods fit; returns how many moved."""
        now = self.clock()
        moved = list(self._unschedulable.values())
        for qp in moved:
            self._to_active_or_backoff(qp, now)
        self.move_request_cycle = self.scheduling_cycle
        return len(moved)

    # --- popping --------------------------------------------------------------------------

    def flush(self) -> None:
        """Move expired backoffs to active, and long-parked pods back into play."""
        now = self.clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff)
            qp = self._pods.get(key)
            if qp is not None and qp.seq == seq and self._where.get(key) == BACKOFF:
                self._push_active(qp)
        if now - self._last_unschedulable_flush >= UNSCHEDULABLE_FLUSH_INTERVAL:
            self._last_unschedulable_flush = now
            for qp in [
                q
                for q in self._unschedulable.values()
                if now - q.parked_at > self.max_unschedulable
            ]:
                self._to_active_or_backoff(qp, now)

    def pop_nowait(self) -> QueuedPod | None:
        self.flush()
        while self._active:
            _, _, seq, key = heapq.heappop(self._active)
            qp = self._pods.get(key)
            if qp is None or qp.seq != seq or self._where.get(key) != ACTIVE:
                continue  # stale entry (deleted or moved)
            del self._pods[key]
            del self._where[key]
            qp.attempts += 1
            self.scheduling_cycle += 1
            return qp
        return None

    def _next_due(self) -> float:
        due = self._last_unschedulable_flush + UNSCHEDULABLE_FLUSH_INTERVAL
        while self._backoff:
            expiry, seq, key = self._backoff[0]
            qp = self._pods.get(key)
            if qp is not None and qp.seq == seq and self._where.get(key) == BACKOFF:
                return min(due, expiry)
            heapq.heappop(self._backoff)
        return due

    async def pop(self) -> QueuedPod:
        """The next pod to schedule; waits for one. Raises ShutDown once closed."""
        while True:
            if self._closed:
                raise ShutDown()
            qp = self.pop_nowait()
            if qp is not None:
                return qp
            self._wake.clear()
            timeout = max(0.0, self._next_due() - self.clock())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def close(self) -> None:
        self._closed = True
        self._wake.set()
