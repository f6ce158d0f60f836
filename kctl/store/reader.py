"""Reads that must go to the database, run on a small thread pool.

The cache answers gets and lists; the database is read only to load the cache on open,
to learn ``meta.revision`` (``sync`` on a shared store), to fetch log rows the feed has
not seen (another server's commits, or a gap before our own), and to replay history for
a watch that resumes from older than the in-memory ring. Rows are decoded into entries
here, in the pool thread, so the event loop only links them in.

A replay checks ``meta.compacted`` *after* reading its rows: compaction raises that
value before deleting anything, so if it is still at or below where the chunk started,
the chunk is complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, select

from kctl.store.backends import Backend, wrap_errors
from kctl.store.codec import ADDED, DELETED, FieldExtractor, entry_from_value, event_from_row
from kctl.store.schema import META_ID, log, meta, objects
from kctl.store.types import Compacted, Entry, Event, Key, StoreUnavailable

T = TypeVar("T")

_LOG_COLUMNS = (
    log.c.revision,
    log.c.resource,
    log.c.namespace,
    log.c.name,
    log.c.type,
    log.c.value,
)


@dataclass(slots=True)
class Snapshot:
    revision: int
    compacted: int
    entries: list[Entry]


class Reader:
    def __init__(self, backend: Backend, extract: FieldExtractor, threads: int = 4) -> None:
        self.backend = backend
        self.extract = extract
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kctl-store-read")
        self.closed = False

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        except RuntimeError as err:  # the pool is shut down: the store is closing
            if self.closed:
                raise StoreUnavailable("store is closed") from err
            raise

    def close(self) -> None:
        self.closed = True
        self.pool.shutdown(wait=True, cancel_futures=True)

    # -- blocking reads (pool threads) ---------------------------------------------

    def load(self) -> Snapshot:
        """Every current object and the revision they are current at, consistently."""
        with wrap_errors("loading the store"):
            opts = self.backend.snapshot_options()
            with self.backend.reader_engine.connect().execution_options(**opts) as conn:
                with conn.begin():
                    revision, compacted = conn.execute(
                        select(meta.c.revision, meta.c.compacted).where(meta.c.id == META_ID)
                    ).one()
                    rows = conn.execute(
                        select(
                            objects.c.resource,
                            objects.c.namespace,
                            objects.c.name,
                            objects.c.revision,
                            objects.c.value,
                        )
                    ).all()
        entries = [
            entry_from_value(Key(r[0], r[1], r[2]), int(r[3]), bytes(r[4]), self.extract)
            for r in rows
        ]
        return Snapshot(int(revision), int(compacted), entries)

    def meta(self) -> tuple[int, int]:
        """(revision, compacted) as committed now."""
        with wrap_errors("reading the store revision"):
            with self.backend.reader_engine.connect() as conn:
                row = conn.execute(
                    select(meta.c.revision, meta.c.compacted).where(meta.c.id == META_ID)
                ).one()
        return int(row[0]), int(row[1])

    def tail(
        self, after: int, limit: int, known: Callable[[int], bool] | None = None
    ) -> list[tuple[int, Event | None]]:
        """Log rows above ``after`` in revision order; rows ``known`` says the feed already
        holds are returned as ``(revision, None)`` without being decoded."""
        with wrap_errors("reading the log"):
            with self.backend.reader_engine.connect() as conn:
                rows = conn.execute(
                    select(*_LOG_COLUMNS)
                    .where(log.c.revision > after)
                    .order_by(log.c.revision)
                    .limit(limit)
                ).all()
        out: list[tuple[int, Event | None]] = []
        for r in rows:
            rev = int(r[0])
            if known is not None and known(rev):
                out.append((rev, None))
            else:
                out.append((rev, event_from_row(rev, r[1], r[2], r[3], r[4], r[5], self.extract)))
        return out

    def replay(
        self,
        resource: str,
        namespace: str | None,
        after: int,
        upto: int,
        limit: int,
        seen: dict[Key, Entry | None],
    ) -> list[Event]:
        """One chunk of a watch's history: events of ``resource`` (and ``namespace``) in
        (after, upto], with ``previous`` set. ``seen`` carries each key's latest state
        across chunks. Raises Compacted when part of the range is gone."""
        where = and_(log.c.revision > after, log.c.revision <= upto, log.c.resource == resource)
        if namespace is not None:
            where = and_(where, log.c.namespace == namespace)
        with wrap_errors("replaying the log"):
            with self.backend.reader_engine.connect() as conn:
                rows = conn.execute(
                    select(*_LOG_COLUMNS).where(where).order_by(log.c.revision).limit(limit)
                ).all()
                compacted = conn.execute(
                    select(meta.c.compacted).where(meta.c.id == META_ID)
                ).scalar_one()
                if compacted > after:
                    raise Compacted(after, int(compacted))
                events: list[Event] = []
                for r in rows:
                    rev = int(r[0])
                    event = event_from_row(rev, r[1], r[2], r[3], r[4], r[5], self.extract)
                    key = event.entry.key
                    if key in seen:
                        event.previous = seen[key]
                    elif event.type != ADDED:
                        event.previous = self._previous(conn, key, rev)
                    seen[key] = None if event.type == DELETED else event.entry
                    events.append(event)
        return events

    def _previous(self, conn: Any, key: Key, before: int) -> Entry | None:
        row = conn.execute(
            select(log.c.revision, log.c.type, log.c.value)
            .where(
                log.c.resource == key.resource,
                log.c.namespace == key.namespace,
                log.c.name == key.name,
                log.c.revision < before,
            )
            .order_by(log.c.revision.desc())
            .limit(1)
        ).first()
        if row is None or row[1] == DELETED:
            return None
        return entry_from_value(key, int(row[0]), bytes(row[2]), self.extract)
