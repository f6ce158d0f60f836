"""The ReplicaSet controller's sync against a fake API client: expectations keep a
slow watch from causing double creates or deletes; failures stop slow start and set
the ReplicaFailure condition."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, cast

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.resources import PODS, REPLICASETS
from reconciler.controller import ControllerContext
from reconciler.controllers.replicaset.controller import ReplicaSetController
from tests.reconciler.controllers.rsobjects import T0, pod, replicaset

KEY = "default/rs"


class FakeClient:
    """Records writes; answers like the API server would."""

    def __init__(self, fail_creates: bool = False) -> None:
        self.fail_creates = fail_creates
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.statuses: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._names = itertools.count()

    async def create(
        self, info: Any, body: dict[str, Any], namespace: str | None = None, **_: Any
    ) -> Any:
        if info.kind == "Event":
            self.events.append(body)
            return body
        assert info is PODS
        if self.fail_creates:
            raise errors.Forbidden('pods "rs-" is forbidden: exceeded quota')
        name = f"{body['metadata']['generateName']}{next(self._names)}"
        made = {
            **body,
            "metadata": {
                **body["metadata"],
                "name": name,
                "uid": f"uid-{name}",
                "resourceVersion": "1",
            },
        }
        self.created.append(made)
        return made

    async def delete(self, info: Any, name: str, namespace: str | None = None, **_: Any) -> Any:
        assert info is PODS
        self.deleted.append(name)
        return {}

    async def replace(
        self, info: Any, body: dict[str, Any], namespace: str | None = None, **kw: Any
    ) -> Any:
        assert info is REPLICASETS and kw.get("subresource") == "status"
        self.statuses.append(body["status"])
        return body

    async def patch(self, *args: Any, **kw: Any) -> Any:
        raise AssertionError("no adoption expected")

    async def get(self, *args: Any, **kw: Any) -> Any:
        raise AssertionError("no get expected")


def _controller(client: FakeClient) -> ReplicaSetController:
    api = cast(AsyncClient, client)
    ctx = ControllerContext(client=api, informers=InformerFactory(api), clock=lambda: T0)
    return ReplicaSetController(ctx)


def _observe(ctl: ReplicaSetController, kind: str, obj: dict[str, Any]) -> None:
    informer = ctl.replicasets if obj["kind"] == "ReplicaSet" else ctl.pods
    informer._apply(kind, obj)  # what a watch event does: cache update + handlers


def test_slow_watch_does_not_create_twice() -> None:
    async def scenario() -> None:
        client = FakeClient()
        ctl = _controller(client)
        _observe(ctl, "ADDED", replicaset(replicas=3))
        await ctl.sync(KEY)
        assert len(client.created) == 3
        await ctl.sync(KEY)  # the watch has shown none of the pods yet
        assert len(client.created) == 3
        assert ctl.expectations.pending(KEY) == (3, 0)
        for made in client.created:
            _observe(ctl, "ADDED", {**made, "status": {"phase": "Pending"}})
        assert ctl.expectations.satisfied(KEY)
        await ctl.sync(KEY)
        assert len(client.created) == 3
        assert client.statuses[-1]["replicas"] == 3
        assert client.statuses[-1]["observedGeneration"] == 1

    asyncio.run(scenario())


def test_slow_watch_does_not_delete_twice() -> None:
    async def scenario() -> None:
        client = FakeClient()
        ctl = _controller(client)
        _observe(ctl, "ADDED", replicaset(replicas=2))
        pods = [pod(f"p{i}", labels={"app": "rs"}, owner_uid="uid-rs", node="n1") for i in range(5)]
        pods[3]["spec"].pop("nodeName")  # unassigned: deleted first
        for p in pods:
            _observe(ctl, "ADDED", p)
        await ctl.sync(KEY)
        assert len(client.deleted) == 3 and "p3" in client.deleted
        await ctl.sync(KEY)
        assert len(client.deleted) == 3
        for p in pods:
            if p["metadata"]["name"] in client.deleted:
                _observe(ctl, "DELETED", p)
        assert ctl.expectations.satisfied(KEY)
        await ctl.sync(KEY)
        assert len(client.deleted) == 3

    asyncio.run(scenario())


def test_create_failure_stops_slow_start_and_sets_condition() -> None:
    async def scenario() -> None:
        client = FakeClient(fail_creates=True)
        ctl = _controller(client)
        _observe(ctl, "ADDED", replicaset(replicas=10))
        try:
            await ctl.sync(KEY)
        except errors.Forbidden:
            pass
        else:
            raise AssertionError("sync should fail")
        [cond] = client.statuses[-1]["conditions"]
        assert (cond["type"], cond["reason"]) == ("ReplicaFailure", "FailedCreate")
        assert cond["message"] == 'pods "rs-" is forbidden: exceeded quota'
        assert ctl.expectations.satisfied(KEY)  # the failed creation is not waited for
        await asyncio.sleep(0.05)  # let the event recorder run
        [event] = client.events
        assert (event["reason"], event["type"]) == ("FailedCreate", "Warning")
        assert event["message"] == 'Error creating: pods "rs-" is forbidden: exceeded quota'

    asyncio.run(scenario())


def test_burst_replicas_caps_one_sync() -> None:
    async def scenario() -> None:
        client = FakeClient()
        ctl = _controller(client)
        ctl.burst_replicas = 20
        _observe(ctl, "ADDED", replicaset(replicas=50))
        await ctl.sync(KEY)
        assert len(client.created) == 20

    asyncio.run(scenario())


def test_foreign_and_terminating_pods_do_not_count() -> None:
    async def scenario() -> None:
        client = FakeClient()
        ctl = _controller(client)
        _observe(ctl, "ADDED", replicaset(replicas=2))
        _observe(ctl, "ADDED", pod("mine", labels={"app": "rs"}, owner_uid="uid-rs"))
        _observe(ctl, "ADDED", pod("other", labels={"app": "rs"}, owner_uid="uid-other"))
        _observe(
            ctl, "ADDED", pod("going", labels={"app": "rs"}, owner_uid="uid-rs", deleting=True)
        )
        _observe(
            ctl, "ADDED", pod("done", labels={"app": "rs"}, owner_uid="uid-rs", phase="Succeeded")
        )
        await ctl.sync(KEY)
        assert len(client.created) == 1

    asyncio.run(scenario())


def _queued(ctl: ReplicaSetController) -> int:
    """Keys ready for a worker now (not those waiting out a delay)."""
    return len(ctl.queue)


def test_status_only_pod_changes_wait_in_proportion_to_counting_cost() -> None:
    async def scenario() -> None:
        ctl = _controller(FakeClient())
        _observe(ctl, "ADDED", replicaset(replicas=1))
        mine = pod("p0", labels={"app": "rs"}, owner_uid="uid-rs", node="n1", ready=False)
        _observe(ctl, "ADDED", mine)
        await ctl.sync(KEY)  # a one-pod ReplicaSet counts in microseconds
        while _queued(ctl):
            ctl.queue.done(await ctl.queue.get())

        ready = pod("p0", labels={"app": "rs"}, owner_uid="uid-rs", node="n1", ready=True)
        ready["metadata"]["resourceVersion"] = "2"
        _observe(ctl, "MODIFIED", ready)
        assert _queued(ctl) == 1  # small: at once
        ctl.queue.done(await ctl.queue.get())

        ctl._counting_cost[KEY] = 0.05  # as if counting its pods took 50 ms
        unready = pod("p0", labels={"app": "rs"}, owner_uid="uid-rs", node="n1", ready=False)
        unready["metadata"]["resourceVersion"] = "3"
        _observe(ctl, "MODIFIED", unready)
        assert _queued(ctl) == 0  # batched: 3 x 50 ms
        await asyncio.sleep(0.1)
        assert _queued(ctl) == 0
        await asyncio.sleep(0.1)
        assert _queued(ctl) == 1

        relabeled = pod("p0", labels={"app": "other"}, owner_uid="uid-rs", node="n1")
        relabeled["metadata"]["resourceVersion"] = "4"
        ctl.queue.done(await ctl.queue.get())
        _observe(ctl, "MODIFIED", relabeled)
        assert _queued(ctl) == 1  # a label change may release the pod: at once

    asyncio.run(scenario())


def test_only_the_last_expected_creation_syncs_at_once() -> None:
    async def scenario() -> None:
        client = FakeClient()
        ctl = _controller(client)
        _observe(ctl, "ADDED", replicaset(replicas=3))
        await ctl.sync(KEY)
        ctl.queue.done(await ctl.queue.get())  # the ReplicaSet's own ADDED
        ctl._counting_cost[KEY] = 0.05
        first, second, third = client.created
        _observe(ctl, "ADDED", {**first, "status": {"phase": "Pending"}})
        _observe(ctl, "ADDED", {**second, "status": {"phase": "Pending"}})
        assert _queued(ctl) == 0  # more creations on their way: batched
        _observe(ctl, "ADDED", {**third, "status": {"phase": "Pending"}})
        assert _queued(ctl) == 1  # expectations met: the sync may act now

    asyncio.run(scenario())
