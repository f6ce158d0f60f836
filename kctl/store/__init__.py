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
"""

from kctl.store.types import (
    Compacted,
    Entry,
    Event,
    Key,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "Compacted",
    "Entry",
    "Event",
    "Key",
    "KeyExists",
    "KeyNotFound",
    "RevisionConflict",
    "StoreError",
    "StoreUnavailable",
]
