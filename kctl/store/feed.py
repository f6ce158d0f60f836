"""The feed: the one place committed events enter the cache and reach watchers.

Everything here runs on the API server's event loop; the writer thread and the
listener thread only schedule calls onto it (``call_soon_threadsafe``), so the cache,
the ring and the watcher sets need no locks and a list is always consistent at one
revision.

Events are delivered strictly in revision order, each exactly once. Our own commits
arrive from the writer with their events already built; if they do not follow the last
delivered revision (another API server committed in between, or a write whose commit
looked failed did land), they wait in ``_pending`` while the gap is fetched from the
``log`` table. The writer stages its events there (under a small lock) right after the
commit, before it even schedules the acknowledgement, so a concurrent log fetch that
reads those rows finds them staged and does not decode them a second time. Revisions are contiguous, so a gap is always detectable. Other servers'
commits are fetched the same way when the listener pokes (NOTIFY, or the poll
fallback). A write is acknowledged only once the feed has delivered through its
transaction's revision, so a client that reads after its write sees it.

If the feed ever finds the log compacted past its position (it fell behind by more
than the retention window), it reloads the cache from ``objects`` and ends every
watcher so the clients relist.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
from collections import deque
from collections.abc import Iterable

from kctl.store.cache import ObjectCache
from kctl.store.ops import Outcome
from kctl.store.reader import Reader
from kctl.store.settings import StoreSettings
from kctl.store.types import (
    Compacted,
    Event,
    StoreError,
    StoreStats,
    StoreUnavailable,
    WatchOverflow,
)
from kctl.store.watch import Watch

logger = logging.getLogger(__name__)

FETCH_LIMIT = 1_000


class Feed:
    def __init__(
        self,
        cache: ObjectCache,
        reader: Reader,
        settings: StoreSettings,
        stats: StoreStats,
        revision: int,
        compacted: int,
    ) -> None:
        self.cache = cache
        self.reader = reader
        self.settings = settings
        self.stats = stats
        self.revision = revision  # last delivered revision
        self.compacted = compacted  # last known compaction point
        self.closed = False
        self._ring: deque[Event] = deque(maxlen=max(1, settings.ring_size))
        self._watchers: dict[tuple[str, str | None], set[Watch]] = {}
        self._pending: dict[int, Event] = {}  # own committed events not yet delivered
        self._pending_lock = threading.Lock()  # the writer thread stages into _pending
        self._acks: deque[tuple[int, list[Outcome]]] = deque()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []  # heap
        self._waiter_seq = 0
        self._fetch_target = 0
        self._poked = False
        self._fetcher: asyncio.Task[None] | None = None

    # -- inputs -------------------------------------------------------------------

    def stage(self, events: list[Event]) -> None:
        """Writer thread, right after a commit: make our events known to the feed."""
        if events:
            with self._pending_lock:
                for event in events:
                    self._pending[event.revision] = event

    def is_staged(self, revision: int) -> bool:
        """Any thread: is this revision one of our own, staged events?"""
        return revision in self._pending

    def own_commit(self, outcomes: list[Outcome], high: int) -> None:
        """The writer committed (and staged) through revision ``high``; ``outcomes`` are
        resolved once the feed has delivered through ``high``."""
        if high <= self.revision and not self._acks:
            _resolve(outcomes)
        else:
            self._acks.append((high, outcomes))
            # Up to `high` everything is committed: what is not staged (another server's
            # commits, ours that looked failed) is read from the log.
            self._fetch_target = max(self._fetch_target, high)
        self._advance()

    def poke(self) -> None:
        """Someone may have committed: read the log past our revision."""
        if self.closed:
            return
        self._poked = True
        self._ensure_fetcher()

    def deliver_rows(self, items: Iterable[tuple[int, Event | None]]) -> bool:
        """Deliver fetched log rows (``None`` = one of our pending own events); stops
        at a gap. Returns whether the feed advanced."""
        start = self.revision
        for revision, event in items:
            if revision <= self.revision:
                continue
            if revision != self.revision + 1:
                break
            own = self._unstage(revision)
            chosen = own if own is not None else event
            if chosen is None:
                break
            self._deliver(chosen)
        self._advance()
        return self.revision > start

    # -- waiting ------------------------------------------------------------------

    async def wait_for(self, revision: int) -> None:
        """Return once everything through ``revision`` has been delivered."""
        if self.revision >= revision:
            return
        if self.closed:
            raise StoreUnavailable("store is closed")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter_seq += 1
        heapq.heappush(self._waiters, (revision, self._waiter_seq, fut))
        self._fetch_target = max(self._fetch_target, revision)
        self._ensure_fetcher()
        await fut

    # -- watchers -----------------------------------------------------------------

    def watch(self, resource: str, namespace: str | None, from_revision: int | None) -> Watch:
        if self.closed:
            raise StoreUnavailable("store is closed")
        current = self.revision
        after = current if from_revision is None else from_revision
        watch = Watch(self, resource, namespace, after, self.settings.watcher_queue_size)
        if after < self.compacted:
            raise Compacted(after, self.compacted)
        if after < current:
            first = self._ring[0].revision if self._ring else current + 1
            if after + 1 >= first:
                older: list[Event] = []
                for event in reversed(self._ring):
                    if event.revision <= after:
                        break
                    if watch.matches(event):
                        older.append(event)
                older.reverse()
                watch._backlog.extend(older)
            else:
                watch._replay = (after, current)
        self._watchers.setdefault((resource, namespace), set()).add(watch)
        return watch

    def remove(self, watch: Watch) -> None:
        slot = (watch.resource, watch.namespace)
        watchers = self._watchers.get(slot)
        if watchers is not None:
            watchers.discard(watch)
            if not watchers:
                del self._watchers[slot]

    def watcher_count(self) -> int:
        return sum(len(s) for s in self._watchers.values())

    # -- shutdown -----------------------------------------------------------------

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for watchers in list(self._watchers.values()):
            for watch in list(watchers):
                watch.close()
        err = StoreUnavailable("store is closed")
        while self._acks:
            _resolve(self._acks.popleft()[1], err)
        while self._waiters:
            fut = heapq.heappop(self._waiters)[2]
            if not fut.done():
                fut.set_exception(err)
        if self._fetcher is not None:
            self._fetcher.cancel()

    def fail_pending(self, outcomes: list[Outcome]) -> None:
        """Resolve outcomes that arrive after close."""
        _resolve(outcomes, StoreUnavailable("store is closed"))

    # -- internals ----------------------------------------------------------------

    def _deliver(self, event: Event) -> None:
        event.previous = self.cache.apply(event)
        self.revision = event.revision
        self._ring.append(event)
        self.stats.events += 1
        key = event.entry.key
        failed: list[Watch] = []
        for slot in ((key.resource, None), (key.resource, key.namespace)):
            watchers = self._watchers.get(slot)
            if watchers:
                for watch in watchers:
                    if not watch.offer(event):
                        failed.append(watch)
        for watch in failed:
            logger.info(
                "ending a %s watcher that fell %d events behind",
                watch.resource,
                self.settings.watcher_queue_size,
            )
            watch.fail(
                WatchOverflow(
                    f"watcher fell more than {self.settings.watcher_queue_size} events behind"
                )
            )

    def _advance(self) -> None:
        """Deliver pending own events that are now in order, then resolve what waits."""
        while self._pending:
            event = self._unstage(self.revision + 1)
            if event is None:
                break
            self._deliver(event)
        if self._pending:
            with self._pending_lock:
                for stale in [r for r in self._pending if r <= self.revision]:
                    del self._pending[stale]
        while self._acks and self._acks[0][0] <= self.revision:
            _resolve(self._acks.popleft()[1])
        while self._waiters and self._waiters[0][0] <= self.revision:
            fut = heapq.heappop(self._waiters)[2]
            if not fut.done():
                fut.set_result(None)
        if self.revision < self._fetch_target:  # a gap: fetch it
            self._ensure_fetcher()

    def _unstage(self, revision: int) -> Event | None:
        with self._pending_lock:
            return self._pending.pop(revision, None)

    def _ensure_fetcher(self) -> None:
        if self.closed:
            return
        if self._fetcher is None or self._fetcher.done():
            self._fetcher = asyncio.get_running_loop().create_task(self._fetch())

    def _needs_fetch(self) -> bool:
        return self._poked or self.revision < self._fetch_target

    async def _fetch(self) -> None:
        failures = 0
        while not self.closed and self._needs_fetch():
            self._poked = False
            try:
                items = await self.reader.call(
                    self.reader.tail, self.revision, FETCH_LIMIT, self.is_staged
                )
            except StoreError as err:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    logger.warning("store feed cannot read the log: %s", err)
                self._poked = True
                await asyncio.sleep(min(self.settings.poll_interval, 0.05 * failures))
                continue
            if failures:
                logger.info("store feed reads the log again")
                failures = 0
            advanced = self.deliver_rows(items)
            if len(items) >= FETCH_LIMIT:
                self._poked = True
            if not advanced and self.revision < self._fetch_target:
                await self._behind_or_wait()

    async def _behind_or_wait(self) -> None:
        """No progress although revisions are missing: compacted away, or not yet
        visible. Reload in the first case, retry shortly in the second."""
        try:
            _, compacted = await self.reader.call(self.reader.meta)
        except StoreError:
            await asyncio.sleep(0.05)
            return
        self.compacted = max(self.compacted, compacted)
        if compacted > self.revision:
            await self._resync()
        else:
            await asyncio.sleep(0.01)

    async def _resync(self) -> None:
        logger.warning(
            "store feed at %d is behind compaction (%d): reloading", self.revision, self.compacted
        )
        snapshot = await self.reader.call(self.reader.load)
        if snapshot.revision <= self.revision:
            return
        self.cache.clear()
        for entry in snapshot.entries:
            self.cache.put(entry)
        self.revision = snapshot.revision
        self.compacted = max(self.compacted, snapshot.compacted)
        self._ring.clear()
        for watchers in list(self._watchers.values()):
            for watch in list(watchers):
                watch.fail(WatchOverflow("the store's feed was reloaded: relist"))
        self._advance()


def _resolve(outcomes: list[Outcome], error: BaseException | None = None) -> None:
    for out in outcomes:
        fut = out.op.future
        if fut.done():
            continue  # the caller gave up (cancelled)
        if error is not None:
            fut.set_exception(error)
        elif out.error is not None:
            fut.set_exception(out.error)
        elif out.event is not None:
            fut.set_result(out.event.entry)
        else:
            fut.set_result(out.value)
