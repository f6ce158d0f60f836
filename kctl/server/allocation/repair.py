"""The repair pass: keeps the allocation records (:mod:`.records`) true to the Services.

kube-apiserver runs repair controllers for its ``IPAddress`` objects and port bitmaps
for the same reasons as here. A write releases its records itself, but a process can
die between claiming a record and writing the Service, or between removing a Service
and releasing its records; and Services stored before records existed have none.
Every API server runs this pass at start-up and then every ``repair_interval``
seconds; passes on several servers may overlap, because every change is
compare-and-swap (a record changed meanwhile is left alone) or a create (one wins):

* a record that is stale (older than the grace period, not held by its owner) is
  deleted; the grace period is what keeps a pass from collecting the record of a
  write still in flight;
* a number a stored Service holds without a record gets one, dated long ago (the
  Service is committed, so there is nothing in flight to protect: should that Service
  be gone by then, the record is stale at once);
* a number held by a Service but recorded for another one is reported: two Services
  holding one number can only come from data written before records existed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from kctl.server.allocation.records import (
    RESOURCES,
    SERVICES,
    Owner,
    Records,
    body,
    decode,
    numbers,
    record_key,
)
from kctl.server.allocation.service import held
from kctl.store import Key, KeyExists, Store, StoreError

log = logging.getLogger(__name__)


@dataclass
class RepairResult:
    deleted: int = 0
    created: int = 0
    conflicts: int = 0


class Repair:
    def __init__(self, store: Store, records: Records, interval: float) -> None:
        self.store = store
        self.records = records
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.run_once()
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="service-allocation-repair"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("service allocation repair failed: %s", exc)

    async def run_once(self) -> RepairResult:
        result = RepairResult()
        await self.store.sync()
        now = self.records.clock()
        stale: dict[Key, int] = {}
        for resource in RESOURCES:
            for entry in self.store.list(resource)[1]:
                record = decode(entry)
                if record is None or self.records.stale(record, now):
                    stale[entry.key] = entry.revision
        if stale:
            await self.records.delete(stale)
            gone = [k for k in stale if self.store.get(k) is None]
            result.deleted = len(gone)
            log.info("service allocation repair: deleted %d stale records", len(gone))
        missing: list[tuple[Owner, str, int]] = []
        for entry in self.store.list(SERVICES)[1]:
            obj = entry.object()
            owner = Owner.of(obj)
            for resource, value in sorted(numbers(held(obj))):
                record = self.records.get(resource, value)
                if record is None:
                    missing.append((owner, resource, value))
                elif record.owner.uid != owner.uid and not self.records.stale(record, now):
                    result.conflicts += 1
                    log.warning(
                        "%s/%s holds %s %s recorded for %s/%s",
                        owner.namespace,
                        owner.name,
                        resource,
                        record.key.name,
                        record.owner.namespace,
                        record.owner.name,
                    )
        for owner, resource, value in missing:
            try:
                await self.store.create(
                    record_key(resource, value), body(resource, value, owner, 0.0)
                )
                result.created += 1
            except KeyExists:
                pass
        if missing:
            log.info("service allocation repair: recorded %d held numbers", result.created)
        return result
