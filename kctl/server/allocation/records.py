"""One database row per allocated number: what makes allocation airtight across servers.

Choosing a number (:mod:`.allocator`) only consults this server's view of the store,
so two API servers sharing one PostgreSQL could both choose the same free number and
both commit a Service holding it. As kube-apiserver does with its ``IPAddress``
objects, a write therefore first *creates* a record per number it newly takes, in the
store's private key space (resources ``serviceipallocations.kctl.io`` and
``servicenodeportallocations.kctl.io``: not kinds of the registry, so never served,
listed in discovery or watched by clients). The store's create is checked by the
database (primary key, under the writers' lock), so exactly one server wins a number;
the loser sees :class:`~kctl.store.KeyExists` and chooses again (or, for a requested
number, answers "provided IP is already allocated").

A record names its owner (the Service's namespace, name and uid) and when it was
claimed. It is *current* while its owner holds the number, *in flight* while it is
younger than the grace period (its Service write may still commit), and *stale*
otherwise (the Service was never written, was deleted, or dropped the number and the
release was lost in a crash). Stale records are deleted by the repair pass
(:mod:`.repair`) and may be taken over at once by a write that requests the number.
Every change to an existing record is compare-and-swap on its revision, so a release
racing a takeover or an adoption never deletes a record that changed under it.

Releasing is level-triggered (:meth:`Records.settle`): after a Service write, the
records this Service owns for numbers the stored Service does not hold (any more, or
because the write failed) are deleted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kctl.server.allocation.ipallocator import ip_value
from kctl.server.allocation.service import Held, held
from kctl.store import Entry, Key, KeyExists, KeyNotFound, RevisionConflict, Store

log = logging.getLogger(__name__)

SERVICES = "services"
IP_RESOURCE = "serviceipallocations.kctl.io"
PORT_RESOURCE = "servicenodeportallocations.kctl.io"
RESOURCES = (IP_RESOURCE, PORT_RESOURCE)
API_VERSION = "kctl.io/v1"
KINDS = {IP_RESOURCE: "ServiceIPAllocation", PORT_RESOURCE: "ServiceNodePortAllocation"}
DEFAULT_GRACE = 30.0  # seconds a record may wait for its Service write


@dataclass(frozen=True)
class Owner:
    """The Service a record belongs to."""

    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Owner:
        md = obj.get("metadata") or {}
        return cls(
            str(md.get("namespace") or ""), str(md.get("name") or ""), str(md.get("uid") or "")
        )

    @property
    def key(self) -> Key:
        return Key(SERVICES, self.namespace, self.name)


@dataclass(frozen=True)
class Record:
    """A decoded record: which number, whose, since when."""

    resource: str
    value: int
    owner: Owner
    claimed_at: float
    revision: int

    @property
    def key(self) -> Key:
        return record_key(self.resource, self.value)


def record_key(resource: str, value: int) -> Key:
    """IP records are named by the address (``10.96.0.15``), port records by the port."""
    if resource == IP_RESOURCE:
        return Key(resource, "", str(ipaddress.ip_address(value)))
    return Key(resource, "", str(value))


def decode(entry: Entry) -> Record | None:
    obj = entry.object()
    svc = obj.get("service") or {}
    value = value_of(entry.key)
    if value < 0:
        return None
    owner = Owner(
        str(svc.get("namespace") or ""), str(svc.get("name") or ""), str(svc.get("uid") or "")
    )
    claimed = obj.get("claimedAt")
    claimed_at = float(claimed) if isinstance(claimed, (int, float)) else 0.0
    return Record(entry.key.resource, value, owner, claimed_at, entry.revision)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def body(resource: str, value: int, owner: Owner, claimed_at: float) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KINDS[resource],
        "metadata": {"name": record_key(resource, value).name},
        "service": {"namespace": owner.namespace, "name": owner.name, "uid": owner.uid},
        "claimedAt": claimed_at,
    }


def numbers(h: Held) -> set[tuple[str, int]]:
    """A Service's holdings as (record resource, number) pairs."""
    return {(IP_RESOURCE, v) for v in h.ips} | {(PORT_RESOURCE, v) for v in h.ports}


class Taken(Exception):
    """A number another Service's record holds (current or in flight)."""

    def __init__(self, resource: str, value: int) -> None:
        super().__init__(f"{resource} {value} is taken")
        self.resource = resource
        self.value = value


class Records:
    """Claims, releases and inspects the records in the store."""

    def __init__(
        self, store: Store, grace: float = DEFAULT_GRACE, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.grace = grace
        self.clock = clock

    # -- what the store says ----------------------------------------------------------

    def holder(self, owner: Owner) -> Held:
        """What ``owner`` (that very Service, by uid) holds in the store's cache."""
        entry = self.store.get(owner.key)
        if entry is None:
            return Held()
        obj = entry.object()
        if Owner.of(obj).uid != owner.uid:
            return Held()
        return held(obj)

    def stale(self, record: Record, now: float | None = None) -> bool:
        """Past its grace period and not held by its owner."""
        now = self.clock() if now is None else now
        if now - record.claimed_at <= self.grace:
            return False
        return (record.resource, record.value) not in numbers(self.holder(record.owner))

    def get(self, resource: str, value: int) -> Record | None:
        entry = self.store.get(record_key(resource, value))
        return decode(entry) if entry is not None else None

    # -- claiming ---------------------------------------------------------------------

    async def claim(self, owner: Owner, wanted: Iterable[tuple[str, int]]) -> dict[Key, int]:
        """Create (or adopt, or take over) a record per number, concurrently (one group
        commit). All or nothing: on :class:`Taken` the ones claimed are released.
        Returns record key -> record revision."""
        wanted = sorted(wanted)
        results = await asyncio.gather(
            *(self._claim_one(owner, r, v) for r, v in wanted), return_exceptions=True
        )
        claimed = dict(r for r in results if isinstance(r, tuple))
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            await self.delete(claimed)
            raise failure
        return claimed

    async def _claim_one(self, owner: Owner, resource: str, value: int) -> tuple[Key, int]:
        key = record_key(resource, value)
        for _ in range(3):
            try:
                entry = await self.store.create(key, body(resource, value, owner, self.clock()))
                return key, entry.revision
            except KeyExists:
                pass
            await self.store.sync()  # the record is committed: see it
            current = self.store.get(key)
            if current is None:
                continue  # released meanwhile: create again
            record = decode(current)
            if record is None or not (record.owner.uid == owner.uid or self.stale(record)):
                raise Taken(resource, value)
            if record.owner.uid != owner.uid:
                log.info(
                    "taking over stale %s %s of %s/%s",
                    KINDS[resource],
                    key.name,
                    record.owner.namespace,
                    record.owner.name,
                )
            try:  # our own (adopt it) or stale (take it over): compare-and-swap
                entry = await self.store.update(
                    key, body(resource, value, owner, self.clock()), current.revision
                )
                return key, entry.revision
            except (RevisionConflict, KeyNotFound):
                continue
        raise Taken(resource, value)

    # -- releasing --------------------------------------------------------------------

    async def delete(self, records: dict[Key, int]) -> None:
        """Delete records at the revisions given; ones changed or gone meanwhile stay."""
        await asyncio.gather(*(self._delete_one(k, rev) for k, rev in records.items()))

    async def _delete_one(self, key: Key, revision: int) -> None:
        try:
            await self.store.delete(key, expected_revision=revision)
        except (RevisionConflict, KeyNotFound):
            pass

    async def settle(self, owner: Owner, claimed: dict[Key, int], before: Held) -> None:
        """After a Service write (committed or not): drop ``owner``'s records for numbers
        the stored Service does not hold: the ones this write claimed in vain, and the
        ones it held ``before`` and gave up."""
        now = numbers(self.holder(owner))
        drop = {k: rev for k, rev in claimed.items() if (k.resource, value_of(k)) not in now}
        for resource, value in numbers(before) - now:
            record = self.get(resource, value)
            if record is not None and record.owner.uid == owner.uid:
                drop.setdefault(record.key, record.revision)
        if drop:
            await self.delete(drop)


def value_of(key: Key) -> int:
    """The number a record key stands for (-1 for a name that is none)."""
    value = ip_value(key.name) if key.resource == IP_RESOURCE else _int(key.name)
    return -1 if value is None else value
