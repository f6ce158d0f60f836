"""Small helpers shared by the store tests (plain asyncio, no plugin needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from kctl.store import Event, Key, Watch

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run one test coroutine on a fresh event loop, with a deadline."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def pod(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"nodeName": ""}}


def pod_key(name: str, namespace: str = "default") -> Key:
    return Key("pods", namespace, name)


async def collect(watch: Watch, count: int, timeout: float = 10.0) -> list[Event]:
    """The next ``count`` events of ``watch``."""
    out: list[Event] = []

    async def take() -> None:
        while len(out) < count:
            out.append(await watch.__anext__())

    await asyncio.wait_for(take(), timeout)
    return out
