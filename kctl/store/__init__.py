"""The versioned, watchable object store (only kctl.server imports this package).

Contract used by the API server (implemented in :mod:`kctl.store.store`)::

    store = await Store.open(url, field_extractor=fn, settings=StoreSettings(...))
    store.revision                           # last committed revision (int)
    store.get(key) -> Entry | None           # current state, from the in-memory cache
    store.list(resource, namespace=None)     # -> (revision, [Entry]) consistent snapshot
    await store.create(key, obj) -> Entry    # KeyExists
    await store.update(key, obj, expected_revision) -> Entry   # KeyNotFound, RevisionConflict
    await store.delete(key, expected_revision=None, last_state=None) -> Entry  # the DELETED entry
    store.watch(resource, namespace=None, from_revision=R) -> Watch   # Compacted
        # async iterator of Event with revision > R, once each, in order; close() ends it
    await store.compact(revision)            # also runs in the background
    await store.close()

Writes are compare-and-swap enforced by the database (``UPDATE .. WHERE
resource_version = :expected``), grouped into shared transactions by one writer thread
(group commit), and acknowledged only after commit. See :mod:`kctl.store.store`.

Also: ``store.shared`` (True for PostgreSQL, where several API servers share one
database) and ``await store.sync()`` (call before get/list on a shared store: waits
until the cache has every commit made before the call); ``store.stats`` (counters);
``store.compacted``; ``Watch.revision`` (for BOOKMARKs) and ``Watch.next_batch()``.
A watch whose consumer falls behind ends with ``WatchOverflow`` (answer 410: relist).
"""

from kctl.store.settings import StoreSettings
from kctl.store.store import Store
from kctl.store.types import (
    Compacted,
    Entry,
    Event,
    Key,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StoreError,
    StoreStats,
    StoreUnavailable,
    WatchOverflow,
)
from kctl.store.watch import Watch

__all__ = [
    "Compacted",
    "Entry",
    "Event",
    "Key",
    "KeyExists",
    "KeyNotFound",
    "RevisionConflict",
    "Store",
    "StoreError",
    "StoreSettings",
    "StoreStats",
    "StoreUnavailable",
    "Watch",
    "WatchOverflow",
]
