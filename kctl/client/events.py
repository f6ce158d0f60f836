"""Recording core/v1 Events the way client-go's recorder does.

Controllers, the scheduler and node agents report what they did ("Scheduled",
"Pulled", "BackOff") as Events, which ``kubectl describe`` and ``kubectl get events``
show. Three client-go behaviours matter to users and to the API server's load:

* **Aggregation.** A repeat of the same (object, type, reason, message) from the same
  source does not create a new Event: the existing one is PATCHed with a higher
  ``count`` and a new ``lastTimestamp`` (``BackOff ... x7``). If that Event has been
  deleted meanwhile, it is created again.
* **Spam filtering.** Per source and involved object, a token bucket (burst 25, one
  token per 5 minutes) drops events from something stuck in a hot loop.
* **Fire and forget.** Recording never blocks or fails the caller: events go through
  bounded queues to background workers (a thread for the sync recorder; for the async
  recorder, :data:`ASYNC_WORKERS` tasks, so a busy scheduler's hundreds of events a
  second are written concurrently). Events about one object always go to the same
  worker, which writes them in order, so a repeat is always patched after its create.
  When a queue is full the event is dropped (client-go drops too); drops are counted
  and logged as a rate, at most once per :data:`DROP_LOG_SECONDS`, not once each.
  Failures are logged and dropped.

:class:`EventCorrelator` holds the decisions and is free of I/O; the two recorders
only differ in how they run the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kctl.api import errors
from kctl.client.http import ConnectionFailed
from kctl.client.resources import EVENTS

if TYPE_CHECKING:
    from kctl.client.http import AsyncClient, Client

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

CACHE_SIZE = 4096
QUEUE_SIZE = 1000  # per worker
ASYNC_WORKERS = 16
DROP_LOG_SECONDS = 10.0
SPAM_BURST = 25
SPAM_REFILL_SECONDS = 300.0


def _now_rfc3339(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Mapping[str, Any]) -> dict[str, str]:
    """``involvedObject`` for ``obj`` (empty fields left out, as Go's omitempty)."""
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: str(v) for k, v in ref.items() if v}


@dataclass
class Action:
    """One write to make: ``create`` a new Event or ``patch`` an aggregated one."""

    verb: str  # create | patch
    namespace: str
    name: str
    body: dict[str, Any]  # the full Event (create) ...
    patch: dict[str, Any] = field(default_factory=dict)  # ... or the count bump (patch)


@dataclass
class _Seen:
    name: str
    count: int
    event: dict[str, Any]


class EventCorrelator:
    """Decides, per occurrence, whether to drop, create or patch (no I/O)."""

    def __init__(self, component: str, host: str | None = None) -> None:
        self.component = component
        self.host = host or ""
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self._buckets: OrderedDict[tuple[str, ...], tuple[float, float]] = OrderedDict()

    def _allow(self, ref: Mapping[str, str], now: float) -> bool:
        key = (
            self.component,
            self.host,
            *(ref.get(k, "") for k in ("kind", "namespace", "name", "uid", "apiVersion")),
        )
        tokens, last = self._buckets.pop(key, (float(SPAM_BURST), now))
        tokens = min(float(SPAM_BURST), tokens + (now - last) / SPAM_REFILL_SECONDS)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > CACHE_SIZE:
            self._buckets.popitem(last=False)
        return allowed

    def observe(
        self, obj: Mapping[str, Any], type: str, reason: str, message: str, now: float
    ) -> Action | None:
        ref = object_reference(obj)
        if not self._allow(ref, now):
            return None
        stamp = _now_rfc3339(now)
        key = (
            self.component,
            self.host,
            *(ref.get(k, "") for k in ("kind", "namespace", "name", "uid", "apiVersion")),
            type,
            reason,
            message,
        )
        seen = self._seen.pop(key, None)
        if seen is not None:
            seen.count += 1
            seen.event["count"] = seen.count
            seen.event["lastTimestamp"] = stamp
            self._seen[key] = seen
            patch = {"count": seen.count, "lastTimestamp": stamp, "message": message}
            namespace = seen.event["metadata"]["namespace"]
            return Action("patch", namespace, seen.name, seen.event, patch)
        # client-go: <object name>.<unix nanoseconds in hex>; cluster-scoped -> default.
        name = f"{ref.get('name', 'unknown')}.{int(now * 1e9):016x}"
        namespace = ref.get("namespace") or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        self._seen[key] = _Seen(name, 1, event)
        while len(self._seen) > CACHE_SIZE:
            self._seen.popitem(last=False)
        return Action("create", namespace, name, event)


@dataclass
class _Item:
    obj: Mapping[str, Any]
    type: str
    reason: str
    message: str
    at: float


def _log_failure(action: Action, exc: Exception) -> None:
    log.warning(
        "dropping event %s/%s (%s): %s",
        action.namespace,
        action.name,
        action.body.get("reason"),
        exc,
    )


class DropCounter:
    """Counts events dropped on a full queue and logs them as a rate: the first drop
    at once, then one line per ``interval`` while drops go on."""

    def __init__(self, component: str, interval: float = DROP_LOG_SECONDS) -> None:
        self.component = component
        self.interval = interval
        self.total = 0
        self._pending = 0
        self._since = 0.0
        self._last_log: float | None = None

    def drop(self, reason: str, obj: Mapping[str, Any], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.total += 1
        if self._last_log is None or now - self._last_log >= self.interval:
            if self._pending:
                rate = self._pending / max(now - self._since, 1e-9)
                log.warning(
                    "%s: event queue full, dropped %d events in the last %.0f s (%.0f/s); "
                    "latest: %s event for %s",
                    self.component,
                    self._pending,
                    now - self._since,
                    rate,
                    reason,
                    _describe(obj),
                )
            else:
                log.warning(
                    "%s: event queue full, dropping %s event for %s (further drops are "
                    "reported every %.0f s)",
                    self.component,
                    reason,
                    _describe(obj),
                    self.interval,
                )
            self._last_log, self._since, self._pending = now, now, 0
        else:
            self._pending += 1

    def report(self) -> None:
        """Log what is not reported yet (at shutdown)."""
        if self._pending:
            log.warning(
                "%s: event queue full, dropped %d more events (%d in all)",
                self.component,
                self._pending,
                self.total,
            )
            self._pending = 0


def _shard(obj: Mapping[str, Any], shards: int) -> int:
    """The worker for ``obj``'s events: the same object, the same worker."""
    if shards == 1:
        return 0
    meta = obj.get("metadata") or {}
    key = (obj.get("kind"), meta.get("namespace"), meta.get("name"), meta.get("uid"))
    return hash(key) % shards


# --- sync recorder -------------------------------------------------------------------------


class EventRecorder:
    """``event(obj, type, reason, message)`` from any thread; never blocks or raises."""

    def __init__(self, client: Client, component: str, host: str | None = None) -> None:
        self.client = client
        self.correlator = EventCorrelator(component, host)
        self._queue: queue.Queue[_Item | None] = queue.Queue(QUEUE_SIZE)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.drops = DropCounter(component)

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        try:
            self._ensure_worker()
            self._queue.put_nowait(_Item(obj, type, reason, message, time.time()))
        except queue.Full:
            with self._lock:
                self.drops.drop(reason, obj)
        except Exception:  # recording must never hurt the caller
            log.exception("could not queue event %s", reason)

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name=f"events-{self.correlator.component}", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._record(item)
            except Exception:
                log.exception("event recorder failed")
            finally:
                self._queue.task_done()

    def _record(self, item: _Item) -> None:
        action = self.correlator.observe(item.obj, item.type, item.reason, item.message, item.at)
        if action is None:
            return
        try:
            if action.verb == "patch":
                try:
                    self.client.patch(
                        EVENTS,
                        action.name,
                        action.patch,
                        action.namespace,
                        patch_type="strategic",
                    )
                    return
                except errors.NotFound:
                    pass  # deleted meanwhile: create it again with the current count
            self.client.create(EVENTS, _fresh(action.body), action.namespace)
        except (errors.ApiError, ConnectionFailed) as exc:
            _log_failure(action, exc)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until queued events are written (tests, shutdown). True if drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        worker = self._worker
        if worker is not None and worker.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            worker.join(timeout)
        with self._lock:
            self.drops.report()


# --- async recorder ------------------------------------------------------------------------


class AsyncEventRecorder:
    """The asyncio twin: ``event()`` is a plain (non-async) call from inside the loop.
    ``workers`` tasks write concurrently, each with its own queue; an object's events
    all go to one of them (see the module docstring)."""

    def __init__(
        self,
        client: AsyncClient,
        component: str,
        host: str | None = None,
        *,
        workers: int = ASYNC_WORKERS,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.client = client
        self.correlator = EventCorrelator(component, host)
        self.drops = DropCounter(component)
        self._shards = max(1, workers)
        self._queue_size = queue_size
        self._queues: list[asyncio.Queue[_Item]] = []
        self._workers: list[asyncio.Task[None] | None] = []

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        try:
            if not self._queues:
                self._queues = [asyncio.Queue(self._queue_size) for _ in range(self._shards)]
                self._workers = [None] * self._shards
            i = _shard(obj, self._shards)
            worker = self._workers[i]
            if worker is None or worker.done():
                loop = asyncio.get_running_loop()
                self._workers[i] = loop.create_task(self._run(self._queues[i]))
            self._queues[i].put_nowait(_Item(obj, type, reason, message, time.time()))
        except asyncio.QueueFull:
            self.drops.drop(reason, obj)
        except Exception:
            log.exception("could not queue event %s", reason)

    async def _run(self, items: asyncio.Queue[_Item]) -> None:
        while True:
            item = await items.get()
            try:
                await self._record(item)
            except Exception:
                log.exception("event recorder failed")
            finally:
                items.task_done()

    async def _record(self, item: _Item) -> None:
        action = self.correlator.observe(item.obj, item.type, item.reason, item.message, item.at)
        if action is None:
            return
        try:
            if action.verb == "patch":
                try:
                    await self.client.patch(
                        EVENTS,
                        action.name,
                        action.patch,
                        action.namespace,
                        patch_type="strategic",
                    )
                    return
                except errors.NotFound:
                    pass
            await self.client.create(EVENTS, _fresh(action.body), action.namespace)
        except (errors.ApiError, ConnectionFailed) as exc:
            _log_failure(action, exc)

    async def flush(self) -> None:
        for pending, worker in zip(self._queues, self._workers, strict=True):
            if worker is not None and not worker.done():
                await pending.join()

    async def aclose(self) -> None:
        await self.flush()
        workers = [w for w in self._workers if w is not None]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = [None] * len(self._queues)
        self.drops.report()


def _fresh(event: dict[str, Any]) -> dict[str, Any]:
    # A create never carries a resourceVersion (client-go clears it too).
    body = dict(event)
    body["metadata"] = {k: v for k, v in event["metadata"].items() if k != "resourceVersion"}
    return body


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} {meta.get('namespace', '')}/{meta.get('name', '')}"
