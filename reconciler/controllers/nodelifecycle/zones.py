"""Rate-limited tainting per zone, and the zone disruption state machine.

Losing a node taints it NoExecute, which evicts its pods; losing many at once is more
likely a network partition of the control plane than dead machines, and evicting
everything would make it worse. Kubernetes therefore (and so this module):

* queues the nodes to taint per zone (``topology.kubernetes.io/region``+``zone``) in a
  :class:`TaintQueue` whose token bucket (burst 1) lets ``node-eviction-rate`` nodes per
  second through;
* classifies each zone from its nodes' Ready conditions (:func:`zone_state`):
  FullDisruption when none is Ready, PartialDisruption when more than 2 are not Ready
  and they are at least ``unhealthy-zone-threshold`` of the zone, else Normal;
* sets each zone's rate from its state (:meth:`DisruptionPolicy.rate`): Normal and
  FullDisruption use the normal rate, PartialDisruption the secondary rate in zones
  larger than ``large-cluster-size-threshold`` and 0 (no tainting) in smaller ones;
* when *every* zone is in FullDisruption (the controller most likely lost its own
  connectivity) it stops tainting everywhere and lifts the NoExecute taints
  ("master disruption mode"), and when a node comes back it gives every node a fresh
  grace period before judging again (:meth:`Zones.handle_disruption`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class ZoneState(enum.Enum):
    INITIAL = "Initial"
    NORMAL = "Normal"
    PARTIAL = "PartialDisruption"
    FULL = "FullDisruption"


def zone_state(ready_statuses: list[str | None], unhealthy_threshold: float) -> ZoneState:
    """``ComputeZoneState`` over the Ready statuses of a zone's nodes (None: never set)."""
    ready = sum(1 for s in ready_statuses if s == "True")
    not_ready = len(ready_statuses) - ready
    if ready == 0 and not_ready > 0:
        return ZoneState.FULL
    if not_ready > 2 and not_ready / (not_ready + ready) >= unhealthy_threshold:
        return ZoneState.PARTIAL
    return ZoneState.NORMAL


@dataclass(frozen=True)
class DisruptionPolicy:
    eviction_rate: float = 0.1
    secondary_eviction_rate: float = 0.01
    large_cluster_threshold: int = 50
    unhealthy_threshold: float = 0.55

    def rate(self, state: ZoneState, zone_size: int) -> float:
        """``setLimiterInZone``: nodes per second that may be tainted in the zone."""
        if state is ZoneState.PARTIAL:
            return (
                self.secondary_eviction_rate
                if zone_size > self.large_cluster_threshold
                else 0.0
            )
        return self.eviction_rate


class TokenLimiter:
    """A token bucket of burst 1 that answers yes or no (``TryAccept``); rate 0 never
    accepts."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self._clock = clock
        self._tokens = 1.0
        self._last = clock()

    def try_accept(self) -> bool:
        if self.rate <= 0:
            return False
        now = self._clock()
        self._tokens = min(1.0, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


# A queued action: returns (done, retry after seconds).
Action = Callable[[str], Awaitable[tuple[bool, float]]]


class TaintQueue:
    """``RateLimitedTimedQueue``: node names in arrival order, each processed once until
    :meth:`remove` forgets it, at most as fast as the limiter allows."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.limiter = TokenLimiter(rate, clock)
        self._pending: dict[str, float] = {}  # name -> process at (insertion ordered)
        self._known: set[str] = set()  # pending or processed

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def pending(self) -> list[str]:
        return list(self._pending)

    def add(self, name: str) -> bool:
        if name in self._known:
            return False
        self._known.add(name)
        self._pending[name] = self._clock()
        return True

    def remove(self, name: str) -> bool:
        self._pending.pop(name, None)
        if name in self._known:
            self._known.discard(name)
            return True
        return False

    def swap_rate(self, rate: float) -> None:
        """Change the rate; a new bucket starts empty if the old one was (burst 1)."""
        if rate == self.limiter.rate:
            return
        drained = not self.limiter.try_accept()
        self.limiter = TokenLimiter(rate, self._clock)
        if drained:
            self.limiter.try_accept()

    async def try_process(self, action: Action) -> None:
        """Run ``action`` on due names in order while the limiter allows."""
        while self._pending:
            name, due = next(iter(self._pending.items()))
            if not self.limiter.try_accept():
                return
            now = self._clock()
            if now < due:
                return
            done, wait = await action(name)
            if name not in self._pending:
                continue  # removed while the action ran
            del self._pending[name]
            if not done:
                self._pending[name] = now + wait  # to the back, retried later


@dataclass
class DisruptionOutcome:
    entered_full_disruption: bool = False  # lift the NoExecute taints of every node
    left_full_disruption: bool = False  # give every node a fresh grace period
    changed: dict[str, ZoneState] = field(default_factory=dict)


class Zones:
    """The zones seen so far: their states and their taint queues."""

    def __init__(self, policy: DisruptionPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self.states: dict[str, ZoneState] = {}
        self.queues: dict[str, TaintQueue] = {}

    def queue(self, zone: str) -> TaintQueue:
        """The zone's taint queue (a new zone starts at the normal rate, state Initial)."""
        if zone not in self.queues:
            self.queues[zone] = TaintQueue(self.policy.eviction_rate, self._clock)
            self.states.setdefault(zone, ZoneState.INITIAL)
        return self.queues[zone]

    def handle_disruption(self, ready_by_zone: Mapping[str, list[str | None]]) -> DisruptionOutcome:
        """``handleDisruption``: new zone states and rates from this pass's Ready statuses."""
        new_states = {
            zone: zone_state(statuses, self.policy.unhealthy_threshold)
            for zone, statuses in ready_by_zone.items()
        }
        all_are_full = all(s is ZoneState.FULL for s in new_states.values())
        for zone in new_states:
            self.queue(zone)
        for zone in [z for z in self.states if z not in new_states]:
            del self.states[zone]  # a zone with no nodes left
        all_were_full = all(s is ZoneState.FULL for s in self.states.values())
        outcome = DisruptionOutcome()
        if all_are_full and all_were_full:
            return outcome  # still fully disrupted (or no zones): nothing changes
        if all_are_full:
            log.info("all nodes are not ready: entering master disruption mode")
            for zone in self.states:
                self.queues[zone].swap_rate(0.0)
                self.states[zone] = ZoneState.FULL
            outcome.entered_full_disruption = True
            outcome.changed = dict(self.states)
            return outcome
        if all_were_full:
            log.info("some nodes are ready again: leaving master disruption mode")
            outcome.left_full_disruption = True
        for zone, old in self.states.items():
            new = new_states[zone]
            if old is new and not all_were_full:
                continue
            log.info("zone %r is now %s", zone, new.value)
            self.queues[zone].swap_rate(self.policy.rate(new, len(ready_by_zone[zone])))
            self.states[zone] = new
            outcome.changed[zone] = new
        return outcome
