"""The client against a real ``kctl apiserver`` process (TLS + token from its kubeconfig)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kctl.api import errors
from kctl.api.kinds import ResourceInfo, default_registry
from kctl.client.events import EventRecorder
from kctl.client.http import AsyncClient, Client
from tests.fixtures.apiserver import ApiServerProcess


def kind(resource: str) -> ResourceInfo:
    info = default_registry().by_resource(resource)
    assert info is not None
    return info


CM = kind("configmaps")
EVENTS = kind("events")


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.fixture
def client(apiserver: ApiServerProcess) -> Iterator[Client]:
    with Client.from_kubeconfig(str(apiserver.kubeconfig), timeout=10) as c:
        yield c


def test_crud_patch_and_errors(client: Client) -> None:
    created = client.create(CM, configmap("crud", a="1"))
    assert created["metadata"]["namespace"] == "default"
    with pytest.raises(errors.AlreadyExists, match='configmaps "crud" already exists'):
        client.create(CM, configmap("crud"))
    assert client.patch(CM, "crud", {"data": {"b": "2"}})["data"] == {"a": "1", "b": "2"}
    smp = client.patch(CM, "crud", {"data": {"c": "3"}}, patch_type="strategic")
    assert smp["data"]["c"] == "3"
    jp = [{"op": "remove", "path": "/data/a"}]
    assert "a" not in client.patch(CM, "crud", jp, patch_type="json")["data"]
    stale = dict(created)  # carries the first resourceVersion
    with pytest.raises(errors.Conflict):
        client.replace(CM, stale)
    client.delete(CM, "crud")
    with pytest.raises(errors.NotFound, match='configmaps "crud" not found'):
        client.get(CM, "crud")


def test_list_then_watch_from_its_revision(client: Client) -> None:
    rv = client.list(CM, "default")["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []

    def watch() -> None:
        for etype, obj in client.watch(CM, "default", resource_version=rv, timeout_seconds=2):
            if etype != "BOOKMARK":
                seen.append((etype, obj["metadata"]["name"]))

    t = threading.Thread(target=watch)
    t.start()
    client.create(CM, configmap("w1"))
    client.delete(CM, "w1")
    t.join(15)
    assert not t.is_alive()
    assert seen == [("ADDED", "w1"), ("DELETED", "w1")]


def test_async_client_and_event_aggregation(apiserver: ApiServerProcess, client: Client) -> None:
    obj = client.create(CM, configmap("evt"))
    rec = EventRecorder(client, "client-test")
    rec.event(obj, "Normal", "Tested", "twice")
    rec.event(obj, "Normal", "Tested", "twice")
    assert rec.flush()
    rec.close()
    events = client.list(EVENTS, "default", field_selector="involvedObject.name=evt")["items"]
    assert [(e["reason"], e["count"]) for e in events] == [("Tested", 2)]

    async def main() -> str:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as ac:
            got = await ac.get(CM, "evt", "default")
            return str(got["metadata"]["name"])

    assert asyncio.run(main()) == "evt"
