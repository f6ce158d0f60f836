"""Allocation of Service cluster IPs and node ports on the API server's write path.

The resource handlers call two hooks for every write (no-ops for other kinds):

* :meth:`ServiceAllocator.prepare_update` before admission, so validation sees the
  object as upstream's ``PrepareForUpdate`` leaves it (:func:`.service.prepare_update`);
* ``async with allocator.allocate(info, old, new, dry_run=...)`` around the store write,
  after admission (upstream's ``BeginCreate``/``BeginUpdate``): it fills in what the
  Service needs and does not have, checks what it requests, and holds the numbers it
  chose as a reservation until the block ends. A write that fails inside the block
  (conflict, AlreadyExists, a store error) leaves nothing allocated; one that commits
  leaves its numbers held by the stored Service (:mod:`.ledger`). A dry run chooses
  and checks the same way but reserves nothing.

Choosing is serialised by the ledger's lock (one allocator for addresses and ports);
the store write itself is not, so concurrent creates still share group commits.

Several API servers on one PostgreSQL store: each catches up with every commit made
anywhere before choosing (``Store.sync`` in :meth:`.ledger.Ledger.catch_up`), so a
number committed by one server is never handed out by another. Choices still in flight
on two servers are decided by the database: before the Service write, every number the
write newly takes gets a record created in the store (:mod:`.records`, kube-apiserver's
``IPAddress`` objects); a record that exists already means another server won it, and
the allocation runs again with that number counted as taken (a requested number then
gets the usual "already allocated" answer). After the write, the records of numbers the
stored Service does not hold are deleted (:meth:`.records.Records.settle`): the ones a
failed write claimed, and the ones an update or the final deletion gave up. A write
whose outcome is unknown (cancelled, store unavailable) leaves its records to the
repair pass (:mod:`.repair`), which also collects what a crash left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.api.validation.fielderrors import Errors
from kctl.server import deletion
from kctl.server.allocation import ipallocator, portallocator, service
from kctl.server.allocation.ipallocator import ServiceCIDR, ip_value
from kctl.server.allocation.ledger import Ledger, Reservation
from kctl.server.allocation.portallocator import PortRange
from kctl.server.allocation.records import IP_RESOURCE, Owner, Record, Records, Taken, numbers
from kctl.server.allocation.repair import Repair
from kctl.server.allocation.service import Held
from kctl.store import Key, KeyExists, KeyNotFound, RevisionConflict, Store, StoreError

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass
class AllocationSettings:
    service_cidr: str = "10.96.0.0/12"
    node_port_range: str = portallocator.DEFAULT_RANGE
    cluster_dns: str = "10.96.0.10"
    repair_interval: float = 60.0  # seconds between repair passes (upstream: 3 min); 0: none
    record_grace: float = 30.0  # seconds a record may wait for its Service write


class ServiceAllocator:
    def __init__(
        self,
        store: Store,
        settings: AllocationSettings | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        settings = settings or AllocationSettings()
        reserved = tuple(a for a in settings.cluster_dns.split(",") if a.strip())
        self.cidr = ServiceCIDR.parse(settings.service_cidr, tuple(a.strip() for a in reserved))
        self.ports = PortRange.parse(settings.node_port_range)
        self.records = Records(store, settings.record_grace, clock or time.time)
        self.ledger = Ledger(store)
        self.repair = Repair(store, self.records, settings.repair_interval)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Repair once (a crash may have left records behind), then periodically."""
        await self.repair.start()

    async def close(self) -> None:
        await self.repair.stop()
        self.ledger.close()

    # -- hooks ----------------------------------------------------------------------

    def prepare_update(
        self, info: ResourceInfo, old: Obj, new: Obj, subresource: str = ""
    ) -> Obj:
        if _applies(info, subresource):
            service.prepare_update(old, new)
        return new

    @contextlib.asynccontextmanager
    async def allocate(
        self,
        info: ResourceInfo,
        old: Obj | None,
        new: Obj,
        *,
        dry_run: bool = False,
        subresource: str = "",
    ) -> AsyncIterator[None]:
        if not _applies(info, subresource):
            yield
            return
        owner, before = Owner.of(new), service.held(old)
        reservation = Reservation()
        claimed: dict[Key, int] = {}
        after = Held()  # the final deletion takes nothing and gives up everything
        if not deletion.finished(new):
            claimed = await self._choose(info, old, new, owner, reservation, dry_run)
            after = service.held(new)
        if dry_run:
            yield
            return
        settle = bool(claimed) or not numbers(before) <= numbers(after)
        try:
            yield
        except BaseException as exc:
            if _outcome_unknown(exc):
                settle = False  # the write may still commit: the repair pass decides
            raise
        finally:
            self.ledger.release(reservation)
            if settle:
                await self.records.settle(owner, claimed, before)

    @contextlib.asynccontextmanager
    async def removing(self, info: ResourceInfo, old: Obj) -> AsyncIterator[None]:
        """Around the store delete that removes ``old``: its records go with it."""
        if not _applies(info, "") or not numbers(service.held(old)):
            yield
            return
        settle = True
        try:
            yield
        except BaseException as exc:
            settle = not _outcome_unknown(exc)
            raise
        finally:
            if settle:
                await self.records.settle(Owner.of(old), {}, service.held(old))

    async def _choose(
        self,
        info: ResourceInfo,
        old: Obj | None,
        new: Obj,
        owner: Owner,
        reservation: Reservation,
        dry_run: bool,
    ) -> dict[Key, int]:
        """Choose under the ledger's lock, then claim the records of what was newly
        taken; a number another server claimed first is avoided and the choice redone."""
        original = copy.deepcopy(new.get("spec"))
        avoid = Reservation()
        while True:
            async with self.ledger.lock:
                await self.ledger.catch_up()
                _Allocation(self, info, old, new, reservation, owner, avoid).run()
                if dry_run:
                    return {}
                self.ledger.reserve(reservation)
            taken = Held(frozenset(reservation.ips), frozenset(reservation.ports))
            try:
                return await self.records.claim(owner, numbers(taken))
            except Taken as lost:
                log.debug("lost %s %d to another server; choosing again", lost.resource, lost.value)
                (avoid.ips if lost.resource == IP_RESOURCE else avoid.ports).add(lost.value)
                self.ledger.release(reservation)
                if original is None:
                    new.pop("spec", None)
                else:
                    new["spec"] = copy.deepcopy(original)
            except BaseException:
                self.ledger.release(reservation)
                raise


def _outcome_unknown(exc: BaseException) -> bool:
    """A write interrupted this way may commit after all."""
    if isinstance(exc, (KeyExists, KeyNotFound, RevisionConflict)):
        return False
    return isinstance(exc, (asyncio.CancelledError, StoreError))


def _applies(info: ResourceInfo, subresource: str) -> bool:
    return info.group == "" and info.resource == "services" and not subresource


class _Allocation:
    """One write's allocation (upstream's ``allocateCreate``/``allocateUpdate``):
    addresses first, then node ports; the first failure aborts the write."""

    def __init__(
        self,
        allocator: ServiceAllocator,
        info: ResourceInfo,
        old: Obj | None,
        new: Obj,
        reservation: Reservation,
        owner: Owner,
        avoid: Reservation,
    ) -> None:
        self.cidr, self.range, self.ledger = allocator.cidr, allocator.ports, allocator.ledger
        self.records, self.owner, self.avoid = allocator.records, owner, avoid
        self.info = info
        md = new.get("metadata") or {}
        self.name = str(md.get("name") or "")
        self.creating = old is None
        self.old = service.spec_of(old)
        spec = new.get("spec")
        self.spec: Obj = spec if isinstance(spec, dict) else new.setdefault("spec", {})
        self.res = reservation
        # what the Service keeps from its stored self (an update never conflicts with itself)
        self.kept = service.held(old)

    def run(self) -> None:
        if service.needs_cluster_ip(self.spec):
            self._invalid(service.sync_cluster_ips(self.spec, self.creating))
            self._invalid(service.ip_family_causes(self.spec, self.cidr.family))
            self._cluster_ip()
        if service.needs_node_port(self.spec):
            self._invalid(service.duplicate_node_ports(self.spec))
            self._node_ports()
        if service.needs_hc_node_port(self.spec):
            self._health_check_node_port()

    # -- addresses ------------------------------------------------------------------

    def _cluster_ip(self) -> None:
        ip = str(self.spec.get("clusterIP") or "")
        if ip == service.HEADLESS:
            self.spec.setdefault("clusterIPs", [service.HEADLESS])
            return
        if ip and not self.creating and ip == self.old.get("clusterIP"):
            return  # kept (validation refuses changing it)
        if not ip:
            value = self.cidr.pool.pick(self._ip_taken)
            if value is None:
                raise errors.InternalError(
                    f"failed to allocate a serviceIP: {ipallocator.FULL}"
                )
            self.res.ips.add(value)
            ip = self.cidr.address(value)
            self.spec["clusterIP"] = ip
            self.spec["clusterIPs"] = [ip]
            return
        value = ip_value(ip)
        problem = ""
        if value is None or value not in self.cidr.pool:
            problem = self.cidr.out_of_range(ip)
        elif value not in self.kept.ips and self._ip_held(value, requested=True):
            problem = ipallocator.ALLOCATED
        if problem:
            self._invalid_value(
                "spec.clusterIPs",
                service.cluster_ips(self.spec),
                f"failed to allocate IP {ip}: {problem}",
            )
        if value is not None and value not in self.kept.ips:
            self.res.ips.add(value)

    def _ip_taken(self, value: int) -> bool:
        return value in self.cidr.reserved or value in self.res.ips or self._ip_held(value)

    def _ip_held(self, value: int, requested: bool = False) -> bool:
        """Held by a stored Service, another write here, or another server's claim."""
        if self.ledger.ip_taken(value) or value in self.avoid.ips:
            return True
        return self._claimed(self.ledger.ip_record(value), requested)

    def _port_held(self, value: int, requested: bool = False) -> bool:
        if self.ledger.port_taken(value) or value in self.avoid.ports:
            return True
        return self._claimed(self.ledger.port_record(value), requested)

    def _claimed(self, record: Record | None, requested: bool) -> bool:
        """A record of another Service blocks the number; a requested number may take
        over a stale one (:meth:`.records.Records.stale`)."""
        if record is None or record.owner.uid == self.owner.uid:
            return False
        return not (requested and self.records.stale(record))

    # -- node ports -----------------------------------------------------------------

    def _node_ports(self) -> None:
        ports = service.ports_of(self.spec)
        auto = service.should_allocate_node_ports(self.spec)
        requested = {service.node_port(p) for p in ports} - {0}
        by_port: dict[Any, int] = {}  # create: ports with one number share a node port
        for i, port in enumerate(ports):
            value = service.node_port(port)
            if self.creating and port.get("port") in by_port:
                if not value:
                    port["nodePort"] = by_port[port.get("port")]
                    continue
            elif self.creating and not value and auto:
                value = _requested_for(port.get("port"), ports[i:])
            if not value and not auto:
                continue  # nothing to allocate, but a requested number is honoured
            if value:
                problem = self._claim_port(value)
                if problem:
                    self._invalid_value(f"spec.ports[{i}].nodePort", value, problem)
            else:
                value = self._next_port(requested, "failed to allocate a nodePort")
            port["nodePort"] = value
            by_port.setdefault(port.get("port"), value)

    def _health_check_node_port(self) -> None:
        value = self.spec.get("healthCheckNodePort")
        if isinstance(value, int) and value and not isinstance(value, bool):
            problem = self._claim_port(value)
            if problem:  # upstream answers this one with a plain error (500)
                raise errors.InternalError(
                    f"failed to allocate requested HealthCheck NodePort {value}: {problem}"
                )
            return
        taken = {service.node_port(p) for p in service.ports_of(self.spec)}
        self.spec["healthCheckNodePort"] = self._next_port(
            taken, "failed to allocate a HealthCheck NodePort"
        )

    def _claim_port(self, value: int) -> str:
        """Take a requested node port; the reason it cannot be had, else ""."""
        if value in self.kept.ports or value in self.res.ports:
            return ""  # the Service's own (or shared by another of its ports)
        if value not in self.range.pool:
            return self.range.out_of_range()
        if self._port_held(value, requested=True):
            return portallocator.ALLOCATED
        self.res.ports.add(value)
        return ""

    def _next_port(self, avoid: set[int], failure: str) -> int:
        def taken(value: int) -> bool:
            return (
                value in avoid
                or value in self.res.ports
                or value in self.kept.ports
                or self._port_held(value)
            )

        value = self.range.pool.pick(taken)
        if value is None:
            raise errors.InternalError(f"{failure}: {portallocator.FULL}")
        self.res.ports.add(value)
        return value

    def _invalid_value(self, path: str, value: Any, detail: str) -> None:
        errs = Errors()
        errs.invalid(path, value, detail)
        self._invalid(errs.causes)

    def _invalid(self, causes: list[errors.Cause]) -> None:
        if causes:
            raise errors.invalid(self.info.kind, self.info.group, self.name, causes)


def _requested_for(number: Any, ports: list[Obj]) -> int:
    """upstream ``findRequestedNodePort``: a node port requested by a later port with the
    same number applies to this one too."""
    for port in ports:
        if port.get("port") == number and service.node_port(port):
            return service.node_port(port)
    return 0


__all__ = ["AllocationSettings", "ServiceAllocator"]
