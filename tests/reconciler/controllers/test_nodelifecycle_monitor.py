"""The node health monitor's passes on a fake clock and an in-memory API.

The fake API keeps nodes with resourceVersions and applies the monitor's patches and
status writes; the "informer" caches are refreshed from it before each pass, as a
watch would. Scenarios: a silent node goes Unknown then gets tainted; a node that
reports Ready=False while tainted unreachable is swapped at once; tainting is
rate-limited per zone; when every node is down nothing is tainted and old taints go.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from kctl.api import errors
from kctl.client.informer import BY_NODE_NAME, Indexer, index_by_node_name
from reconciler.controller import ControllerContext
from reconciler.controllers.nodelifecycle.monitor import NodeMonitor
from reconciler.controllers.nodelifecycle.nodes import rfc3339
from reconciler.controllers.nodelifecycle.settings import LifecycleSettings

T0 = 1_700_000_000.0
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class FakeApi:
    """Nodes by name with compare-and-swap on resourceVersion; events are collected."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._rv = 0

    def _bump(self, node: dict[str, Any]) -> None:
        self._rv += 1
        node["metadata"]["resourceVersion"] = str(self._rv)

    def put_node(self, name: str, ready: str, heartbeat: str, labels: dict[str, str] | None = None) -> None:
        node = self.nodes.get(name) or {"apiVersion": "v1", "kind": "Node",
                                         "metadata": {"name": name, "labels": labels or {},
                                                      "creationTimestamp": rfc3339(T0 - 600)},
                                         "spec": {}}
        node["status"] = {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat,
                                          "lastTransitionTime": heartbeat}]}
        self._bump(node)
        self.nodes[name] = node

    def _check(self, name: str, rv: Any) -> dict[str, Any]:
        if name not in self.nodes:
            raise errors.not_found("nodes", "", name)
        node = self.nodes[name]
        if rv and rv != node["metadata"]["resourceVersion"]:
            raise errors.conflict("nodes", "", name)
        return node

    async def get(self, info: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self._check(name, None))

    async def patch(self, info: Any, name: str, patch: dict[str, Any], namespace: str | None = None,
                    **_: Any) -> dict[str, Any]:
        if info.resource == "events":
            return {}
        node = self._check(name, patch.get("metadata", {}).get("resourceVersion"))
        node["spec"].update(copy.deepcopy(patch["spec"]))
        self._bump(node)
        return copy.deepcopy(node)

    async def replace(self, info: Any, body: dict[str, Any], namespace: str | None = None,
                      subresource: str | None = None, **_: Any) -> dict[str, Any]:
        name = body["metadata"]["name"]
        node = self._check(name, body["metadata"].get("resourceVersion"))
        assert subresource == "status"
        node["status"] = copy.deepcopy(body["status"])
        self._bump(node)
        return copy.deepcopy(node)

    async def create(self, info: Any, body: dict[str, Any], namespace: str | None = None,
                     **_: Any) -> dict[str, Any]:
        self.events.append(body)
        return body


class Harness:
    def __init__(self, **settings: Any) -> None:
        self.clock = Clock()
        self.api = FakeApi()
        self.nodes = SimpleNamespace(store=Indexer())
        self.leases = SimpleNamespace(store=Indexer())
        self.pods = SimpleNamespace(store=Indexer({BY_NODE_NAME: index_by_node_name}))
        ctx = ControllerContext(client=self.api, informers=None, clock=self.clock)  # type: ignore[arg-type]
        self.loop = asyncio.new_event_loop()  # one loop for the test, as in a process
        self.monitor = NodeMonitor(ctx, LifecycleSettings(**settings), self.nodes, self.leases, self.pods)  # type: ignore[arg-type]

    def sync_caches(self) -> None:
        for key in self.nodes.store.keys():
            if key not in self.api.nodes:
                self.nodes.store.delete(key)
        for name, node in self.api.nodes.items():
            self.nodes.store.upsert(name, copy.deepcopy(node))

    def heartbeat(self, *names: str, ready: str = "True") -> None:
        for name in names:
            self.api.put_node(name, ready, rfc3339(self.clock.now))

    def run_pass(self, advance: float = 0.0) -> None:
        self.clock.now += advance
        self.sync_caches()

        async def both() -> None:
            await self.monitor.monitor_once()
            self.sync_caches()
            await self.monitor.taint_pass()
            await self.monitor.recorder.flush()

        self.loop.run_until_complete(both())
        self.sync_caches()

    def close(self) -> None:
        self.loop.run_until_complete(self.monitor.recorder.aclose())
        self.loop.close()

    def taints(self, name: str) -> set[tuple[str, str]]:
        return {(t["key"], t["effect"]) for t in self.api.nodes[name]["spec"].get("taints") or []}

    def ready(self, name: str) -> str:
        return str(self.api.nodes[name]["status"]["conditions"][0]["status"])


@contextmanager
def harness(**settings: Any) -> Iterator[Harness]:
    h = Harness(**settings)
    try:
        yield h
    finally:
        h.close()


def test_silent_node_goes_unknown_then_tainted() -> None:
    with harness(grace_period=50.0) as h:
        h.heartbeat("a", "b")
        h.run_pass()
        for step in range(1, 7):  # 60 s: a keeps posting, b is silent
            h.heartbeat("a")
            h.run_pass(10.0)
            if step < 5:
                assert h.ready("b") == "True"
        assert h.ready("b") == "Unknown" and h.ready("a") == "True"
        # Queued on the pass after the Unknown write (the status seen at the start of a pass).
        h.heartbeat("a")
        h.run_pass(1.0)
        assert h.taints("b") == {(UNREACHABLE, "NoExecute")}
        assert h.taints("a") == set()
        taint = h.api.nodes["b"]["spec"]["taints"][0]
        assert taint["timeAdded"] == rfc3339(h.clock.now)
        reasons = {e["reason"] for e in h.api.events}
        assert {"RegisteredNode", "NodeNotReady"} <= reasons
        # Back: Ready=True from the agent lifts the taint.
        h.heartbeat("a", "b")
        h.run_pass(1.0)
        assert h.taints("b") == set()


def test_lease_keeps_a_node_alive_without_status() -> None:
    with harness(grace_period=50.0) as h:
        h.heartbeat("a", "b")
        h.run_pass()
        for _ in range(10):
            renew = rfc3339(h.clock.now).replace("Z", ".000000Z")
            h.leases.store.upsert("kube-node-lease/b", {"spec": {"renewTime": renew}})
            h.heartbeat("a")
            h.run_pass(10.0)
        assert h.ready("b") == "True" and h.taints("b") == set()


def test_not_ready_swaps_the_unreachable_taint_at_once() -> None:
    with harness(grace_period=50.0) as h:
        h.heartbeat("a", "b")
        h.run_pass()
        for _ in range(8):
            h.heartbeat("a")
            h.run_pass(10.0)
        assert h.taints("b") == {(UNREACHABLE, "NoExecute")}
        h.heartbeat("a")
        h.heartbeat("b", ready="False")  # the agent is back but reports NotReady
        h.monitor.zones.queues[""].swap_rate(0.0)  # the swap must not wait for the limiter
        h.run_pass(1.0)
        assert h.taints("b") == {(NOT_READY, "NoExecute")}


def test_tainting_is_rate_limited_per_zone() -> None:
    with harness(grace_period=50.0) as h:
        names = ["n1", "n2", "n3", "n4", "n5", "n6"]
        h.heartbeat(*names)
        h.run_pass()
        for _ in range(7):  # n4..n6 silent: 3 of 6 = 0.5 < 0.55, zone stays Normal
            h.heartbeat("n1", "n2", "n3")
            h.run_pass(10.0)
        tainted = [n for n in names if h.taints(n)]
        assert len(tainted) == 1  # 0.1 nodes/s, burst 1: one per 10 s
        h.heartbeat("n1", "n2", "n3")
        h.run_pass(10.1)
        assert len([n for n in names if h.taints(n)]) == 2
        assert all(not h.taints(n) for n in ("n1", "n2", "n3"))


def test_all_nodes_down_stops_tainting_and_lifts_taints() -> None:
    with harness(grace_period=50.0) as h:
        h.heartbeat("a", "b")
        h.run_pass()
        for _ in range(8):
            h.heartbeat("a")
            h.run_pass(10.0)
        assert h.taints("b") == {(UNREACHABLE, "NoExecute")}
        for _ in range(8):  # now a is silent too: everything down
            h.run_pass(10.0)
        assert h.ready("a") == "Unknown"
        assert h.taints("a") == set() and h.taints("b") == set()
