"""A syncer's run loop inside a test: started, waited on until a condition holds, cancelled.

The unit tests (fake kernels) and the kernel tests drive ``ProxySyncer.run`` the same
way; this is that one way, so a test states only what it waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from node.proxy.sync import ProxySyncer


@contextlib.asynccontextmanager
async def running(syncer: ProxySyncer) -> AsyncIterator[None]:
    """``syncer.run()`` as a task for the body, cancelled after it."""
    task = asyncio.create_task(syncer.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(done: Callable[[], bool], timeout: float = 10) -> None:
    """Return once ``done()`` holds; ``TimeoutError`` after ``timeout`` seconds."""

    async def wait() -> None:
        while not done():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)
