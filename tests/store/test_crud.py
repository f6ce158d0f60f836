"""Create/get/update/delete with compare-and-swap, on both backends."""

from __future__ import annotations

import orjson
import pytest

from kctl.store import (
    Entry,
    Key,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    Store,
    StoreSettings,
    StoreUnavailable,
)
from tests.store.store_helpers import pod, pod_key, run


def _fields(resource: str, obj: dict) -> dict[str, str]:
    return {"spec.nodeName": obj.get("spec", {}).get("nodeName", "")}


def test_crud_and_cas(store_url: str) -> None:
    async def main() -> None:
        store = await Store.open(store_url, field_extractor=_fields)
        try:
            assert store.revision == 0
            key = pod_key("web")
            obj = pod("web", app="web")
            created = await store.create(key, obj)
            assert created.revision == 1 and store.revision == 1
            assert "resourceVersion" not in obj["metadata"]  # caller's dict untouched
            assert orjson.loads(created.value)["metadata"]["resourceVersion"] == "1"
            assert created.labels == {"app": "web"}
            assert created.fields == {"spec.nodeName": ""}
            assert store.get(key) is created

            with pytest.raises(KeyExists):
                await store.create(key, pod("web"))
            assert store.revision == 1  # refused ops take no revision

            changed = pod("web", app="web")
            changed["spec"]["nodeName"] = "n1"
            updated = await store.update(key, changed, expected_revision=1)
            assert updated.revision == 2
            assert updated.fields == {"spec.nodeName": "n1"}
            assert store.get(key) is updated

            with pytest.raises(RevisionConflict) as conflict:
                await store.update(key, pod("web"), expected_revision=1)
            assert conflict.value.current == 2
            with pytest.raises(KeyNotFound):
                await store.update(pod_key("nope"), pod("nope"), expected_revision=1)
            with pytest.raises(KeyNotFound):
                await store.update(pod_key("nope"), pod("nope"), None)

            forced = await store.update(key, pod("web", app="v2"), None)  # unconditional
            assert forced.revision == 3

            with pytest.raises(RevisionConflict) as conflict:
                await store.delete(key, expected_revision=2)
            assert conflict.value.current == 3
            last = pod("web", app="v2")
            last["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
            deleted = await store.delete(key, expected_revision=3, last_state=last)
            assert deleted.revision == 4
            body = orjson.loads(deleted.value)
            assert body["metadata"]["resourceVersion"] == "4"
            assert body["metadata"]["deletionTimestamp"] == "2024-01-01T00:00:00Z"
            assert store.get(key) is None
            with pytest.raises(KeyNotFound):
                await store.delete(key)

            # delete without last_state returns the stored object stamped
            await store.create(key, pod("web", app="again"))
            gone = await store.delete(key)
            assert orjson.loads(gone.value)["metadata"]["labels"] == {"app": "again"}
            assert gone.labels == {"app": "again"}
            assert gone.revision == store.revision == 6
            assert store.stats.writes == 6
        finally:
            await store.close()

    run(main())


def test_list_is_sorted_filtered_and_consistent(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:
            for ns in ("b", "a"):
                for name in ("z", "m", "c"):
                    await store.create(pod_key(name, ns), pod(name, ns))
            await store.create(Key("nodes", "", "n1"), {"metadata": {"name": "n1"}})
            revision, entries = store.list("pods")
            assert revision == store.revision == 7
            keys = [(e.key.namespace, e.key.name) for e in entries]
            assert keys == sorted(keys) and len(keys) == 6
            _, in_a = store.list("pods", "a")
            assert [e.key.name for e in in_a] == ["c", "m", "z"]
            assert store.list("pods", "none") == (7, [])
            entries.clear()  # a fresh list each time
            assert len(store.list("pods")[1]) == 6
            await store.delete(pod_key("m", "a"))
            assert [e.key.name for e in store.list("pods", "a")[1]] == ["c", "z"]

    run(main())


def test_cancelled_writer_does_not_break_the_batch(store_url: str) -> None:
    async def main() -> None:
        import asyncio

        async with await Store.open(store_url) as store:
            task = asyncio.ensure_future(store.create(pod_key("a"), pod("a")))
            others = [asyncio.ensure_future(store.create(pod_key(f"b{i}"), pod(f"b{i}")))
                      for i in range(5)]  # fmt: skip
            await asyncio.sleep(0)
            task.cancel()
            results = await asyncio.gather(*others)
            assert sorted(e.revision for e in results)[-1] <= store.revision
            # a write that was cancelled may still have committed; the store stays sane
            await asyncio.sleep(0.05)
            assert len(store.list("pods")[1]) in (5, 6)

    run(main())


def test_unencodable_object_fails_alone(tmp_path) -> None:
    async def main() -> None:
        import asyncio

        async with await Store.open(f"sqlite:///{tmp_path}/s.db") as store:
            bad = pod("bad")
            bad["spec"]["x"] = object()
            results = await asyncio.gather(
                store.create(pod_key("ok1"), pod("ok1")),
                store.create(pod_key("bad"), bad),
                store.create(pod_key("ok2"), pod("ok2")),
                return_exceptions=True,
            )
            ok1, bad_result, ok2 = results
            assert isinstance(bad_result, TypeError)
            assert isinstance(ok1, Entry) and isinstance(ok2, Entry)
            assert ok1.revision != ok2.revision
            assert {e.key.name for e in store.list("pods")[1]} == {"ok1", "ok2"}

    run(main())


def test_driver_errors_become_store_unavailable(tmp_path) -> None:
    async def main() -> None:
        with pytest.raises(StoreUnavailable):
            await Store.open("postgresql://nobody@127.0.0.1:1/none")
        with pytest.raises(StoreUnavailable):
            await Store.open("mysql://x/y")
        with pytest.raises(StoreUnavailable):
            await Store.open("sqlite:///:memory:")
        store = await Store.open(f"sqlite:///{tmp_path}/s.db", settings=StoreSettings())
        await store.close()
        with pytest.raises(StoreUnavailable):
            await store.create(pod_key("x"), pod("x"))
        with pytest.raises(StoreUnavailable):
            store.watch("pods")

    run(main())


def test_locked_database_fails_writes_then_recovers(tmp_path) -> None:
    """Another process holding SQLite's write lock: writes fail with StoreUnavailable
    (not a driver error) after busy_timeout, and the store recovers when it is gone."""
    import sqlite3

    async def main() -> None:
        path = tmp_path / "s.db"
        settings = StoreSettings(busy_timeout=0.2)
        async with await Store.open(f"sqlite:///{path}", settings=settings) as store:
            await store.create(pod_key("a"), pod("a"))
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StoreUnavailable):
                    await store.create(pod_key("b"), pod("b"))
            finally:
                other.execute("ROLLBACK")
                other.close()
            entry = await store.create(pod_key("b"), pod("b"))
            assert entry.revision == 2 == store.revision

    run(main())
