"""Lease renewal (update the last copy; repair Conflict / NotFound) and the request cap."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from kctl.api import errors
from node.apilimit import BoundedClient
from node.lease import LEASE_NAMESPACE, NodeLease


class LeaseServer:
    """A one-Lease API: resourceVersion checked on replace, like the real one."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.rv = 0
        self.calls: list[str] = []

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self.rv)
        return copy.deepcopy(self.lease)

    async def get(self, info: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append("get")
        if self.lease is None:
            raise errors.NotFound("not found")
        return copy.deepcopy(self.lease)

    async def create(
        self, info: Any, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        self.calls.append("create")
        assert namespace == LEASE_NAMESPACE
        return self._store(body)

    async def replace(
        self, info: Any, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        self.calls.append("replace")
        if self.lease is None:
            raise errors.NotFound("not found")
        if body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise errors.Conflict("conflict")
        return self._store(body)


def test_create_then_renew_with_one_put() -> None:
    async def go() -> None:
        server = LeaseServer()
        lease = NodeLease("n1", node_uid="uid-1")
        first = await lease.renew(server, "2025-01-01T00:00:00.000001Z")  # type: ignore[arg-type]
        assert server.calls == ["get", "create"]
        assert first["spec"] == {
            "holderIdentity": "n1",
            "leaseDurationSeconds": 40,
            "renewTime": "2025-01-01T00:00:00.000001Z",
        }
        assert first["metadata"]["ownerReferences"] == [
            {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "uid-1"}
        ]
        server.calls.clear()
        renewed = await lease.renew(server, "2025-01-01T00:00:10.000002Z")  # type: ignore[arg-type]
        assert server.calls == ["replace"] and renewed["spec"]["renewTime"].endswith("10.000002Z")

    asyncio.run(go())


def test_conflict_and_deletion_are_repaired() -> None:
    async def go() -> None:
        server = LeaseServer()
        lease = NodeLease("n1")
        await lease.renew(server, "t0")  # type: ignore[arg-type]
        assert server.lease is not None
        server._store(server.lease)  # someone else wrote it
        server.calls.clear()
        await lease.renew(server, "t1")  # type: ignore[arg-type]
        assert server.calls == ["replace", "get", "replace"]
        server.lease = None  # someone deleted it
        server.calls.clear()
        await lease.renew(server, "t2")  # type: ignore[arg-type]
        assert server.calls == ["replace", "get", "create"]
        assert server.lease is not None and server.lease["spec"]["renewTime"] == "t2"

    asyncio.run(go())


def test_bounded_client_caps_requests_in_flight() -> None:
    class Slow:
        def __init__(self) -> None:
            self.running = self.peak = 0

        async def patch(self, *args: Any, **kwargs: Any) -> str:
            self.running += 1
            self.peak = max(self.peak, self.running)
            await asyncio.sleep(0.01)
            self.running -= 1
            return "ok"

    async def go() -> int:
        slow = Slow()
        bounded = BoundedClient(slow, limit=4)  # type: ignore[arg-type]
        results = await asyncio.gather(*(bounded.patch("x", i) for i in range(40)))
        assert results == ["ok"] * 40
        return slow.peak

    assert asyncio.run(go()) == 4
