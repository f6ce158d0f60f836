"""Leader election on a coordination.k8s.io/v1 Lease, with fenced writes.

Several reconcilers may run; one leads, the others stand by. The protocol is client-go's:

* A candidate reads the Lease every ``retry_period``. It takes the Lease when nobody
  holds it, or when the holder has not renewed it for ``lease_duration`` -- measured by
  this candidate's own clock from when it *observed* the record change, so clocks on
  different machines never need to agree. Taking and renewing are updates carrying the
  resourceVersion, so the API server's compare-and-swap lets only one candidate win.
* The leader renews every ``retry_period``. If it cannot renew for ``renew_deadline``
  (< ``lease_duration``), it stops leading.
* **Fencing.** A leader that was paused (SIGSTOP, a long GC pause, a frozen VM) cannot
  know it lost the Lease until it runs again, and by then it may be about to write.
  :meth:`LeaderElector.may_write` is true only while the last successful renewal is
  younger than ``renew_deadline`` on the monotonic clock, which keeps running while the
  process is stopped; :class:`FencedClient` refuses every write when it is false. The
  gap ``lease_duration - renew_deadline`` is the margin between a leader's last safe
  write and the earliest moment another candidate may take over.
* On shutdown the leader releases the Lease (empty holder) so a standby takes over at
  once instead of after ``lease_duration``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kctl.api import errors
from kctl.client.http import AsyncClient, ConnectionFailed, RequestSpec
from kctl.client.resources import LEASES

log = logging.getLogger(__name__)


class NotLeader(Exception):
    """A write was attempted by a process that does not (or may no longer) hold the Lease."""


@dataclass(frozen=True)
class LeaseTiming:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease-duration > renew-deadline > retry-period > 0")


def micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquires, renews and releases one Lease for ``identity``."""

    def __init__(
        self,
        client: AsyncClient,
        identity: str,
        *,
        namespace: str = "kube-system",
        name: str = "kctl-reconciler",
        timing: LeaseTiming = LeaseTiming(),
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.identity = identity
        self.namespace = namespace
        self.name = name
        self.timing = timing
        self._monotonic = monotonic
        self._wall = wall
        self._renewed_at: float | None = None  # monotonic time of our last successful write
        self._observed: tuple[str, float] | None = None  # (record fingerprint, monotonic seen)
        self._lease: dict[str, Any] | None = None

    # --- the fence -------------------------------------------------------------------

    def may_write(self) -> bool:
        """True while this process certainly still holds the Lease."""
        renewed = self._renewed_at
        return renewed is not None and self._monotonic() - renewed < self.timing.renew_deadline

    # --- one attempt -----------------------------------------------------------------

    def _spec(self, previous: dict[str, Any] | None, now: float) -> dict[str, Any]:
        spec = dict(previous or {})
        transitions = int(spec.get("leaseTransitions") or 0)
        if spec.get("holderIdentity") != self.identity:
            spec["acquireTime"] = micro_time(now)
            if previous is not None and previous.get("holderIdentity"):
                transitions += 1
        spec.update(
            holderIdentity=self.identity,
            leaseDurationSeconds=max(1, round(self.timing.lease_duration)),
            renewTime=micro_time(now),
            leaseTransitions=transitions,
        )
        return spec

    def _expired_for_us(self, spec: dict[str, Any]) -> bool:
        """Whether another holder's record has been unchanged for a lease duration, by our clock."""
        holder = spec.get("holderIdentity")
        if not holder or holder == self.identity:
            return True
        fingerprint = f"{holder}|{spec.get('renewTime')}|{spec.get('leaseTransitions')}"
        now = self._monotonic()
        if self._observed is None or self._observed[0] != fingerprint:
            self._observed = (fingerprint, now)
            return False
        duration = float(spec.get("leaseDurationSeconds") or self.timing.lease_duration)
        return now - self._observed[1] >= duration

    async def try_acquire_or_renew(self) -> bool:
        """One round of the protocol; True if we hold the Lease afterwards."""
        started = self._monotonic()
        now = self._wall()
        try:
            lease = await self.client.get(LEASES, self.name, self.namespace)
        except errors.NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(None, now),
            }
            try:
                self._lease = await self.client.create(LEASES, body, self.namespace)
            except errors.AlreadyExists:
                return False
            self._renewed_at = started
            return True
        spec = lease.get("spec") or {}
        if not self._expired_for_us(spec):
            return False
        body = {**lease, "spec": self._spec(spec, now)}
        try:
            self._lease = await self.client.replace(LEASES, body, self.namespace)
        except errors.Conflict:
            return False
        self._renewed_at = started
        self._observed = None
        return True

    # --- the loops -------------------------------------------------------------------

    async def acquire(self) -> None:
        """Return once this process leads."""
        while True:
            try:
                if await self.try_acquire_or_renew():
                    log.info("%s: acquired lease %s/%s", self.identity, self.namespace, self.name)
                    return
            except (ConnectionFailed, errors.ApiError) as exc:
                log.warning("leader election: %s", exc)
            await asyncio.sleep(self.timing.retry_period)

    async def keep(self) -> None:
        """Renew until a renewal cannot be made within ``renew_deadline``; then return."""
        while True:
            await asyncio.sleep(self.timing.retry_period)
            while True:
                if not self.may_write():
                    log.error("%s: lost lease %s/%s", self.identity, self.namespace, self.name)
                    self._renewed_at = None
                    return
                try:
                    if await self.try_acquire_or_renew():
                        break
                    log.error("%s: lease %s/%s taken by another", self.identity, self.namespace, self.name)
                    self._renewed_at = None
                    return
                except (ConnectionFailed, errors.ApiError) as exc:
                    log.warning("leader election: renewing: %s", exc)
                await asyncio.sleep(min(self.timing.retry_period, 0.5))

    async def release(self) -> None:
        """Give the Lease up (if still ours) so a standby takes over at once."""
        if not self.may_write() or self._lease is None:
            self._renewed_at = None
            return
        self._renewed_at = None
        spec = {**(self._lease.get("spec") or {}), "holderIdentity": "", "leaseDurationSeconds": 1}
        try:
            await self.client.replace(LEASES, {**self._lease, "spec": spec}, self.namespace)
        except (ConnectionFailed, errors.ApiError) as exc:
            log.warning("leader election: releasing: %s", exc)

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forever: wait to lead, run ``lead()`` while leading, stop it when the Lease is
        lost. Cancelling this releases the Lease."""
        try:
            while True:
                await self.acquire()
                leading = asyncio.create_task(lead(), name="leading")
                keeping = asyncio.create_task(self.keep(), name="lease-renewal")
                done, _ = await asyncio.wait({leading, keeping}, return_when=asyncio.FIRST_COMPLETED)
                for task in (leading, keeping):
                    task.cancel()
                await asyncio.gather(leading, keeping, return_exceptions=True)
                failure = leading.exception() if leading in done and not leading.cancelled() else None
                if failure is not None:
                    raise failure
        finally:
            await asyncio.shield(self.release())


class FencedClient(AsyncClient):
    """An :class:`AsyncClient` whose writes fail with :class:`NotLeader` unless the
    fence set with :meth:`fence` (``LeaderElector.may_write``) allows them. Reads are
    never fenced; without a fence, nothing is."""

    _may_write: Callable[[], bool] | None = None

    def fence(self, may_write: Callable[[], bool]) -> None:
        self._may_write = may_write

    async def _run(self, spec: RequestSpec) -> Any:
        if spec.method != "GET" and self._may_write is not None and not self._may_write():
            raise NotLeader(f"not the leader: refusing {spec.method} {spec.path}")
        answer = await super()._run(spec)
        if spec.method != "GET":
            log.debug("wrote: %s %s", spec.method, spec.path)
        return answer
