"""Informers against a real API server: list then watch, handlers, indexes, relist."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from kctl.client.http import AsyncClient
from kctl.client.informer import (
    BY_NAMESPACE,
    BY_OWNER_UID,
    Indexer,
    InformerFactory,
    index_by_owner_uid,
    object_key,
    split_key,
)
from kctl.client.resources import CONFIGMAPS
from tests.fixtures.apiserver import ApiServerProcess


def cm(name: str, ns: str = "default", owner: str | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": ns}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": owner}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"k": "v"}}


def test_keys() -> None:
    assert object_key(cm("a", "ns1")) == "ns1/a"
    assert object_key({"metadata": {"name": "node-1"}}) == "node-1"
    assert split_key("ns1/a") == ("ns1", "a")
    assert split_key("node-1") == (None, "node-1")


def test_indexer_keeps_indexes_in_step_with_updates() -> None:
    store = Indexer({BY_OWNER_UID: index_by_owner_uid})
    store.upsert("default/a", cm("a", owner="u1"))
    store.upsert("default/b", cm("b", owner="u1"))
    assert {o["metadata"]["name"] for o in store.by_index(BY_OWNER_UID, "u1")} == {"a", "b"}
    store.upsert("default/a", cm("a", owner="u2"))  # re-owned
    assert [o["metadata"]["name"] for o in store.by_index(BY_OWNER_UID, "u1")] == ["b"]
    assert [o["metadata"]["name"] for o in store.by_index(BY_OWNER_UID, "u2")] == ["a"]
    store.delete("default/b")
    assert store.by_index(BY_OWNER_UID, "u1") == []
    assert len(store) == 1


def test_list_then_watch_with_handlers_and_shared_informers(apiserver: ApiServerProcess) -> None:
    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            await client.create(CONFIGMAPS, cm("before", "default"))
            factory = InformerFactory(client)
            informer = factory.informer(CONFIGMAPS)
            assert factory.informer(CONFIGMAPS) is informer  # shared
            seen: list[tuple[str, str]] = []
            informer.add_handler(
                on_add=lambda o: seen.append(("add", o["metadata"]["name"])),
                on_update=lambda old, new: seen.append(("update", new["metadata"]["name"])),
                on_delete=lambda o: seen.append(("delete", o["metadata"]["name"])),
            )
            await factory.start()
            try:
                await factory.wait_synced(timeout=10)
                assert ("add", "before") in seen
                cached = informer.store.get("default/before")
                assert cached is not None and cached["kind"] == "ConfigMap"
                assert "managedFields" not in cached["metadata"]  # stripped, as client-go's transform
                # repeated strings are one instance in the whole cache (interned)
                assert cached["metadata"]["namespace"] is sys.intern("default")
                live = await client.get(CONFIGMAPS, "before", "default")
                assert live["metadata"]["managedFields"]
                await client.create(CONFIGMAPS, cm("after", "default"))
                await client.patch(CONFIGMAPS, "after", {"data": {"k": "w"}}, "default")
                await client.delete(CONFIGMAPS, "after", "default")
                for _ in range(100):
                    if ("delete", "after") in seen:
                        break
                    await asyncio.sleep(0.05)
                assert [e for e in seen if e[1] == "after"] == [("add", "after"), ("update", "after"), ("delete", "after")]
                assert informer.store.get("default/after") is None
                assert [o["metadata"]["name"] for o in informer.store.by_index(BY_NAMESPACE, "default") if o["metadata"]["name"] == "before"] == ["before"]
            finally:
                await factory.stop()
                await client.delete(CONFIGMAPS, "before", "default")

    asyncio.run(main())


def test_relist_reports_what_changed_while_away(apiserver: ApiServerProcess) -> None:
    """A relist (after a 410 or a broken watch) turns vanished objects into deletes and
    changed ones into updates, so level-triggered controllers miss nothing."""

    async def main() -> None:
        async with AsyncClient.from_kubeconfig(str(apiserver.kubeconfig)) as client:
            await client.create(CONFIGMAPS, cm("stays", "default"))
            await client.create(CONFIGMAPS, cm("goes", "default"))
            factory = InformerFactory(client)
            informer = factory.informer(CONFIGMAPS)
            await factory.start()
            await factory.wait_synced(timeout=10)
            await factory.stop()  # the watch is down from here
            events: list[tuple[str, str]] = []
            informer.add_handler(
                on_update=lambda old, new: events.append(("update", new["metadata"]["name"])),
                on_delete=lambda o: events.append(("delete", o["metadata"]["name"])),
            )
            await client.delete(CONFIGMAPS, "goes", "default")
            await client.patch(CONFIGMAPS, "stays", {"data": {"k": "changed"}}, "default")
            await informer._list()  # what run() does after a failure
            assert sorted(events) == [("delete", "goes"), ("update", "stays")]
            await client.delete(CONFIGMAPS, "stays", "default")

    asyncio.run(main())
