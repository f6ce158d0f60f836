"""The store's three tables, in SQLAlchemy Core, identical on SQLite and PostgreSQL.

``objects`` holds the current state (one row per key, with the revision it was last
written at, which is what compare-and-swap compares), ``log`` holds every change by
revision (what watchers replay and other API servers tail), and ``meta`` is the single
row whose lock serialises writers and whose ``revision`` makes revisions contiguous
across every API server sharing the database. ``compacted`` is raised *before* log rows
are deleted, so every row above it is always present.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

objects = Table(
    "objects",
    metadata,
    Column("resource", String(), primary_key=True),
    Column("namespace", String(), primary_key=True),
    Column("name", String(), primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("create_revision", BigInteger, nullable=False),
    Column("value", LargeBinary, nullable=False),
)

log = Table(
    "log",
    metadata,
    Column(
        "revision",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("resource", String(), nullable=False),
    Column("namespace", String(), nullable=False),
    Column("name", String(), nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", LargeBinary, nullable=False),
)
# A replayed MODIFIED/DELETED needs the key's previous state (selector transitions).
Index("log_key_revision", log.c.resource, log.c.namespace, log.c.name, log.c.revision)

meta = Table(
    "meta",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
    Column("compacted", BigInteger, nullable=False),
)

META_ID = 1
