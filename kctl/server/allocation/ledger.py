"""Which addresses and node ports are in use: derived from the stored Services.

There is no separate allocation map to keep in step with the Services (kube-apiserver
keeps a bitmap in etcd and needs a repair loop for it): the stored Services *are* the
allocations. The ledger indexes them, number -> owning Service keys, and follows the
store's feed through an ordinary store watch, so everything that changes a Service
updates it the same way: creates and updates through this server, deletions (also
those finished later by a finalizer's removal, or by the namespace controller), and
commits of other API servers on a shared store. A restart rebuilds it from the store.
Releasing is therefore implicit: a number is free once the write that dropped it is
committed.

Between choosing numbers and committing the Service that holds them, a write holds a
:class:`Reservation`, so concurrent writers never pick the same number. A reservation
can be dropped as soon as the write is acknowledged (or failed): the store acknowledges
a write only after its event is in the feed, and every allocation first catches up with
the feed (:meth:`Ledger.catch_up`), so the committed Service is in the index before
anyone looks again.

Other API servers sharing the store choose too, and their choices are not in this
server's reservations: the database decides between them through one record per
number (:mod:`.records`). The ledger follows those records as well, so a number
another server has claimed (its Service not yet committed) is not chosen here, and a
clash at the database is the exception, not the rule.

Catching up drains the watches without waiting: every event up to the store's revision
is already queued when the feed delivers it. A watch that overflowed (a long quiet
time with many Service writes) or ended is replaced by a rebuild from the store's
cache, registered in the same loop step as the list, so nothing falls in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kctl.server.allocation.records import (
    IP_RESOURCE,
    PORT_RESOURCE,
    RESOURCES,
    Record,
    decode,
    value_of,
)
from kctl.server.allocation.service import Held, held
from kctl.store import Compacted, Event, Key, Store, Watch, WatchOverflow

log = logging.getLogger(__name__)

SERVICES = "services"
FOLLOWED = (SERVICES, *RESOURCES)
DELETED = "DELETED"


@dataclass
class Reservation:
    """Numbers chosen by one write that is not committed yet."""

    ips: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._watches: dict[str, Watch] = {}
        self._held: dict[Key, Held] = {}
        self._records: dict[tuple[str, int], Record] = {}
        self._ips: dict[int, set[Key]] = {}
        self._ports: dict[int, set[Key]] = {}
        self._reserved_ips: Counter[int] = Counter()
        self._reserved_ports: Counter[int] = Counter()
        self.lock = asyncio.Lock()  # one allocating writer at a time catches up and picks

    # -- queries --------------------------------------------------------------------

    def ip_taken(self, value: int) -> bool:
        return value in self._ips or self._reserved_ips[value] > 0

    def port_taken(self, value: int) -> bool:
        return value in self._ports or self._reserved_ports[value] > 0

    def ip_record(self, value: int) -> Record | None:
        """The record claiming address ``value`` (this or another server's)."""
        return self._records.get((IP_RESOURCE, value))

    def port_record(self, value: int) -> Record | None:
        return self._records.get((PORT_RESOURCE, value))

    # -- reservations ---------------------------------------------------------------

    def reserve(self, reservation: Reservation) -> None:
        self._reserved_ips.update(reservation.ips)
        self._reserved_ports.update(reservation.ports)

    def release(self, reservation: Reservation) -> None:
        self._reserved_ips.subtract(reservation.ips)
        self._reserved_ports.subtract(reservation.ports)
        for counter in (self._reserved_ips, self._reserved_ports):
            for value in [v for v, n in counter.items() if n <= 0]:
                del counter[value]
        reservation.ips.clear()
        reservation.ports.clear()

    # -- following the store --------------------------------------------------------

    async def catch_up(self) -> None:
        """Bring the index up to the store's current revision (call under ``lock``)."""
        if self._store.shared:
            await self._store.sync()  # other API servers' commits first
        if len(self._watches) < len(FOLLOWED) or any(w.closed for w in self._watches.values()):
            self._rebuild()
        try:
            for watch in self._watches.values():
                while watch.revision < self._store.revision:
                    for event in await watch.next_batch():
                        self._apply_event(event)
        except (WatchOverflow, Compacted, StopAsyncIteration) as exc:
            log.info("service allocation index rebuilt from the store (%s)", exc or "watch ended")
            self._rebuild()

    def close(self) -> None:
        for watch in self._watches.values():
            watch.close()
        self._watches.clear()

    def _rebuild(self) -> None:
        self.close()
        self._held.clear()
        self._ips.clear()
        self._ports.clear()
        self._records.clear()
        # list and watch in one loop step: each watch starts exactly where its list ends
        for resource in FOLLOWED:
            _, entries = self._store.list(resource)
            self._watches[resource] = self._store.watch(resource)
            for entry in entries:
                self._put(entry.key, entry.object() if resource == SERVICES else entry)

    def _apply_event(self, event: Event) -> None:
        entry = event.entry
        if event.type == DELETED:
            self._put(entry.key, None)
        else:
            self._put(entry.key, entry.object() if entry.key.resource == SERVICES else entry)

    def _put(self, key: Key, what: Any) -> None:
        if key.resource == SERVICES:
            self._set(key, None if what is None else held(what))
            return
        record = decode(what) if what is not None else None
        if record is not None:
            self._records[(record.resource, record.value)] = record
        else:
            self._records.pop((key.resource, value_of(key)), None)

    def _set(self, key: Key, now: Held | None) -> None:
        before = self._held.pop(key, None)
        if before is not None:
            _drop(self._ips, before.ips, key)
            _drop(self._ports, before.ports, key)
        if now is not None and (now.ips or now.ports):
            self._held[key] = now
            for value in now.ips:
                self._ips.setdefault(value, set()).add(key)
            for value in now.ports:
                self._ports.setdefault(value, set()).add(key)


def _drop(owners: dict[int, set[Key]], values: frozenset[int], key: Key) -> None:
    for value in values:
        keys = owners.get(value)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del owners[value]
