"""Per-key exponential backoff with client-go's ``flowcontrol.Backoff`` semantics.

The kubelet uses one for crash loops (key: pod uid + container name, event time: the
container's finish time) and one for image pulls (key: pod uid + image, event time:
now): 10 s doubling to 300 s. An entry whose last step is older than twice the maximum
(10 minutes) has expired, so a container that ran cleanly for 10 minutes starts again
from 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    def __init__(
        self,
        initial: float = INITIAL,
        maximum: float = MAXIMUM,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, event_time: float) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry is not None else 0.0

    def next(self, key: str, event_time: float) -> None:
        """Record one more failure: the first waits ``initial``, each next twice as long."""
        entry = self._entries.get(key)
        now = self.clock()
        if entry is None or self._expired(entry, event_time):
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.delay = min(entry.delay * 2, self.maximum)
            entry.last_update = now

    def remaining_since(self, key: str, event_time: float) -> float:
        """Seconds left of the backoff that started at ``event_time`` (0: not backing off)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return 0.0
        return max(0.0, event_time + entry.delay - self.clock())

    def remaining_since_update(self, key: str) -> float:
        """Seconds left of the backoff counted from the last failure (image pulls)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return self.remaining_since(key, entry.last_update)

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
