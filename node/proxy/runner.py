"""The proxy as a task of the node agent: lock, informers, syncer.

``run_proxy`` is what the agent starts beside its pod sync (``--proxy-mode``):

1. ``none``: returns at once (another proxy, or none, programs services);
2. take the per-network-namespace lock (:mod:`node.proxy.lock`): with several agents
   in one namespace only the holder programs rules; the others wait here and take
   over when it goes;
3. Services and Endpoints informers (the agent's factory if it passes one, else an
   own one), waited for until both have listed, so the first sync never removes the
   rules of services that are merely not listed yet;
4. the other mode's rules, if a previous proxy left some (switching between
   ``iptables`` and ``nftables``), are removed, as kube-proxy does at start;
5. the syncer (with the mode's backend), fed by the informers' handlers, until the
   task is cancelled. The rules stay in place when the agent stops, as kube-proxy's
   do: traffic keeps flowing through a restart, and the next proxy's first (full)
   sync replaces them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory, object_key
from kctl.client.resources import ENDPOINTS, SERVICES
from node.network.iptables import IptablesError
from node.proxy.cleanup import cleanup_other_mode
from node.proxy.lock import DEFAULT_LOCK_DIR, NetnsLock, held, lock_path
from node.proxy.model import ModelCache, ServicePort
from node.proxy.ruleset import DEFAULT_MASQUERADE_MARK, RulesConfig
from node.proxy.sync import ProxySyncer, SyncSettings, new_backend

log = logging.getLogger(__name__)

MODES = ("iptables", "nftables", "none")


@dataclass(frozen=True)
class ProxySettings:
    masquerade_mark: int = DEFAULT_MASQUERADE_MARK
    lock_dir: Path = DEFAULT_LOCK_DIR
    lock_poll: float = 1.0
    sync: SyncSettings = field(default_factory=SyncSettings)


def make_syncer(
    factory: InformerFactory, config: RulesConfig, settings: SyncSettings, mode: str = "iptables"
) -> ProxySyncer:
    """A syncer reading the factory's Services and Endpoints caches, requested by their events."""
    services, endpoints = factory.informer(SERVICES), factory.informer(ENDPOINTS)
    cache = ModelCache()

    def source() -> list[ServicePort]:
        return cache.build(((object_key(s), s) for s in services.store.list()), endpoints.store.get)

    syncer = ProxySyncer(source, config, settings, backend=new_backend(mode, config))
    for informer in (services, endpoints):
        informer.add_handler(
            on_add=lambda _obj: syncer.request(),
            on_update=lambda _old, _new: syncer.request(),
            on_delete=lambda _obj: syncer.request(),
        )
    return syncer


async def remove_other_mode(mode: str) -> None:
    """Switching modes: the other mode's rules would still catch the traffic."""
    try:
        removed = await asyncio.to_thread(cleanup_other_mode, mode)
    except IptablesError as exc:  # e.g. no iptables on an nftables-only machine
        log.warning("proxy: cannot check for the other proxy mode's rules: %s", exc)
        return
    for what in removed:
        log.info("proxy: removed %s (left by the other proxy mode)", what)


async def run_proxy(
    client: AsyncClient | None,
    node_name: str,
    node_ips: Sequence[str],
    cluster_cidr: str,
    mode: str = "iptables",
    *,
    informers: InformerFactory | None = None,
    settings: ProxySettings | None = None,
) -> None:
    """Program this network namespace's service rules until cancelled.

    ``node_ips`` are the node's addresses: NodePorts answer on every local address
    (``-m addrtype --dst-type LOCAL``, kube-proxy's default), these included.
    """
    if mode not in MODES:
        raise ValueError(f"unknown proxy mode {mode!r} (one of {', '.join(MODES)})")
    if mode == "none":
        log.info("proxy: mode none, not programming services")
        return
    settings = settings or ProxySettings()
    lock = NetnsLock(lock_path(settings.lock_dir))
    if not lock.try_acquire(node_name):
        log.info(
            "proxy: %s programs this network namespace; waiting", lock.holder() or "another agent"
        )
    async with held(lock, node_name, settings.lock_poll):
        log.info("proxy: programming services for node %s (%s)", node_name, ", ".join(node_ips))
        own = informers is None
        if informers is None:
            if client is None:
                raise ValueError("run_proxy needs a client or an informer factory")
            informers = InformerFactory(client)
        config = RulesConfig(cluster_cidr=cluster_cidr, masquerade_mark=settings.masquerade_mark)
        syncer = make_syncer(informers, config, settings.sync, mode)
        try:
            await remove_other_mode(mode)
            if own:
                await informers.start()
            await asyncio.gather(
                informers.informer(SERVICES).wait_synced(),
                informers.informer(ENDPOINTS).wait_synced(),
            )
            await syncer.run()
        finally:
            if own:
                await informers.stop()
