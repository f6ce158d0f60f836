"""What every controller of the reconciler shares: its context and its work loop.

A controller is level-triggered (DESIGN.md): informer events enqueue object keys; a
worker pops a key, reads the current state from the informer caches, converges it with
API writes and writes status last. Failures requeue the key with per-item exponential
backoff; a key is never processed by two workers at once (the work queue's promise).
:class:`QueueController` is that loop, written once; a controller supplies
:meth:`QueueController.sync`.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kctl.api import errors
from kctl.client.events import AsyncEventRecorder
from kctl.client.http import AsyncClient, ConnectionFailed
from kctl.client.informer import InformerFactory, object_key
from kctl.client.leaderelection import NotLeader
from kctl.client.workqueue import RateLimitingQueue, ShutDown

log = logging.getLogger(__name__)


class SyncError(Exception):
    """An expected, retryable failure of a sync (a kind not served yet, content that could
    not be deleted yet): logged in one line and retried with backoff, no traceback."""


class Controller(Protocol):
    """What the reconciler process runs: a name and a coroutine that runs until cancelled."""

    name: str

    async def run(self) -> None: ...


@dataclass
class ControllerContext:
    """Everything a controller gets from the process that runs it."""

    client: AsyncClient
    informers: InformerFactory
    options: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    _recorders: dict[str, AsyncEventRecorder] = field(default_factory=dict, repr=False)

    def recorder(self, component: str) -> AsyncEventRecorder:
        """The event recorder for ``component`` (one per component, shared)."""
        recorder = self._recorders.get(component)
        if recorder is None:
            recorder = self._recorders[component] = AsyncEventRecorder(self.client, component)
        return recorder

    def option(self, name: str, default: str) -> str:
        return str(self.options.get(name, default))

    def float_option(self, name: str, default: float) -> float:
        """A number of seconds or a Go duration (``"50s"``, ``"1m30s"``, ``"200ms"``)."""
        raw = self.options.get(name)
        if raw is None or raw == "":
            return default
        return parse_seconds(str(raw))

    def int_option(self, name: str, default: int) -> int:
        raw = self.options.get(name)
        return default if raw is None or raw == "" else int(raw)

    async def close(self) -> None:
        for recorder in self._recorders.values():
            await recorder.aclose()


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_seconds(text: str) -> float:
    """Seconds from ``"2.5"`` or a Go duration such as ``"1m30s"``; ValueError otherwise."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, number, i = 0.0, "", 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        for unit in ("ns", "us", "µs", "ms", "s", "m", "h"):
            if text.startswith(unit, i) and number:
                total += float(number) * _UNITS[unit]
                number, i = "", i + len(unit)
                break
        else:
            raise ValueError(f"not a duration: {text!r}")
    if number:
        raise ValueError(f"duration {text!r} lacks a unit")
    return total


class QueueController(abc.ABC):
    """Workers draining a :class:`RateLimitingQueue` of keys into :meth:`sync`."""

    name: str = "controller"
    workers: int = 2

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.queue: RateLimitingQueue[str] = RateLimitingQueue()
        self.log = logging.getLogger(f"reconciler.{self.name}")

    @abc.abstractmethod
    async def sync(self, key: str) -> None:
        """Converge the object named ``key`` (``ns/name`` or ``name``) to its spec."""

    def enqueue(self, obj_or_key: Mapping[str, Any] | str) -> None:
        self.queue.add(obj_or_key if isinstance(obj_or_key, str) else object_key(obj_or_key))

    def enqueue_after(self, obj_or_key: Mapping[str, Any] | str, seconds: float) -> None:
        key = obj_or_key if isinstance(obj_or_key, str) else object_key(obj_or_key)
        self.queue.add_after(key, seconds)

    async def run(self) -> None:
        await self.ctx.informers.wait_synced()
        workers = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]
        try:
            await asyncio.gather(*workers)
        finally:
            self.queue.shutdown()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.sync(key)
            except asyncio.CancelledError:
                self.queue.done(key)
                raise
            except errors.Conflict:
                self.log.debug("%s: conflict on %s, retrying", self.name, key)
                self.queue.add_rate_limited(key)
            except (errors.ApiError, ConnectionFailed, NotLeader, SyncError) as exc:
                self.log.warning("%s: syncing %s: %s", self.name, key, exc)
                self.queue.add_rate_limited(key)
            except Exception:
                self.log.exception("%s: syncing %s failed", self.name, key)
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
            self.queue.done(key)
