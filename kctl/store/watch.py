"""One watcher: an async iterator over the events of one resource (and namespace).

A watch resumes from a revision. What came before it was registered is served from
the feed's in-memory ring (copied into a backlog at registration, so later ring
evictions cannot open a hole) or, when the ring no longer reaches back that far,
replayed from the ``log`` table in chunks as the consumer iterates, up to the revision
the feed had when the watch was registered. Everything committed after registration
arrives through :meth:`Watch.offer` into a bounded queue. Registration happens on the
event loop in the same step that snapshots the feed's revision, and the feed delivers
on the loop too, so the backlog/replay part and the live part meet with no gap and no
duplicate. A consumer that lets the queue fill up is ended with WatchOverflow: the
feed never blocks on a slow watcher, and the client relists.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from kctl.store.types import Entry, Event, Key, StoreError, WatchOverflow

if TYPE_CHECKING:
    from kctl.store.feed import Feed

REPLAY_CHUNK = 1_000


class Watch:
    def __init__(
        self, feed: Feed, resource: str, namespace: str | None, after: int, queue_size: int
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self._feed = feed
        self._after = after  # only events above this revision are delivered
        self._last = after  # revision of the last event handed out
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max(1, queue_size))
        self._backlog: deque[Event] = deque()
        self._replay: tuple[int, int] | None = None  # (position, upto) still to read
        self._replay_task: asyncio.Future[list[Event]] | None = None
        self._seen: dict[Key, Entry | None] = {}
        self._error: StoreError | None = None
        self._closed = False

    @property
    def revision(self) -> int:
        """The revision this watcher is current through: when nothing is waiting for
        it, the feed's revision (what a BOOKMARK may carry)."""
        if self._backlog or self._replay is not None or not self._queue.empty():
            return self._last
        if self._error is not None or self._closed:
            return self._last
        return max(self._last, self._feed.revision)

    @property
    def closed(self) -> bool:
        return self._closed

    def matches(self, event: Event) -> bool:
        key = event.entry.key
        return key.resource == self.resource and (
            self.namespace is None or key.namespace == self.namespace
        )

    # -- feed side (event loop) ----------------------------------------------------

    def offer(self, event: Event) -> bool:
        """Queue a live event; False when the queue is full (the feed then fails us)."""
        if event.revision <= self._after:
            return True
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def fail(self, error: StoreError) -> None:
        if self._closed:
            return
        self._error = error
        self._end()

    def close(self) -> None:
        """Stop watching; a pending or later ``__anext__`` ends the iteration."""
        if self._closed:
            return
        self._end()

    def _end(self) -> None:
        self._closed = True
        self._feed.remove(self)
        try:
            self._queue.put_nowait(None)  # wake a waiting consumer
        except asyncio.QueueFull:
            pass  # a full queue has no waiting consumer

    # -- consumer side -------------------------------------------------------------

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._error is not None:
                raise self._error
            if self._backlog:
                return self._take(self._backlog.popleft())
            if self._replay is not None and not self._closed:
                await self._replay_more()
                continue
            if self._closed:
                raise StopAsyncIteration
            event = await self._queue.get()
            if event is not None:
                return self._take(event)

    async def next_batch(self, limit: int = 512) -> list[Event]:
        """At least one event (waits for it), plus whatever else is ready, up to
        ``limit``: lets a stream write many events with one send. Raises like
        ``__anext__`` (StopAsyncIteration when the watch has ended)."""
        batch = [await self.__anext__()]
        while len(batch) < limit and self._error is None:
            if self._backlog:
                batch.append(self._take(self._backlog.popleft()))
            elif self._replay is None and not self._queue.empty():
                event = self._queue.get_nowait()
                if event is None:
                    break
                batch.append(self._take(event))
            else:
                break
        return batch

    def _take(self, event: Event) -> Event:
        self._last = event.revision
        return event

    async def _replay_more(self) -> None:
        assert self._replay is not None
        position, upto = self._replay
        if self._replay_task is None:
            reader = self._feed.reader
            self._replay_task = asyncio.ensure_future(
                reader.call(
                    reader.replay,
                    self.resource,
                    self.namespace,
                    position,
                    upto,
                    REPLAY_CHUNK,
                    self._seen,
                )
            )
        # shielded: a cancelled consumer must not lose a chunk already being read
        try:
            events = await asyncio.shield(self._replay_task)
        except StoreError as err:
            self._replay_task = None
            self._replay = None
            self.fail(err)
            return
        self._replay_task = None
        self._backlog.extend(events)
        if len(events) < REPLAY_CHUNK:
            self._replay = None
        else:
            self._replay = (events[-1].revision, upto)


__all__ = ["Watch", "WatchOverflow"]
