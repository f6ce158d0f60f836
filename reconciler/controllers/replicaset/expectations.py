"""Expectations: what a controller is still waiting to see after its own writes.

After a ReplicaSet creates 5 pods, its informer may not show them for a while. If the
controller synced again in between, it would count too few pods and create 5 more.
client-go's answer (``ControllerExpectations`` with ``UIDTrackingControllerExpectations``)
is kept here: before writing, the controller records how many creations and which pod
deletions it expects; the pod event handlers lower those counts as the informer
observes them; a key is only synced (pods created or deleted) once its expectations are
met, or have expired (5 minutes, in case a watch event was lost for good).

Deletions are tracked by pod key rather than by count, so the deletion of a pod the
controller did not delete does not satisfy an expectation meant for another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Record:
    adds: int
    dels: int
    timestamp: float
    deleting: set[str] = field(default_factory=set)

    def fulfilled(self) -> bool:
        return self.adds <= 0 and self.dels <= 0


class Expectations:
    """Pending creations and deletions per controller key, with a time-to-live."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, ttl: float = EXPECTATIONS_TIMEOUT
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._records: dict[str, _Record] = {}

    def satisfied(self, key: str) -> bool:
        """True when ``key`` may create or delete: nothing pending, or the record is
        older than the TTL, or there is no record at all."""
        record = self._records.get(key)
        if record is None:
            return True
        return record.fulfilled() or self._clock() - record.timestamp > self._ttl

    def expect_creations(self, key: str, count: int) -> None:
        """Replace ``key``'s record: ``count`` creations pending, nothing else."""
        self._records[key] = _Record(count, 0, self._clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        """Replace ``key``'s record: these pods' deletions pending, nothing else."""
        deleting = set(pod_keys)
        self._records[key] = _Record(0, len(deleting), self._clock(), deleting)

    def creation_observed(self, key: str) -> None:
        record = self._records.get(key)
        if record is not None:
            record.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        record = self._records.get(key)
        if record is not None and pod_key in record.deleting:
            record.deleting.discard(pod_key)
            record.dels -= 1

    def delete(self, key: str) -> None:
        self._records.pop(key, None)

    def pending(self, key: str) -> tuple[int, int] | None:
        """(creations, deletions) still expected for ``key``; None without a record."""
        record = self._records.get(key)
        return None if record is None else (record.adds, record.dels)
