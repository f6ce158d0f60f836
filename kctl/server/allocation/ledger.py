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

Catching up drains the watch without waiting: every event up to the store's revision
is already queued when the feed delivers it. A watch that overflowed (a long quiet
time with many Service writes) or ended is replaced by a rebuild from the store's
cache, registered in the same loop step as the list, so nothing falls in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from kctl.server.allocation.service import Held, held
from kctl.store import Compacted, Event, Key, Store, Watch, WatchOverflow

log = logging.getLogger(__name__)

RESOURCE = "services"
DELETED = "DELETED"


@dataclass
class Reservation:
    """Numbers chosen by one write that is not committed yet."""

    ips: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._watch: Watch | None = None
        self._held: dict[Key, Held] = {}
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
        if self._watch is None or self._watch.closed:
            self._rebuild()
        watch = self._watch
        assert watch is not None
        try:
            while watch.revision < self._store.revision:
                for event in await watch.next_batch():
                    self._apply_event(event)
        except (WatchOverflow, Compacted, StopAsyncIteration) as exc:
            log.info("service allocation index rebuilt from the store (%s)", exc or "watch ended")
            self._rebuild()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _rebuild(self) -> None:
        if self._watch is not None:
            self._watch.close()
        # list and watch in one loop step: the watch starts exactly where the list ends
        _, entries = self._store.list(RESOURCE)
        self._watch = self._store.watch(RESOURCE)
        self._held.clear()
        self._ips.clear()
        self._ports.clear()
        for entry in entries:
            self._set(entry.key, held(entry.object()))

    def _apply_event(self, event: Event) -> None:
        key = event.entry.key
        self._set(key, None if event.type == DELETED else held(event.entry.object()))

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
