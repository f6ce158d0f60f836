"""Watch streaming: newline-delimited JSON events over a chunked response.

Semantics (the wire notes, section 4): a watch from a list's resourceVersion delivers
every later change once, in order; resourceVersion ``""``/``"0"`` first sends the current
state as ADDED events; a compacted revision gets one ERROR event with a 410 ``Expired``
Status (clients relist); ``timeoutSeconds`` ends the stream; ``allowWatchBookmarks``
adds BOOKMARK events that carry the stream's current revision. Without selectors an
event goes out as the bytes the store encoded once for every watcher; selectors turn a
change that enters (leaves) the selection into ADDED (DELETED), as Kubernetes does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from kctl.api import errors
from kctl.api.selectors import parse_field_selector, parse_label_selector
from kctl.api.table_rows import row_cache
from kctl.server.request import Request
from kctl.server.resources import Resources
from kctl.store import Compacted, Entry, Event, StoreError
from kctl.store.types import line_parts
from kctl.store.watch import Watch

Send = Callable[[bytes], Awaitable[None]]
BOOKMARK_INTERVAL = 30.0
# Without timeoutSeconds a watch ends after a random 30-60 minutes, like kube-apiserver's
# min-request-timeout, so that load spreads over API servers over time.
DEFAULT_TIMEOUT = (1800.0, 3600.0)


class WatchStream:
    def __init__(self, resources: Resources, req: Request) -> None:
        self.resources = resources
        self.req = req
        query = req.query
        self.labels = parse_label_selector(query.get("labelSelector", ""))
        self.fields = parse_field_selector(query.get("fieldSelector", ""))
        self.fields.check_supported(req.target.info)
        self.filtered = not (self.labels.empty and self.fields.empty)
        self.bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        raw_timeout = query.get("timeoutSeconds")
        try:
            self.timeout = float(raw_timeout) if raw_timeout else random.uniform(*DEFAULT_TIMEOUT)
        except ValueError:
            raise errors.BadRequest(f"timeoutSeconds must be a number: {raw_timeout!r}") from None
        rv = query.get("resourceVersion", "")
        if rv not in ("", "0"):
            try:
                self.from_revision: int | None = int(rv)
            except ValueError:
                raise errors.BadRequest(f"resourceVersion must be an integer: {rv!r}") from None
        else:
            self.from_revision = None
        self._columns_sent = False
        self._watch: Watch | None = None
        self._stopped = False

    def _matches(self, entry: Entry | None) -> bool:
        if entry is None:
            return False
        return self.labels.matches(entry.labels) and self.fields.matches(entry.fields)

    def _event_type(self, event: Event) -> str | None:
        if not self.filtered:
            return event.type
        now = self._matches(event.entry)
        before = self._matches(event.previous)
        if event.type == "MODIFIED":
            if now and before:
                return "MODIFIED"
            if now:
                return "ADDED"
            return "DELETED" if before else None
        if event.type == "DELETED":
            return "DELETED" if now or before else None
        return event.type if now else None

    def _line_parts(
        self, event_type: str, entry: Entry, event: Event | None = None
    ) -> tuple[bytes, ...]:
        """The runs of bytes that make one event's line (joined by the caller with the
        rest of its batch: the object's stored bytes are copied once, into the send)."""
        if self.req.accept.table:
            rows = row_cache(self.resources.store)
            if event is not None and event.type == "DELETED":
                rows.forget(entry.key, before=entry.revision)  # the object is gone
            table = rows.table(
                self.req.target.info,
                [entry],
                include_object=self.req.accept.include_object,
                with_column_definitions=not self._columns_sent,
                resource_version=str(entry.revision),
                remember=event_type != "DELETED",
            )
            self._columns_sent = True
            return line_parts(event_type, table)
        return line_parts(event_type, entry.value)

    def _bookmark(self, revision: int) -> bytes:
        info = self.req.target.info
        return (
            orjson.dumps(
                {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": info.kind,
                        "apiVersion": info.api_version,
                        "metadata": {"resourceVersion": str(revision)},
                    },
                }
            )
            + b"\n"
        )

    def stop(self) -> None:
        """The client went away: end the stream at its next step."""
        self._stopped = True
        if self._watch is not None:
            self._watch.close()

    async def run(self, send: Send) -> None:
        """Stream until the timeout, a store error, or :meth:`stop`.

        The loop costs one reschedulable timeout per stream and one await per batch of
        events: with a hundred watchers every event is sent a hundred times, so nothing
        per-event may create tasks or futures."""
        store = self.resources.store
        target = self.req.target
        initial: list[Entry] = []
        if self.from_revision is None:
            await self.resources.fresh()
            revision, initial = self.resources.select(self.req)
        else:
            revision = self.from_revision
        try:
            watch = store.watch(target.info.resource, target.namespace or None, revision)
        except Compacted as exc:
            await send(_error_line(errors.expired(str(exc))))
            return
        self._watch = watch
        if self._stopped:
            watch.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        position = revision
        try:
            for i in range(0, len(initial), 500):
                await send(
                    b"".join(
                        part for e in initial[i : i + 500] for part in self._line_parts("ADDED", e)
                    )
                )
            while True:
                step = (
                    min(deadline, loop.time() + BOOKMARK_INTERVAL) if self.bookmarks else deadline
                )
                try:
                    async with asyncio.timeout_at(step):
                        batch = await watch.next_batch()
                except TimeoutError:
                    if loop.time() >= deadline:
                        return
                    await send(self._bookmark(max(position, watch.revision)))
                    continue
                except StopAsyncIteration:
                    return
                except StoreError as exc:  # the watcher fell behind: make the client relist
                    await send(_error_line(errors.expired(f"watch ended: {exc}")))
                    return
                lines: list[bytes] = []
                for event in batch:
                    kind = self._event_type(event)
                    if kind is not None:
                        lines.extend(self._line_parts(kind, event.entry, event))
                position = batch[-1].revision
                if lines:
                    await send(b"".join(lines))
        finally:
            watch.close()


def _error_line(err: errors.ApiError) -> bytes:
    status: dict[str, Any] = err.to_status()
    return orjson.dumps({"type": "ERROR", "object": status}) + b"\n"
