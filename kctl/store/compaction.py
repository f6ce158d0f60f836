"""When to compact: keep at least N revisions and at least T seconds of history.

The policy samples (time, revision) once per interval and compacts up to the newest
sample that is at least ``retention_seconds`` old, never closer than
``retention_revisions`` to the current revision. A watcher that resumes within the
window is always served; one that resumes from before it gets Compacted and relists.
Right after start there is no old enough sample, so nothing is compacted for the first
``retention_seconds``: restarts never shorten the window. The deletion itself goes
through the writer thread in small batches (see :meth:`kctl.store.Store.compact`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class RetentionPolicy:
    def __init__(self, retention_revisions: int, retention_seconds: float) -> None:
        self.retention_revisions = max(0, retention_revisions)
        self.retention_seconds = max(0.0, retention_seconds)
        self._samples: deque[tuple[float, int]] = deque()

    def observe(self, now: float, revision: int) -> None:
        self._samples.append((now, revision))

    def target(self, now: float, current: int) -> int:
        """The revision to compact up to (0: nothing yet)."""
        horizon = now - self.retention_seconds
        while len(self._samples) >= 2 and self._samples[1][0] <= horizon:
            self._samples.popleft()
        if not self._samples or self._samples[0][0] > horizon:
            return 0
        return max(0, min(self._samples[0][1], current - self.retention_revisions))


class Compactor:
    """The background task: every ``interval`` seconds, compact by the policy."""

    def __init__(
        self,
        policy: RetentionPolicy,
        interval: float,
        revision: Callable[[], int],
        compacted: Callable[[], int],
        compact: Callable[[int], Awaitable[int]],
    ) -> None:
        self.policy = policy
        self.interval = interval
        self._revision = revision
        self._compacted = compacted
        self._compact = compact

    async def run(self) -> None:
        self.policy.observe(time.monotonic(), self._revision())
        while True:
            await asyncio.sleep(self.interval)
            await self.step(time.monotonic())

    async def step(self, now: float) -> None:
        current = self._revision()
        self.policy.observe(now, current)
        target = self.policy.target(now, current)
        if target <= self._compacted():
            return
        try:
            await self._compact(target)
        except Exception as err:  # noqa: BLE001 - retried next interval
            logger.warning("store compaction to %d failed: %s", target, err)
