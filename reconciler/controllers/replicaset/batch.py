"""Slow-start batches: how a controller issues many writes without flooding the server.

``slowStartBatch`` from kube-controller-manager: run ``count`` calls in batches of 1, 2,
4, 8, ... (each batch concurrently), stopping after the first batch with a failure. If
every pod creation fails (quota, admission, a bad template), the controller learns it
after one request rather than after hundreds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

SLOW_START_INITIAL_BATCH_SIZE = 1


def batch_sizes(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """The batch sizes used for ``count`` calls when none fails."""
    sizes: list[int] = []
    remaining, size = count, min(count, initial)
    while size > 0:
        sizes.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return sizes


async def slow_start_batch(
    count: int,
    call: Callable[[], Awaitable[None]],
    initial: int = SLOW_START_INITIAL_BATCH_SIZE,
) -> tuple[int, Exception | None]:
    """Run ``call`` ``count`` times in doubling batches; returns (successes, the first
    error of the failing batch or None). Calls after that batch are never made."""
    successes = 0
    for size in batch_sizes(count, initial):
        results = await asyncio.gather(*(call() for _ in range(size)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation and the like are not failures of a call
        failures = [r for r in results if isinstance(r, Exception)]
        successes += size - len(failures)
        if failures:
            return successes, failures[0]
    return successes, None
