"""The node agent process: parse the settings, run the agent, stop cleanly on SIGTERM.

Shared by ``kctl node`` and ``python -m node``. SIGTERM and SIGINT cancel the agent's
task, so every ``finally`` runs (informers stop, connections close) and the process
exits 0; the nodes stay registered.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from kctl.client.http import AsyncClient
from node.agent import NodeAgent
from node.settings import AgentSettings, parse_args


def setup_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbosity < 6:
        logging.getLogger("httpx").setLevel(logging.WARNING)


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


def main(argv: list[str] | None = None, prog: str = "kctl node") -> int:
    settings = parse_args(list(sys.argv[1:] if argv is None else argv), prog)
    setup_logging(settings.verbosity)
    asyncio.run(serve(settings))
    return 0
