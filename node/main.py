"""The node agent process: parse the settings, run the agent, stop cleanly on SIGTERM.

Shared by ``kctl node`` and ``python -m node``. SIGTERM and SIGINT cancel the agent's
task, so every ``finally`` runs (informers stop, connections close) and the process
exits 0; the nodes stay registered, and a containerd node's containerd and pods keep
running for the next agent to adopt.

``--cleanup`` tears a containerd node down instead, without the API server: every pod
through CRI (containers, sandboxes with their CNI teardown, pod cgroups, volume and log
dirs), then its containerd and state, then its network. Re-running it is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from kctl.client.http import AsyncClient
from node.agent import NodeAgent, host_config
from node.runtime.cri_runtime import CriRuntime, NodeHost
from node.settings import AgentSettings, parse_args

log = logging.getLogger(__name__)


def setup_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbosity < 6:
        for noisy in ("httpx", "httpcore", "hpack", "grpc", "pyroute2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(settings: AgentSettings) -> None:
    """Run the agent until SIGTERM/SIGINT."""
    client = AsyncClient.from_kubeconfig(settings.kubeconfig, context=settings.context)
    agent = NodeAgent(settings, client)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await agent.run()
    except asyncio.CancelledError:
        pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await client.aclose()


async def cleanup(settings: AgentSettings) -> None:
    """``kctl node --name N --data-dir DIR --cleanup``."""
    assert settings.name is not None
    config = host_config(settings, settings.name)
    host = NodeHost(config)
    runtime = CriRuntime(config, None, host=host)
    supervisor = host.supervisor
    try:
        reachable = supervisor is None or (
            supervisor.paths.config.exists() or supervisor.running_pid() is not None
        )
        if supervisor is not None and reachable:
            await supervisor.start(ensure_pause=False)
        if reachable:
            count = await runtime.remove_all_pods()
            log.info("node %s: removed %d pods", config.node_name, count)
    finally:
        await runtime.cri.close()
    await host.cleanup()
    log.info("node %s: cleaned up", config.node_name)


def main(argv: list[str] | None = None, prog: str = "kctl node") -> int:
    settings = parse_args(list(sys.argv[1:] if argv is None else argv), prog)
    setup_logging(settings.verbosity)
    if settings.cleanup:
        asyncio.run(cleanup(settings))
        return 0
    asyncio.run(serve(settings))
    return 0
