"""Tunables of the store, with their defaults in one place.

Every number the store's logic depends on lives here so that the API server can expose
it as a flag and tests can shrink it (a tiny queue to provoke an overflow, no retention
to compact at once) without touching the logic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoreSettings:
    """Settings of one :class:`kctl.store.Store`.

    batch_limit: at most this many write operations share one transaction (group
        commit); more queued operations wait for the next transaction.
    ring_size: recent events kept in memory for watchers that resume from a recent
        revision; older revisions are replayed from the ``log`` table.
    watcher_queue_size: events buffered per watcher; a watcher that falls further
        behind is ended with :class:`kctl.store.WatchOverflow` (the client relists).
    retention_revisions: compaction keeps at least this many recent revisions.
    retention_seconds: compaction keeps at least every revision younger than this.
    compaction_interval: seconds between background compaction passes (0 disables).
    compaction_batch: log rows deleted per transaction while compacting, so one
        compaction never holds the writer for long.
    poll_interval: seconds between polls of the ``log`` table by a shared store's feed
        when no NOTIFY arrived (the fallback that bounds staleness).
    busy_timeout: seconds SQLite waits for a lock held by another process.
    trim_interval: seconds between returns of freed heap memory to the system
        (:mod:`kctl.api.memory`; the store holds most of the API server's memory and
        makes most of its churn); 0 disables.
    """

    batch_limit: int = 256
    ring_size: int = 10_000
    watcher_queue_size: int = 10_000
    retention_revisions: int = 10_000
    retention_seconds: float = 300.0
    compaction_interval: float = 60.0
    compaction_batch: int = 1_000
    poll_interval: float = 1.0
    busy_timeout: float = 5.0
    trim_interval: float = 2.0
