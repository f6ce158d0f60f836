"""The syncer: desired ruleset from the caches -> one write into the kernel's tables.

Level-triggered like a controller: every event only requests a sync; a sync reads the
current Services and Endpoints (through ``source``), builds the whole desired ruleset
and writes what differs from what it last wrote. Details that matter:

* **Coalescing.** Requests set a flag; syncs are at least ``min_sync_interval`` apart,
  so a burst of 100 Endpoints updates becomes one or two restores.
* **Partial restores.** After a successful full sync the syncer remembers every chain
  it wrote; later syncs declare (and so rewrite) only the chains whose lines changed
  and ``-X`` the chains no longer wanted, in the same restore. At 1,000 service ports x
  10 endpoints a full restore takes seconds, one changed service milliseconds.
* **Full resyncs** write every chain and delete every stale ``KCTL-`` chain of the
  proxy found in the kernel (a previous run's leftovers). They happen first, every
  ``full_resync_period``, after any failed restore, and when the canary chains are
  gone or emptied (someone flushed or deleted the proxy's chains: the monitor checks
  every ``canary_interval``). Full syncs also re-insert missing hook jumps.
* **Failures.** A failed restore is logged with the input lines iptables-restore
  pointed at; nothing is remembered as written, and a full resync is retried with
  backoff.
* **Backends.** What is written where is a :class:`Backend`'s: ``iptables``
  (:class:`IptablesBackend`, one ``iptables-restore --noflush`` of ``KCTL-`` chains, as
  below) or ``nftables`` (:class:`NftablesBackend`, one ``nft -f`` transaction into
  the proxy's own table, see :mod:`node.proxy.nftables`: changed chains flushed and
  refilled, map elements deleted and added). Everything else here is shared.
* **UDP.** conntrack keeps a UDP "connection" to a removed endpoint alive forever
  (DNS clients reuse source ports), so flows DNATed to removed endpoints are deleted,
  and so are flows to a service that had no endpoints (they recorded the REJECT path).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from node.proxy import iptables, nft, nftables
from node.proxy.model import ServicePort
from node.proxy.ruleset import HOOKS, TABLES, Chains, RulesConfig, RulesetBuilder, render

log = logging.getLogger(__name__)

Source = Callable[[], list[ServicePort]]


@dataclass(frozen=True)
class SyncSettings:
    min_sync_interval: float = 0.1  # seconds between two restores (bursts coalesce)
    full_resync_period: float = 3600.0  # kube-proxy's FullSyncPeriod
    canary_interval: float = 5.0  # how often the canary chains are checked
    retry_initial: float = 0.5  # first retry after a failed sync, doubling ...
    retry_max: float = 30.0  # ... up to this


@dataclass(frozen=True)
class SyncResult:
    full: bool
    chains_written: int
    chains_deleted: int
    lines: int
    seconds: float


def _key(sp: ServicePort) -> tuple[str, str]:
    return sp.name, sp.protocol


def udp_flushes(old: Iterable[ServicePort], new: Iterable[ServicePort]) -> list[tuple[str, ...]]:
    """``conntrack -D`` argument lists for UDP flows that a ruleset change made stale."""
    before = {_key(sp): sp for sp in old if sp.protocol == "UDP"}
    out: list[tuple[str, ...]] = []
    for sp in new:
        if sp.protocol != "UDP":
            continue
        prev = before.get(_key(sp))
        if prev is None:
            continue
        if not prev.endpoints and sp.endpoints:  # flows recorded while the service rejected
            out.append(("--orig-dst", sp.cluster_ip, "-p", "udp"))
            if sp.node_port:
                out.append(("-p", "udp", "--dport", str(sp.node_port)))
            continue
        gone = {ep.ip for ep in prev.endpoints} - {ep.ip for ep in sp.endpoints}
        for ip in sorted(gone):
            out.append(("--orig-dst", prev.cluster_ip, "-p", "udp", "--dst-nat", ip))
            if prev.node_port:
                out.append(("-p", "udp", "--dport", str(prev.node_port), "--dst-nat", ip))
    new_keys = {_key(sp) for sp in new}
    for key, prev in before.items():
        if key in new_keys:
            continue
        for ip in sorted({ep.ip for ep in prev.endpoints}):
            out.append(("--orig-dst", prev.cluster_ip, "-p", "udp", "--dst-nat", ip))
    return out


def changed_chains(
    applied: dict[str, Chains], desired: dict[str, Chains]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(chains to write, chains to delete) per table, from what was last written."""
    write: dict[str, set[str]] = {}
    delete: dict[str, set[str]] = {}
    for table in TABLES:
        have, want = applied.get(table, {}), desired.get(table, {})
        write[table] = {name for name, rules in want.items() if have.get(name) != rules}
        delete[table] = set(have) - set(want)
    return write, delete


@dataclass(frozen=True)
class Written:
    chains_written: int
    chains_deleted: int
    lines: int


class Backend(Protocol):
    """Writes a desired ruleset for ``ports`` into one kind of kernel tables."""

    errors: tuple[type[Exception], ...]  # what a failed write or check raises

    async def apply(self, ports: list[ServicePort], full: bool) -> Written:
        """Write the ruleset: everything if ``full`` (stale leftovers found in the kernel
        removed), else what differs from the last successful write."""
        ...

    async def intact(self) -> bool:
        """False when someone flushed or deleted the proxy's rules (the canary)."""
        ...


class IptablesBackend:
    """``iptables-restore --noflush`` of the changed (or all) ``KCTL-`` chains."""

    errors: tuple[type[Exception], ...] = (iptables.IptablesError,)

    def __init__(self, config: RulesConfig) -> None:
        self.builder = RulesetBuilder(config)
        self._applied: dict[str, Chains] | None = None

    async def apply(self, ports: list[ServicePort], full: bool) -> Written:
        desired = self.builder.build(ports)
        self._applied, applied = None, self._applied
        if full or applied is None:
            existing = {t: await iptables.owned_chains(t) for t in TABLES}
            write = None
            delete = {t: existing[t] - desired.chain_names(t) for t in TABLES}
        else:
            write, delete = changed_chains(applied, desired.tables)
        text = render(desired, write, delete)
        if text:
            await iptables.restore(text)
        if write is None:  # the jumps into the chains, now that they exist
            for hook in HOOKS:
                if await iptables.ensure_hook(hook):
                    log.info(
                        "proxy: jump to %s added in %s %s", hook.rule[-1], hook.table, hook.chain
                    )
        self._applied = desired.tables
        written = (
            sum(len(c) for c in desired.tables.values())
            if write is None
            else sum(map(len, write.values()))
        )
        return Written(written, sum(map(len, delete.values())), text.count("\n"))

    async def intact(self) -> bool:
        return await iptables.canary_intact()


class NftablesBackend:
    """One ``nft -f`` transaction per sync into the proxy's own table."""

    errors: tuple[type[Exception], ...] = (nft.NftError,)

    def __init__(self, config: RulesConfig) -> None:
        self.builder = nftables.NftBuilder(config)
        self._applied: nftables.NftRuleset | None = None

    async def apply(self, ports: list[ServicePort], full: bool) -> Written:
        desired = self.builder.build(ports)
        self._applied, applied = None, self._applied
        existing = await nft.existing() if full or applied is None else None
        plan = nftables.plan(desired, None if full else applied, existing)
        text = nftables.render(desired, plan)
        if text:
            await nft.load(text)
        self._applied = desired
        return Written(len(plan.write), len(plan.delete_chains), text.count("\n"))

    async def intact(self) -> bool:
        return await nft.canary_intact()


def new_backend(mode: str, config: RulesConfig) -> Backend:
    """The backend of a ``--proxy-mode``: ``iptables`` or ``nftables``."""
    if mode == "iptables":
        return IptablesBackend(config)
    if mode == "nftables":
        return NftablesBackend(config)
    raise ValueError(f"no proxy backend for mode {mode!r}")


class ProxySyncer:
    """Keeps the kernel's proxy rules equal to what ``source`` describes."""

    def __init__(
        self,
        source: Source,
        config: RulesConfig,
        settings: SyncSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        backend: Backend | None = None,
    ) -> None:
        self.source = source
        self.settings = settings or SyncSettings()
        self.clock = clock
        self.backend: Backend = backend or IptablesBackend(config)
        self._wanted = asyncio.Event()
        self._full_due = True  # the next sync writes everything
        self._ports: list[ServicePort] = []
        self._last_sync = float("-inf")
        self._last_full = float("-inf")
        self._failures = 0
        self.syncs = 0  # successful syncs, for tests and metrics

    # --- requests (cheap, from event handlers) ----------------------------------------

    def request(self) -> None:
        self._wanted.set()

    def request_full(self) -> None:
        self._full_due = True
        self._wanted.set()

    @property
    def needs_full(self) -> bool:
        return self._full_due or self.clock() - self._last_full >= self.settings.full_resync_period

    # --- one sync -----------------------------------------------------------------------

    async def sync(self) -> SyncResult:
        """Bring the kernel to the desired state now; raises on failure (and then the
        next sync is full)."""
        start = self.clock()
        ports = self.source()
        full = self.needs_full
        self._full_due = True  # until this one succeeds
        written = await self.backend.apply(ports, full)
        self._full_due = False
        for args in udp_flushes(self._ports, ports):
            await iptables.conntrack_delete(*args)
        self._ports = ports
        now = self.clock()
        self._last_sync = now
        if full:
            self._last_full = now
        self.syncs += 1
        result = SyncResult(
            full, written.chains_written, written.chains_deleted, written.lines, now - start
        )
        log.debug("proxy sync: %s", result)
        return result

    # --- the loops ----------------------------------------------------------------------

    async def run(self) -> None:
        """Sync on request until cancelled (with the canary monitor beside it)."""
        monitor = asyncio.create_task(self._monitor(), name="proxy-canary")
        try:
            self.request()
            while True:
                await self._wanted.wait()
                delay = self._last_sync + self.settings.min_sync_interval - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._wanted.clear()
                await self._sync_logged()
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor

    async def _sync_logged(self) -> None:
        try:
            result = await self.sync()
        except self.backend.errors as exc:
            self._failures += 1
            delay = min(
                self.settings.retry_max, self.settings.retry_initial * 2 ** (self._failures - 1)
            )
            log.error("proxy sync failed (full resync in %.1fs): %s", delay, exc)
            asyncio.get_running_loop().call_later(delay, self.request)
            return
        if self._failures or result.full:
            log.info(
                "proxy: %s sync of %d service ports: %d lines in %.3fs",
                "full" if result.full else "partial",
                len(self._ports),
                result.lines,
                result.seconds,
            )
        self._failures = 0

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.settings.canary_interval)
            if self._full_due:
                continue  # a full sync is already due
            try:
                intact = await self.backend.intact()
            except self.backend.errors as exc:
                log.warning("proxy: cannot check the canary chains: %s", exc)
                continue
            if not intact:
                log.warning("proxy: canary chain gone: the rules were flushed; full resync")
                self.request_full()
            elif self.clock() - self._last_full >= self.settings.full_resync_period:
                self.request_full()
