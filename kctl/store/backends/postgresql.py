"""PostgreSQL: the backend several API servers share.

Writers of every server serialise on ``SELECT .. FOR UPDATE`` of the meta row, which is
what makes revisions contiguous across servers (a revision is taken under the lock and
committed before the lock is released, so any snapshot that sees revision R+1 also sees
R). Each write transaction sends ``NOTIFY`` on one channel; every server's feed LISTENs
on its own autocommit connection (psycopg, outside SQLAlchemy's pool, because LISTEN
lives as long as the session) and tails the ``log`` table when woken. Consistent reads
(loading the cache) use REPEATABLE READ.
"""

from __future__ import annotations

import zlib
from typing import Any

import psycopg
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL, make_url

from kctl.store.backends.base import Backend, Listener
from kctl.store.schema import META_ID, meta, metadata, objects
from kctl.store.settings import StoreSettings

CHANNEL = "kctl_store_log"
_BOOTSTRAP_LOCK = zlib.crc32(b"kctl.store.bootstrap")
_LOCK_META = select(meta.c.revision, meta.c.compacted).where(meta.c.id == META_ID).with_for_update()
_NOTIFY = text("SELECT pg_notify(:c, :r)")


def _normalise(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class PgListener:
    """LISTEN on the store's channel with its own autocommit connection."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        woken = False
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            woken = True
        if woken:  # drain what else arrived: one fetch serves them all
            for _ in self.conn.notifies(timeout=0.0):
                pass
        return woken

    def close(self) -> None:
        self.conn.close()


class PostgresBackend(Backend):
    shared = True

    def __init__(self, url: str, settings: StoreSettings) -> None:
        self.url = _normalise(url)
        self.writer_engine = create_engine(
            self.url, pool_size=1, max_overflow=1, pool_pre_ping=True
        )
        self.reader_engine = create_engine(
            self.url, pool_size=4, max_overflow=4, pool_pre_ping=True
        )
        self.insert_object = (
            pg_insert(objects)
            .on_conflict_do_nothing(
                index_elements=[objects.c.resource, objects.c.namespace, objects.c.name]
            )
            .returning(objects.c.revision)
        )

    @property
    def conninfo(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def bootstrap(self) -> None:
        with self.writer_engine.begin() as conn:
            # Servers starting together must not race on CREATE TABLE.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
            metadata.create_all(conn)
            conn.execute(
                pg_insert(meta)
                .values(id=META_ID, revision=0, compacted=0)
                .on_conflict_do_nothing(index_elements=[meta.c.id])
            )

    def lock_meta(self, conn: Connection) -> tuple[int, int]:
        row = conn.execute(_LOCK_META).one()
        return int(row[0]), int(row[1])

    def snapshot_options(self) -> dict[str, Any]:
        return {"isolation_level": "REPEATABLE READ"}

    def after_write(self, conn: Connection, revision: int) -> None:
        conn.execute(_NOTIFY, {"c": CHANNEL, "r": str(revision)})

    def listener(self) -> Listener:
        return PgListener(self.conninfo)

    def wake_listeners(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, "wake"))
