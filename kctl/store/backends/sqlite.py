"""SQLite: the default, single-API-server backend.

Durability is the point: WAL journal with ``synchronous=FULL`` fsyncs the WAL on every
commit, so an acknowledged write survives kill -9 and power loss; group commit is what
keeps that affordable. The writer's transactions start with ``BEGIN IMMEDIATE`` so the
write lock is taken up front (never a mid-transaction "database is locked" upgrade
failure), readers use plain deferred transactions and, in WAL mode, never block the
writer. ``journal_size_limit`` and a ``wal_checkpoint(TRUNCATE)`` after compaction keep
the WAL file bounded. pysqlite's own implicit transaction handling is switched off
(``isolation_level = None``) and SQLAlchemy's ``begin`` event emits ours.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from kctl.store.backends.base import Backend
from kctl.store.schema import META_ID, meta, metadata, objects
from kctl.store.settings import StoreSettings

log = logging.getLogger(__name__)

JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
WAL_AUTOCHECKPOINT_PAGES = 1000


class SqliteBackend(Backend):
    shared = False

    def __init__(self, url: str, settings: StoreSettings) -> None:
        parsed = make_url(url)
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+pysqlite")
        self.url = parsed
        self.busy_timeout_ms = int(settings.busy_timeout * 1000)
        self.writer_engine = self._engine("BEGIN IMMEDIATE", pool_size=1)
        self.reader_engine = self._engine("BEGIN", pool_size=4)
        stmt = (
            sqlite_insert(objects)
            .on_conflict_do_nothing(
                index_elements=[objects.c.resource, objects.c.namespace, objects.c.name]
            )
            .returning(objects.c.revision)
        )
        self.insert_object = stmt

    def _engine(self, begin: str, pool_size: int) -> Any:
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False},
            pool_size=pool_size,
            max_overflow=4,
        )
        busy = self.busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {busy}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)

        return engine

    def bootstrap(self) -> None:
        with self.writer_engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(
                sqlite_insert(meta)
                .values(id=META_ID, revision=0, compacted=0)
                .on_conflict_do_nothing(index_elements=[meta.c.id])
            )

    def maintain(self, conn: Connection) -> None:
        # Outside a transaction on the raw connection: SQLAlchemy would BEGIN first.
        raw = conn.connection.driver_connection
        assert raw is not None
        row = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row and row[0]:
            log.debug("WAL checkpoint incomplete (busy readers): %s", row)
