"""A work queue of object keys with client-go's guarantees, for asyncio controllers.

Controllers are level-triggered: an informer event only says "look at this key again".
The queue turns a burst of events into one unit of work and keeps two workers off the
same object:

* **Merging.** A key added while it is waiting is not added twice (the *dirty* set).
* **Exclusivity.** A key being processed is not handed out again; if it is added
  meanwhile, it is parked and re-queued when the worker calls :meth:`WorkQueue.done`.
* **Backoff.** :meth:`RateLimitingQueue.add_rate_limited` re-adds a failed key after
  the larger of a per-item exponential delay (5 ms doubling to 1000 s) and a global
  token bucket (10/s, burst 100), client-go's ``DefaultControllerRateLimiter``;
  :meth:`RateLimitingQueue.forget` resets the item's failures after a success.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down and has nothing left to hand out."""


class WorkQueue(Generic[K]):
    """FIFO of distinct keys; a key is processed by at most one worker at a time."""

    def __init__(self) -> None:
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._shutting_down = False
        self._ready = asyncio.Event()
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._due: dict[K, float] = {}

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # re-queued by done()
        self._queue.append(key)
        self._ready.set()

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed; an earlier pending add wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        if key in self._timers:
            if self._due[key] <= due:
                return
            self._timers[key].cancel()
        self._due[key] = due
        self._timers[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self._due.pop(key, None)
        self.add(key)

    async def get(self) -> K:
        """The next key; the caller must call :meth:`done` with it when finished."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown()
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._ready.set()

    def shutdown(self) -> None:
        """Stop accepting keys; waiting :meth:`get` calls raise :class:`ShutDown` once
        the queue is empty."""
        self._shutting_down = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._due.clear()
        self._ready.set()


class ItemBackoff(Generic[K]):
    """Per-item exponential backoff: ``base * 2**failures``, capped."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return min(self.cap, self.base * (2**failures))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)


class TokenBucket:
    """Global rate limit: each call reserves a token and says how long to wait for it."""

    def __init__(self, rate: float = 10.0, burst: int = 100) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()

    def reserve(self) -> float:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class RateLimitingQueue(WorkQueue[K]):
    """A :class:`WorkQueue` with failure backoff (client-go's default controller limiter)."""

    def __init__(self, backoff: ItemBackoff[K] | None = None, bucket: TokenBucket | None = None) -> None:
        super().__init__()
        self._backoff: ItemBackoff[K] = backoff or ItemBackoff()
        self._bucket = bucket or TokenBucket()

    def add_rate_limited(self, key: K) -> None:
        self.add_after(key, max(self._backoff.when(key), self._bucket.reserve()))

    def forget(self, key: K) -> None:
        self._backoff.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._backoff.failures(key)
