"""Database backends: what differs between SQLite and PostgreSQL, and nothing else.

The writer, reader, feed and compactor are written once against :class:`Backend`; a
backend supplies the engines, the way a write transaction locks the ``meta`` row, the
dialect's ``INSERT .. ON CONFLICT DO NOTHING``, the post-write hook (PostgreSQL
``NOTIFY``), WAL maintenance (SQLite) and, for a shared database, a listener that wakes
the feed when another API server commits.
"""

from __future__ import annotations

from kctl.store.backends.base import Backend, Listener, wrap_errors
from kctl.store.settings import StoreSettings
from kctl.store.types import StoreUnavailable


def open_backend(url: str, settings: StoreSettings) -> Backend:
    """The backend for a ``sqlite:///path`` or ``postgresql://..`` URL (engines only:
    nothing is connected until :meth:`Backend.bootstrap`)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme.startswith("sqlite"):
        from kctl.store.backends.sqlite import SqliteBackend

        return SqliteBackend(url, settings)
    if scheme.startswith("postgres"):
        from kctl.store.backends.postgresql import PostgresBackend

        return PostgresBackend(url, settings)
    raise StoreUnavailable(f"unsupported store URL scheme {scheme!r} (sqlite:// or postgresql://)")


__all__ = ["Backend", "Listener", "open_backend", "wrap_errors"]
