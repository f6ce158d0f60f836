"""Watch: resume from the ring or the log, once each and in order, then live."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from kctl.store import Compacted, Store, StoreSettings, WatchOverflow
from tests.store.store_helpers import collect, pod, pod_key, run


async def _churn(store: Store, count: int, namespace: str = "default") -> None:
    """``count`` events on a few keys: creates, updates and deletes."""
    for i in range(count):
        name = f"p{i % 7}"
        key = pod_key(name, namespace)
        entry = store.get(key)
        if entry is None:
            await store.create(key, pod(name, namespace, n=str(i)))
        elif i % 5 == 0:
            await store.delete(key, expected_revision=entry.revision)
        else:
            await store.update(key, pod(name, namespace, n=str(i)), entry.revision)


def _check_order(events, start: int, end: int) -> None:
    assert [e.revision for e in events] == list(range(start, end + 1))
    for event in events:
        body = orjson.loads(event.entry.value)
        assert body["metadata"]["resourceVersion"] == str(event.revision)
        assert event.line().startswith(b'{"type":"' + event.type.encode())


def test_resume_from_ring_then_live(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:
            await _churn(store, 40)
            watch = store.watch("pods", None, 10)
            await _churn(store, 10)
            events = await collect(watch, 40)
            _check_order(events, 11, 50)
            assert watch.revision == 50
            watch.close()
            with pytest.raises(StopAsyncIteration):
                await watch.__anext__()

    run(main())


@pytest.mark.parametrize("ring_size", [1, 10_000])
def test_replay_from_log_with_concurrent_writes(store_url: str, ring_size: int) -> None:
    async def main() -> None:
        settings = StoreSettings(ring_size=ring_size)
        async with await Store.open(store_url, settings=settings) as store:
            await _churn(store, 120)
            watch = store.watch("pods", None, 3)
            writer = asyncio.ensure_future(_churn(store, 60))  # lands while replaying
            events = await collect(watch, 177)
            await writer
            _check_order(events, 4, 180)
            # previous states are the state before each change, also when replayed
            last: dict = {}
            for event in events:
                key = event.entry.key
                if event.type == "ADDED":
                    assert event.previous is None
                elif key in last:
                    assert event.previous is not None
                    assert event.previous.value == last[key].value
                last[key] = event.entry

    run(main())


def test_replay_after_reopen_crosses_chunks(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"

    async def write() -> None:
        async with await Store.open(url) as store:
            await asyncio.gather(
                *(store.create(pod_key(f"p{i}"), pod(f"p{i}")) for i in range(2_300))
            )
            await store.create(pod_key("x", "other"), pod("x", "other"))

    async def read() -> None:
        async with await Store.open(url) as store:
            watch = store.watch("pods", "default", 0)  # ring is empty: all from the log
            events = await collect(watch, 2_300)
            _check_order(events, 1, 2_300)
            assert watch.revision == 2_301  # current through the event in "other" too
            await store.create(pod_key("live"), pod("live"))
            (live,) = await collect(watch, 1)
            assert live.revision == 2_302 and live.entry.key.name == "live"

    run(write())
    run(read())


def test_namespace_filter_and_shared_event_bytes(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:
            everything = store.watch("pods")
            only_a = store.watch("pods", "a")
            nodes = store.watch("nodes")
            await store.create(pod_key("x", "b"), pod("x", "b"))
            await store.create(pod_key("y", "a"), pod("y", "a"))
            (a_event,) = await collect(only_a, 1)
            all_events = await collect(everything, 2)
            assert a_event.revision == 2 and a_event.entry.key.namespace == "a"
            assert all_events[1] is a_event  # one Event object for every watcher
            # the line is assembled from the stored bytes, never a re-encoding
            head, value, tail = a_event.line_parts()
            assert value is a_event.entry.value and head + value + tail == a_event.line()
            assert a_event.line(as_type="DELETED").startswith(b'{"type":"DELETED"')
            assert nodes.revision == 2  # idle watcher is current through the feed
            with pytest.raises(asyncio.TimeoutError):
                await collect(nodes, 1, timeout=0.1)

    run(main())


def test_overflow_ends_slow_watcher(store_url: str) -> None:
    async def main() -> None:
        settings = StoreSettings(watcher_queue_size=5)
        async with await Store.open(store_url, settings=settings) as store:
            slow = store.watch("pods")
            fast = store.watch("pods")
            got = []
            for i in range(8):
                await store.create(pod_key(f"p{i}"), pod(f"p{i}"))
                got.append(await fast.__anext__())
            assert [e.revision for e in got] == list(range(1, 9))
            with pytest.raises(WatchOverflow):
                await slow.__anext__()

    run(main())


def test_compacted_revision_is_refused(store_url: str) -> None:
    async def main() -> None:
        settings = StoreSettings(compaction_batch=7, compaction_interval=0)
        async with await Store.open(store_url, settings=settings) as store:
            await _churn(store, 60)
            assert await store.compact(40) == 40 == store.compacted
            with pytest.raises(Compacted) as err:
                store.watch("pods", None, 39)
            assert err.value.compacted == 40
            events = await collect(store.watch("pods", None, 40), 20)
            _check_order(events, 41, 60)
            assert await store.compact(10_000) == 60  # capped at the current revision

    run(main())


def test_compacted_during_replay(tmp_path) -> None:
    """A replay that finds its range compacted ends with Compacted (the client relists)."""

    async def main() -> None:
        url = f"sqlite:///{tmp_path}/s.db"
        async with await Store.open(url, settings=StoreSettings(ring_size=1)) as store:
            await _churn(store, 30)
            watch = store.watch("pods", None, 5)  # replays from the log when iterated
            await store.compact(20)
            with pytest.raises(Compacted):
                await watch.__anext__()

    run(main())


def test_close_ends_watches(store_url: str) -> None:
    async def main() -> None:
        store = await Store.open(store_url)
        watch = store.watch("pods")
        waiting = asyncio.ensure_future(watch.__anext__())
        await asyncio.sleep(0.01)
        await store.close()
        with pytest.raises(StopAsyncIteration):
            await waiting

    run(main())


def test_watch_from_future_revision(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:
            watch = store.watch("pods", None, 2)
            for i in range(4):
                await store.create(pod_key(f"p{i}"), pod(f"p{i}"))
            events = await collect(watch, 2)
            assert [e.revision for e in events] == [3, 4]

    run(main())
