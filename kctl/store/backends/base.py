"""The backend interface and the one place driver exceptions become StoreUnavailable."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, exc, select

from kctl.store.schema import META_ID, meta
from kctl.store.types import StoreUnavailable

_DRIVER_ERRORS: tuple[type[BaseException], ...] = (exc.SQLAlchemyError, sqlite3.Error, OSError)
try:  # psycopg is optional (only for PostgreSQL)
    import psycopg

    _DRIVER_ERRORS += (psycopg.Error,)
except ImportError:  # pragma: no cover
    pass


READ_META = select(meta.c.revision, meta.c.compacted).where(meta.c.id == META_ID)


def is_driver_error(err: BaseException) -> bool:
    return isinstance(err, _DRIVER_ERRORS)


@contextlib.contextmanager
def wrap_errors(what: str) -> Iterator[None]:
    """Re-raise database driver errors as StoreUnavailable (the cause is kept)."""
    try:
        yield
    except _DRIVER_ERRORS as err:
        raise StoreUnavailable(f"{what}: {type(err).__name__}: {err}".strip()) from err


class Listener(Protocol):
    """Wakes a shared store's feed when some API server committed."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when a commit was announced."""
        ...

    def close(self) -> None: ...


class Backend:
    """Base of the SQLite and PostgreSQL backends."""

    shared: bool = False
    writer_engine: Engine
    reader_engine: Engine
    insert_object: Any  # INSERT INTO objects .. ON CONFLICT DO NOTHING RETURNING revision

    def bootstrap(self) -> None:
        """Create the tables and the meta row when missing."""
        raise NotImplementedError

    def lock_meta(self, conn: Connection) -> tuple[int, int]:
        """Inside a write transaction: lock the meta row, return (revision, compacted).

        SQLite's ``BEGIN IMMEDIATE`` (emitted when the transaction begins) already holds
        the database's write lock, so a plain read is enough there."""
        row = conn.execute(READ_META).one()
        return int(row[0]), int(row[1])

    def snapshot_options(self) -> dict[str, Any]:
        """Execution options for a read transaction that sees one consistent snapshot."""
        return {}

    def after_write(self, conn: Connection, revision: int) -> None:
        """Inside the write transaction, after the last write (PostgreSQL: NOTIFY)."""

    def maintain(self, conn: Connection) -> None:
        """Outside any transaction, after compaction (SQLite: truncate the WAL)."""

    def listener(self) -> Listener | None:
        return None

    def wake_listeners(self) -> None:
        """Wake every listener now (used when closing)."""

    def dispose(self) -> None:
        self.writer_engine.dispose()
        self.reader_engine.dispose()
