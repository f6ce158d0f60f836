"""The writer thread: group commit with compare-and-swap enforced by the database.

Callers never touch the database. They queue an :class:`~kctl.store.ops.Op` and await
its future; this thread takes everything queued (up to ``batch_limit``) and runs it in
ONE transaction, so concurrent writers share one commit and one fsync. Inside it:

* the meta row is locked first (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``FOR UPDATE``),
  which serialises writers across processes and yields the current revision;
* each op is one statement whose effect the database decides: ``INSERT .. ON CONFLICT
  DO NOTHING RETURNING`` for create (no row back: KeyExists; RETURNING because
  psycopg's rowcount through SQLAlchemy is -1 there), ``UPDATE/DELETE .. WHERE revision
  = :expected`` for CAS (row count 0: looked up to say KeyNotFound or RevisionConflict);
  a refusal is never a statement error, so it does not abort the rest of the batch;
* each applied op takes the next revision; its object is stamped and encoded once here;
* the log rows go in with one executemany, ``meta.revision`` is advanced, and the
  backend's post-write hook runs (PostgreSQL NOTIFY), then COMMIT.

Only after the commit does ``on_commit`` stage the events with the feed and hand the
outcomes to the event loop, where the feed publishes the events and then resolves the
futures: a write is never
acknowledged before it is durable. If a whole transaction fails (driver error), a
multi-op batch is retried op by op so one poisoned op cannot fail its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update

from kctl.store.backends import Backend
from kctl.store.backends.base import is_driver_error
from kctl.store.codec import ADDED, DELETED, MODIFIED, FieldExtractor, labels_of, stamp
from kctl.store.ops import CompactResult, Op, OpKind, Outcome
from kctl.store.schema import META_ID, log, meta, objects
from kctl.store.types import (
    Entry,
    Event,
    Key,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StoreError,
    StoreStats,
    StoreUnavailable,
)

logger = logging.getLogger(__name__)

OnCommit = Callable[[list[Outcome], list[Event], int], None]


# Statements are built once: SQLAlchemy then reuses their compiled form.
_KEY = and_(
    objects.c.resource == bindparam("k_resource"),
    objects.c.namespace == bindparam("k_namespace"),
    objects.c.name == bindparam("k_name"),
)
_CAS = objects.c.revision == bindparam("k_expected")
_SET: dict[str, Any] = {"revision": bindparam("new_revision"), "value": bindparam("new_value")}
UPDATE_CAS = update(objects).where(_KEY, _CAS).values(**_SET)
UPDATE_ANY = update(objects).where(_KEY).values(**_SET)
DELETE_CAS = delete(objects).where(_KEY, _CAS).returning(objects.c.value)
DELETE_ANY = delete(objects).where(_KEY).returning(objects.c.value)
CURRENT_REVISION = select(objects.c.revision).where(_KEY)
INSERT_LOG = insert(log)
SET_REVISION = update(meta).where(meta.c.id == META_ID).values(revision=bindparam("new_revision"))


def _key_params(key: Key, expected: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "k_resource": key.resource,
        "k_namespace": key.namespace,
        "k_name": key.name,
    }
    if expected is not None:
        params["k_expected"] = expected
    return params


class Writer:
    """One thread, one connection, one transaction per batch."""

    def __init__(
        self,
        backend: Backend,
        extract: FieldExtractor,
        batch_limit: int,
        on_commit: OnCommit,
        stats: StoreStats,
    ) -> None:
        self.backend = backend
        self.extract = extract
        self.batch_limit = max(1, batch_limit)
        self.on_commit = on_commit
        self.stats = stats
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self._conn: Connection | None = None
        self._thread = threading.Thread(target=self._run, name="kctl-store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, op: Op) -> None:
        self._queue.put(op)

    def stop(self) -> None:
        """Finish what is queued, then end the thread (blocking)."""
        self._queue.put(None)
        self._thread.join()

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.batch_limit:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            try:
                self._process(batch)
            except BaseException:  # never let the thread die with futures unresolved
                logger.exception("store writer failed on a batch of %d", len(batch))
                err = StoreUnavailable("store writer failed")
                self.on_commit([Outcome(op, error=err) for op in batch], [], 0)
        if self._conn is not None:
            self._conn.close()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.backend.writer_engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
            self._conn = None

    def _process(self, batch: list[Op]) -> None:
        txn_ops = [op for op in batch if op.kind is not OpKind.MAINTAIN]
        outcomes: list[Outcome] = []
        events: list[Event] = []
        high = 0
        if txn_ops:
            try:
                outcomes, events, high = self._transaction(txn_ops)
            except Exception as err:
                if not is_driver_error(err):
                    raise
                self._drop_connection()
                logger.warning("store transaction failed (%s ops): %s", len(txn_ops), err)
                if len(txn_ops) == 1:
                    outcomes = [Outcome(txn_ops[0], error=_unavailable(err))]
                else:
                    outcomes, events, high = self._one_by_one(txn_ops)
        for op in batch:
            if op.kind is OpKind.MAINTAIN:
                outcomes.append(self._maintain(op))
        self.on_commit(outcomes, events, high)

    def _one_by_one(self, ops: list[Op]) -> tuple[list[Outcome], list[Event], int]:
        outcomes: list[Outcome] = []
        events: list[Event] = []
        high = 0
        for op in ops:
            try:
                out, evs, top = self._transaction([op])
                high = max(high, top)
            except Exception as err:
                if not is_driver_error(err):
                    raise
                self._drop_connection()
                out, evs = [Outcome(op, error=_unavailable(err))], []
            outcomes.extend(out)
            events.extend(evs)
        return outcomes, events, high

    def _maintain(self, op: Op) -> Outcome:
        try:
            self.backend.maintain(self._connection())
            return Outcome(op)
        except Exception as err:
            if not is_driver_error(err):
                raise
            self._drop_connection()
            return Outcome(op, error=_unavailable(err))

    # -- one transaction -----------------------------------------------------------

    def _transaction(self, ops: list[Op]) -> tuple[list[Outcome], list[Event], int]:
        """Run ``ops`` in one transaction; returns outcomes, the committed events and
        the revision the database is at after the commit."""
        conn = self._connection()
        outcomes: list[Outcome] = []
        events: list[Event] = []
        rows: list[dict[str, Any]] = []
        rejected = 0
        with conn.begin():
            base, compacted = self.backend.lock_meta(conn)
            revision = base
            for op in ops:
                try:
                    if op.kind is OpKind.COMPACT:
                        result = self._compact(conn, op, base, compacted)
                        compacted = result.compacted
                        outcomes.append(Outcome(op, value=result))
                        continue
                    event = self._write(conn, op, revision + 1)
                except StoreError as err:
                    rejected += 1
                    outcomes.append(Outcome(op, error=err))
                    continue
                except Exception as err:
                    if is_driver_error(err):
                        raise  # the transaction is unusable: the caller retries op by op
                    outcomes.append(Outcome(op, error=err))  # e.g. an unencodable object
                    continue
                revision += 1
                events.append(event)
                entry = event.entry
                rows.append(
                    {
                        "revision": revision,
                        "resource": entry.key.resource,
                        "namespace": entry.key.namespace,
                        "name": entry.key.name,
                        "type": event.type,
                        "value": entry.value,
                    }
                )
                outcomes.append(Outcome(op, event=event))
            if rows:
                conn.execute(INSERT_LOG, rows)
                conn.execute(SET_REVISION, {"new_revision": revision})
                self.backend.after_write(conn, revision)
        self.stats.transactions += 1
        self.stats.writes += len(rows)
        self.stats.rejected += rejected
        return outcomes, events, revision

    def _write(self, conn: Connection, op: Op, revision: int) -> Event:
        key = op.key
        assert key is not None
        if op.kind is OpKind.CREATE:
            assert op.obj is not None
            value = stamp(op.obj, revision)
            inserted = conn.execute(
                self.backend.insert_object,
                {
                    "resource": key.resource,
                    "namespace": key.namespace,
                    "name": key.name,
                    "revision": revision,
                    "create_revision": revision,
                    "value": value,
                },
            ).first()
            if inserted is None:  # ON CONFLICT DO NOTHING returned no row
                raise KeyExists(f"{key.resource} {key.namespace}/{key.name} already exists")
            return Event(ADDED, self._entry(key, revision, value, op))
        if op.kind is OpKind.UPDATE:
            assert op.obj is not None
            value = stamp(op.obj, revision)
            params = _key_params(key, op.expected)
            params["new_revision"] = revision
            params["new_value"] = value
            stmt = UPDATE_ANY if op.expected is None else UPDATE_CAS
            if conn.execute(stmt, params).rowcount == 0:
                raise self._why(conn, key)
            return Event(MODIFIED, self._entry(key, revision, value, op))
        if op.kind is OpKind.DELETE:
            # Anything that can fail runs before the DELETE or cannot fail after it: a
            # row gone without its log entry would be a revision nobody sees.
            given = stamp(op.obj, revision) if op.obj is not None else None
            stmt = DELETE_ANY if op.expected is None else DELETE_CAS
            row = conn.execute(stmt, _key_params(key, op.expected)).first()
            if row is None:
                raise self._why(conn, key)
            if given is not None:
                return Event(DELETED, self._entry(key, revision, given, op))
            last = orjson.loads(row[0])  # labels/fields come from the stored state
            op.labels = labels_of(last)
            try:
                op.fields = self.extract(key.resource, last)
            except Exception:  # noqa: BLE001 - a broken extractor must not lose the delete
                logger.exception("field extractor failed on %s", key)
                op.fields = {}
            return Event(DELETED, self._entry(key, revision, stamp(last, revision), op))
        raise ValueError(f"not a write op: {op.kind}")

    @staticmethod
    def _entry(key: Key, revision: int, value: bytes, op: Op) -> Entry:
        return Entry(key, revision, value, op.labels or {}, op.fields or {})

    @staticmethod
    def _why(conn: Connection, key: Key) -> StoreError:
        current = conn.execute(CURRENT_REVISION, _key_params(key, None)).scalar()
        if current is None:
            return KeyNotFound(f"{key.resource} {key.namespace}/{key.name} not found")
        return RevisionConflict(int(current))

    @staticmethod
    def _compact(conn: Connection, op: Op, revision: int, compacted: int) -> CompactResult:
        target = min(op.compact_to, revision)
        if target > compacted:
            # Raised before any row goes, so every log row above `compacted` exists.
            conn.execute(update(meta).where(meta.c.id == META_ID).values(compacted=target))
            compacted = target
        lowest = conn.execute(select(func.min(log.c.revision))).scalar()
        if lowest is None or lowest > compacted:
            return CompactResult(compacted, 0, True)
        high = min(compacted, int(lowest) + max(1, op.compact_batch) - 1)
        deleted = conn.execute(delete(log).where(log.c.revision <= high)).rowcount
        return CompactResult(compacted, deleted, high >= compacted)


def _unavailable(err: BaseException) -> StoreUnavailable:
    exc = StoreUnavailable(f"database error: {type(err).__name__}: {err}")
    exc.__cause__ = err
    return exc
