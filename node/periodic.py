"""Run a job for each of many keys on a fixed period, spread out and bounded.

An agent with a thousand hollow nodes renews a thousand Leases every 10 seconds. Doing
that as a thousand sleeping tasks makes them fire together; doing it in one loop makes
one slow request delay all the others. :class:`Staggered` keeps one heap of due times:
new keys are spread evenly over the first period (so renewals arrive at a steady rate,
like independent kubelets), at most ``concurrency`` jobs run at once, and a key's next
run is scheduled a period after its previous *due* time, so the spread survives.

A job may ask for an earlier retry by returning a delay (a failed renewal is retried
sooner than a period later); :meth:`Staggered.trigger` runs a key as soon as possible
(a node whose status changed).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K")
Job = Callable[[K], Awaitable[float | None]]


class Staggered(Generic[K]):
    def __init__(self, name: str, interval: float, job: Job[K], concurrency: int = 32) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.name = name
        self.interval = interval
        self.job = job
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self._heap: list[tuple[float, int, K]] = []
        self._members: set[K] = set()
        self._due: dict[K, float] = {}
        self._seq = 0
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._members)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _push(self, key: K, due: float) -> None:
        self._due[key] = due
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key))
        self._wake.set()

    def add_all(self, keys: list[K], first_in: float | None = None) -> None:
        """Schedule ``keys``, their first runs spread evenly over ``first_in`` seconds
        (default: one period)."""
        spread = self.interval if first_in is None else first_in
        now = self._now()
        for i, key in enumerate(keys):
            if key not in self._members:
                self._members.add(key)
                self._push(key, now + spread * i / max(1, len(keys)))

    def trigger(self, key: K) -> None:
        """Run ``key`` now (it keeps its place if it is already due)."""
        now = self._now()
        if key in self._members and self._due.get(key, now + 1) > now:
            self._push(key, now)

    def remove(self, key: K) -> None:
        self._members.discard(key)
        self._due.pop(key, None)

    async def run(self) -> None:
        try:
            while True:
                await self._next_due()
                due, _, key = heapq.heappop(self._heap)
                if self._due.get(key) != due:
                    continue  # stale entry: rescheduled or removed since
                await self._limit.acquire()
                del self._due[key]
                task = asyncio.create_task(self._run_one(key, due), name=f"{self.name}:{key}")
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _next_due(self) -> None:
        while True:
            self._wake.clear()
            if self._heap:
                delay = self._heap[0][0] - self._now()
                if delay <= 0:
                    return
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    return
            else:
                await self._wake.wait()

    async def _run_one(self, key: K, due: float) -> None:
        retry: float | None = None
        try:
            retry = await self.job(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: job for %s failed", self.name, key)
        finally:
            self._limit.release()
        if key not in self._members or key in self._due:
            return  # removed, or triggered while running (that run is already queued)
        now = self._now()
        if retry is not None:
            self._push(key, now + retry)
        else:
            nxt = due + self.interval
            self._push(key, nxt if nxt > now else now + self.interval)
