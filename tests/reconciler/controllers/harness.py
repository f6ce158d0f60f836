"""Running controllers in-process against a real API server, for integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.resources import NAMESPACES
from reconciler.controller import Controller, ControllerContext

T = TypeVar("T")


@dataclass
class Running:
    ctx: ControllerContext
    controllers: list[Any]

    @property
    def client(self) -> AsyncClient:
        return self.ctx.client


@contextlib.asynccontextmanager
async def running(
    kubeconfig: Path, *factories: Callable[[ControllerContext], Controller]
) -> AsyncIterator[Running]:
    """Construct the controllers, start the informers, run them; stop everything after."""
    client = AsyncClient.from_kubeconfig(str(kubeconfig))
    informers = InformerFactory(client)
    ctx = ControllerContext(client=client, informers=informers)
    controllers = [factory(ctx) for factory in factories]
    await informers.start()
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        await informers.wait_synced(10)
        yield Running(ctx, controllers)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError(f"controller crashed: {task.exception()!r}")
        await informers.stop()
        await ctx.close()
        await client.aclose()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


async def make_namespace(client: AsyncClient, name: str) -> None:
    with contextlib.suppress(errors.AlreadyExists):
        await client.create(
            NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )


def replicaset_body(name: str, replicas: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "nginx",
                            "ports": [{"name": "http", "containerPort": 8080}],
                        }
                    ]
                },
            },
        },
    }


def pod_body(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}
            ]
        },
    }
