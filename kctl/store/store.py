"""The Store facade: what the API server calls.

It wires the parts together and owns their lifetimes:

* :class:`~kctl.store.writer.Writer` (a thread) runs every write as compare-and-swap
  inside group-committed transactions;
* :class:`~kctl.store.feed.Feed` (on the event loop) delivers committed events, in
  revision order, to the :class:`~kctl.store.cache.ObjectCache` that serves get/list,
  to the ring of recent events and to watchers;
* :class:`~kctl.store.reader.Reader` (a thread pool) does the few database reads;
* for a shared database (PostgreSQL), :class:`~kctl.store.listener.ListenerThread`
  pokes the feed when another API server commits, and :meth:`Store.sync` gives a
  linearizable read: it learns ``meta.revision`` and waits for the feed to reach it;
* :class:`~kctl.store.compaction.Compactor` trims the log in the background, and
  :func:`kctl.api.memory.release_periodically` gives the heap memory freed by the
  churn of versions back to the system.

A Store belongs to the event loop that opened it: every method except ``open`` must be
called from that loop. Concurrent ``sync`` calls share database round trips: a caller
joins the next read that starts after it arrived, never one already in flight, so the
revision it waits for includes every commit acknowledged before it called.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import make_url

from kctl.api import memory
from kctl.store.backends import Backend, open_backend, wrap_errors
from kctl.store.cache import ObjectCache
from kctl.store.codec import FieldExtractor, default_fields, labels_of, shared_fields
from kctl.store.compaction import Compactor, RetentionPolicy
from kctl.store.feed import Feed
from kctl.store.listener import ListenerThread
from kctl.store.ops import CompactResult, Op, OpKind, Outcome
from kctl.store.reader import Reader
from kctl.store.settings import StoreSettings
from kctl.store.types import Entry, Event, Key, StoreStats, StoreUnavailable
from kctl.store.watch import Watch
from kctl.store.writer import Writer

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _Coalesced(Generic[T]):
    """Share one in-flight call among callers, but only callers that arrived before it
    started; later callers wait for the next call."""

    def __init__(self, fn: Callable[[], Awaitable[T]]) -> None:
        self._fn = fn
        self._running = False
        self._next: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        fut = self._next
        if not self._running:
            self._start()
        return await asyncio.shield(fut)

    def _start(self) -> None:
        fut, self._next = self._next, None
        assert fut is not None
        self._running = True
        task = asyncio.ensure_future(self._fn())
        task.add_done_callback(lambda t: self._finish(t, fut))

    def _finish(self, task: asyncio.Future[T], fut: asyncio.Future[T]) -> None:
        self._running = False
        if not fut.done():
            if task.cancelled():
                fut.cancel()
            elif task.exception() is not None:
                fut.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                fut.set_result(task.result())
        if fut.done() and not fut.cancelled():
            fut.exception()  # mark retrieved: callers may all have gone
        if self._next is not None:
            self._start()


def _bootstrap(backend: Backend) -> None:
    with wrap_errors("opening the store"):
        backend.bootstrap()


class Store:
    """A versioned, watchable object store. Open with ``await Store.open(url)``."""

    def __init__(
        self,
        backend: Backend,
        reader: Reader,
        cache: ObjectCache,
        feed: Feed,
        settings: StoreSettings,
        extract: FieldExtractor,
        stats: StoreStats,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.settings = settings
        self.shared = backend.shared
        self.stats = stats
        self._backend = backend
        self._reader = reader
        self._cache = cache
        self._feed = feed
        self._extract = extract
        self._loop = loop
        self._closed = False
        self._last_high = feed.revision
        self._writer = Writer(backend, extract, settings.batch_limit, self._from_writer, stats)
        self._listener: ListenerThread | None = None
        self._compactor_task: asyncio.Task[None] | None = None
        self._trim_task: asyncio.Task[None] | None = None
        self._compact_lock = asyncio.Lock()
        self._read_meta = _Coalesced(lambda: reader.call(reader.meta))

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        field_extractor: FieldExtractor | None = None,
        settings: StoreSettings | None = None,
    ) -> Store:
        """Open (creating if needed) the store at ``sqlite:///path`` or
        ``postgresql://user@host:port/db``, load the cache and start the writer."""
        settings = settings or StoreSettings()
        extract = shared_fields(field_extractor or default_fields)
        _prepare_sqlite_path(url)
        backend = open_backend(url, settings)
        reader = Reader(backend, extract)
        try:
            await reader.call(_bootstrap, backend)
            snapshot = await reader.call(reader.load)
        except BaseException:
            reader.close()
            backend.dispose()
            raise
        cache = ObjectCache()
        for entry in snapshot.entries:
            cache.put(entry)
        stats = StoreStats()
        feed = Feed(cache, reader, settings, stats, snapshot.revision, snapshot.compacted)
        loop = asyncio.get_running_loop()
        store = cls(backend, reader, cache, feed, settings, extract, stats, loop)
        store._start()
        logger.info(
            "store open: %s, revision %d, %d objects",
            _safe_url(url),
            snapshot.revision,
            len(snapshot.entries),
        )
        return store

    def _start(self) -> None:
        self._writer.start()
        if self.shared:
            self._listener = ListenerThread(
                self._backend, self._loop, self._feed.poke, self.settings.poll_interval
            )
            self._listener.start()
        if self.settings.compaction_interval > 0:
            compactor = Compactor(
                RetentionPolicy(self.settings.retention_revisions, self.settings.retention_seconds),
                self.settings.compaction_interval,
                lambda: self._feed.revision,
                lambda: self._feed.compacted,
                self.compact,
            )
            self._compactor_task = self._loop.create_task(compactor.run())
        if self.settings.trim_interval > 0:
            self._trim_task = self._loop.create_task(
                memory.release_periodically(self.settings.trim_interval)
            )

    # -- reads (cache) --------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The last revision delivered to this store's cache and watchers."""
        return self._feed.revision

    @property
    def compacted(self) -> int:
        """The last known compaction point (older revisions cannot be watched)."""
        return self._feed.compacted

    def get(self, key: Key) -> Entry | None:
        return self._cache.get(key)

    def list(self, resource: str, namespace: str | None = None) -> tuple[int, list[Entry]]:
        """``(revision, entries)``: every current object of ``resource`` (in
        ``namespace``, or all), sorted by (namespace, name), as of ``revision``."""
        return self._feed.revision, self._cache.list(resource, namespace)

    async def sync(self) -> None:
        """Shared store: wait until the cache reflects every commit made (by any API
        server) before this call. A no-op for a store with a single writer."""
        if not self.shared:
            return
        self._check_open()
        revision, compacted = await self._read_meta()
        self._feed.compacted = max(self._feed.compacted, compacted)
        await self._feed.wait_for(revision)

    # -- writes ---------------------------------------------------------------------

    async def create(self, key: Key, obj: dict[str, Any]) -> Entry:
        """Store a new object. Raises KeyExists."""
        return await self._submit(self._op(OpKind.CREATE, key, obj))

    async def update(self, key: Key, obj: dict[str, Any], expected_revision: int | None) -> Entry:
        """Replace the object if it is still at ``expected_revision`` (None: whatever
        its revision, for internal use). Raises KeyNotFound, RevisionConflict."""
        return await self._submit(self._op(OpKind.UPDATE, key, obj, expected_revision))

    async def delete(
        self,
        key: Key,
        expected_revision: int | None = None,
        last_state: dict[str, Any] | None = None,
    ) -> Entry:
        """Delete the object (if at ``expected_revision``). Returns the DELETED entry:
        ``last_state`` (or the stored object) stamped with the deletion revision."""
        return await self._submit(self._op(OpKind.DELETE, key, last_state, expected_revision))

    def _op(
        self, kind: OpKind, key: Key, obj: dict[str, Any] | None, expected: int | None = None
    ) -> Op:
        self._check_open()
        op = Op(kind, self._loop.create_future(), key, obj, expected)
        if obj is not None:
            op.labels = labels_of(obj)
            op.fields = self._extract(key.resource, obj)
        return op

    async def _submit(self, op: Op) -> Any:
        self._check_open()
        self._writer.submit(op)
        return await op.future

    def _from_writer(
        self, outcomes: builtins.list[Outcome], events: builtins.list[Event], high: int
    ) -> None:
        # writer thread: stage the events, then hand the acknowledgements to the loop
        self._feed.stage(events)
        try:
            self._loop.call_soon_threadsafe(self._on_commit, outcomes, high)
        except RuntimeError:  # loop closed: nobody is waiting any more
            pass

    def _on_commit(self, outcomes: builtins.list[Outcome], high: int) -> None:
        self._last_high = max(self._last_high, high)
        if self._feed.closed:
            self._feed.fail_pending(outcomes)
        else:
            self._feed.own_commit(outcomes, high)

    # -- watch ----------------------------------------------------------------------

    def watch(
        self, resource: str, namespace: str | None = None, from_revision: int | None = None
    ) -> Watch:
        """Events of ``resource`` (in ``namespace``) with revision > ``from_revision``
        (None: from now), each once and in order. Raises Compacted when
        ``from_revision`` is older than the compaction point; iteration raises
        WatchOverflow (or Compacted, during a replay) when the watch cannot go on."""
        self._check_open()
        return self._feed.watch(resource, namespace, from_revision)

    # -- compaction -----------------------------------------------------------------

    async def compact(self, revision: int) -> int:
        """Forget log history up to ``revision`` (capped at the current revision), in
        small transactions through the writer. Returns the compaction point."""
        async with self._compact_lock:
            while True:
                op = Op(
                    OpKind.COMPACT,
                    self._loop.create_future(),
                    compact_to=revision,
                    compact_batch=self.settings.compaction_batch,
                )
                result: CompactResult = await self._submit(op)
                self._feed.compacted = max(self._feed.compacted, result.compacted)
                if result.done:
                    break
            await self._submit(Op(OpKind.MAINTAIN, self._loop.create_future()))
        return self._feed.compacted

    # -- lifecycle ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable("store is closed")

    async def close(self) -> None:
        """Finish queued writes, end every watch, release connections and threads."""
        if self._closed:
            return
        self._closed = True
        for task in (self._compactor_task, self._trim_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._loop.run_in_executor(None, self._writer.stop)
        # commits made before the stop are acknowledged once delivered
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._feed.wait_for(self._last_high), timeout=2.0)
        if self._listener is not None:
            await self._loop.run_in_executor(None, self._listener.stop)
        self._feed.close()
        await self._loop.run_in_executor(None, self._reader.close)
        await self._loop.run_in_executor(None, self._backend.dispose)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _prepare_sqlite_path(url: str) -> None:
    if not url.lower().startswith("sqlite"):
        return
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise StoreUnavailable("the store needs a SQLite file (sqlite:///path/to/db)")
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreUnavailable(f"cannot create the store's directory: {err}") from err


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<store url>"
