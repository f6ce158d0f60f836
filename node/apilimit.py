"""One cap on the agent's API requests in flight, below the client's keep-alive pool.

The HTTP client keeps at most 20 idle connections. Measured with 1,000 hollow nodes:
when more requests than that run at once (32 pod workers plus 32 lease renewals),
connections are opened and closed continually -- one TLS handshake each, 9,500 of
them for 2,000 pods -- and the connection pool's bookkeeping grows with the queue, so
the agent burns its CPU on transport instead of pods. Sending every request of the
agent (pod status, deletions, leases, node status) through one semaphore smaller than
the pool keeps every connection alive and reused. The informers' list+watch streams
bypass it: they are long-lived and few.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

from kctl.client.http import AsyncClient

DEFAULT_LIMIT = 16  # keep-alive pool (20) minus the agent's two watch streams, with room


class ApiCalls(Protocol):
    """The verbs the agent writes with (an :class:`AsyncClient` or a :class:`BoundedClient`)."""

    def get(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...
    def create(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...
    def replace(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...
    def patch(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...
    def delete(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...


class BoundedClient:
    """:class:`AsyncClient`'s single-request verbs, at most ``limit`` at once."""

    def __init__(self, client: AsyncClient, limit: int = DEFAULT_LIMIT) -> None:
        self.client = client
        self._slots = asyncio.Semaphore(max(1, limit))

    async def _call(self, verb: str, *args: Any, **kwargs: Any) -> Any:
        async with self._slots:
            return await getattr(self.client, verb)(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("get", *args, **kwargs)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("create", *args, **kwargs)

    async def replace(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("replace", *args, **kwargs)

    async def patch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("patch", *args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("delete", *args, **kwargs)
