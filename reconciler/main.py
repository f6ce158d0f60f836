"""The reconciler process: controllers and the scheduler behind one leader election.

``kctl reconciler --kubeconfig K`` (or ``python -m reconciler``) runs what
kube-controller-manager and kube-scheduler run, in one process: the controllers named
by ``--controllers`` share one :class:`~kctl.client.informer.InformerFactory` (one
list+watch per resource type), and all of them run only while this process holds the
``kube-system/kctl-reconciler`` Lease. Their writes go through a
:class:`~kctl.client.leaderelection.FencedClient`, so a leader that was paused past its
Lease writes nothing when it wakes up. Losing the Lease stops the controllers and makes
the process a candidate again; SIGTERM stops them and releases the Lease.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from kctl.api import memory
from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.leaderelection import FencedClient, LeaderElector, LeaseTiming
from reconciler.controller import Controller, ControllerContext

log = logging.getLogger("reconciler")

# name -> module exposing ``new(ctx) -> Controller``; kube-controller-manager's names.
CONTROLLERS: dict[str, str] = {
    "deployment": "reconciler.controllers.deployment",
    "replicaset": "reconciler.controllers.replicaset",
    "endpoints": "reconciler.controllers.endpoints",
    "garbagecollector": "reconciler.controllers.garbagecollector",
    "namespace": "reconciler.controllers.namespace",
    "nodeipam": "reconciler.controllers.nodeipam",
    "nodelifecycle": "reconciler.controllers.nodelifecycle",
    "scheduler": "reconciler.scheduler",
}


class SettingsError(ValueError):
    """A flag value the reconciler cannot run with."""


def select_controllers(spec: str) -> list[str]:
    """kube-controller-manager's ``--controllers``: ``*`` for all, ``name`` to add one,
    ``-name`` to leave one out; the result keeps :data:`CONTROLLERS`' order."""
    enabled: set[str] = set()
    disabled: set[str] = set()
    for word in (w.strip() for w in spec.split(",")):
        if not word:
            continue
        if word == "*":
            enabled.update(CONTROLLERS)
            continue
        name = word[1:] if word.startswith("-") else word
        if name not in CONTROLLERS:
            known = ", ".join(CONTROLLERS)
            raise SettingsError(f"unknown controller {name!r} (known: {known})")
        (disabled if word.startswith("-") else enabled).add(name)
    return [name for name in CONTROLLERS if name in enabled and name not in disabled]


def parse_options(pairs: list[str]) -> dict[str, str]:
    """``key=value`` strings (``--controller-option``) as a dict."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"--controller-option wants KEY=VALUE, not {pair!r}")
        options[key.strip()] = value.strip()
    return options


def default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:12]}"


@dataclass
class ReconcilerSettings:
    kubeconfig: str | None = None
    controllers: list[str] = field(default_factory=lambda: list(CONTROLLERS))
    options: Mapping[str, str] = field(default_factory=dict)
    leader_elect: bool = True
    identity: str = field(default_factory=default_identity)
    lease_namespace: str = "kube-system"
    lease_name: str = "kctl-reconciler"
    timing: LeaseTiming = field(default_factory=LeaseTiming)


def build_controllers(names: list[str], ctx: ControllerContext) -> list[Controller]:
    controllers = []
    for name in names:
        module = importlib.import_module(CONTROLLERS[name])
        controllers.append(module.new(ctx))
    return controllers


async def lead(settings: ReconcilerSettings, client: AsyncClient) -> None:
    """Run the selected controllers until cancelled (or until one of them fails)."""
    informers = InformerFactory(client)
    ctx = ControllerContext(client=client, informers=informers, options=settings.options)
    controllers = build_controllers(settings.controllers, ctx)
    await informers.start()
    log.info("running controllers: %s", ", ".join(c.name for c in controllers))
    try:
        await asyncio.gather(*(c.run() for c in controllers))
    finally:
        await informers.stop()
        await ctx.close()


async def serve(settings: ReconcilerSettings) -> None:
    client = FencedClient.from_kubeconfig(settings.kubeconfig)
    async with AsyncClient.from_kubeconfig(settings.kubeconfig) as lease_client, client:
        if not settings.leader_elect:
            await lead(settings, client)
            return
        elector = LeaderElector(
            lease_client,
            settings.identity,
            namespace=settings.lease_namespace,
            name=settings.lease_name,
            timing=settings.timing,
        )
        client.fence(elector.may_write)
        await elector.run(lambda: lead(settings, client))


async def _main(settings: ReconcilerSettings) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    # Informer caches churn through every object version: return freed heap memory.
    trimmer = asyncio.create_task(memory.release_periodically(), name="malloc-trim")
    try:
        await serve(settings)
    except asyncio.CancelledError:
        log.info("stopped")
    finally:
        trimmer.cancel()


def run(settings: ReconcilerSettings) -> None:
    """Run the reconciler in this process until SIGTERM/SIGINT."""
    log.info("reconciler %s (pid %d) starting", settings.identity, os.getpid())
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio works too
        pass
    asyncio.run(_main(settings))
