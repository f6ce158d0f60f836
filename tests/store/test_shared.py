"""Two API servers' stores on one PostgreSQL, each in its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from kctl.store import Event, RevisionConflict, Store, StoreSettings, WatchOverflow
from tests.store.store_helpers import pod, pod_key

pytestmark = pytest.mark.postgres

KEYS = 4
ROUNDS = 15


def _in_thread(fn: Any, *args: Any) -> threading.Thread:
    """Run coroutine function ``fn`` on a fresh loop in a thread; errors go to args[-1]."""

    def target() -> None:
        try:
            asyncio.run(asyncio.wait_for(fn(*args), 60))
        except BaseException as err:  # noqa: BLE001 - reported by the test
            args[-1].append(err)
            barrier.abort()

    barrier = args[0]
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_two_stores_race_and_watch(postgres_url: str) -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    settings = StoreSettings(poll_interval=0.2)

    async def step(loop: asyncio.AbstractEventLoop) -> None:
        await loop.run_in_executor(None, barrier.wait)

    async def server(barrier: threading.Barrier, name: str, errors: list) -> None:
        loop = asyncio.get_running_loop()
        store = await Store.open(postgres_url, settings=settings)
        assert store.shared
        seen: list[Event] = []
        try:
            if name == "a":
                for k in range(KEYS):
                    await store.create(pod_key(f"p{k}"), pod(f"p{k}"))
            await step(loop)
            await store.sync()  # b now sees a's creates
            watch = store.watch("pods", None, 0)
            wins: list[tuple[int, int]] = []
            expected_seen: list[list[int]] = []
            for round_ in range(ROUNDS):
                await step(loop)
                await store.sync()
                current = []
                for k in range(KEYS):
                    entry = store.get(pod_key(f"p{k}"))
                    assert entry is not None
                    current.append(entry.revision)
                expected_seen.append(current)
                await step(loop)  # both have read before anyone writes
                outcomes = await asyncio.gather(
                    *(
                        store.update(pod_key(f"p{k}"), pod(f"p{k}", by=name), current[k])
                        for k in range(KEYS)
                    ),
                    return_exceptions=True,
                )
                for k, outcome in enumerate(outcomes):
                    if isinstance(outcome, RevisionConflict):
                        continue
                    if isinstance(outcome, BaseException):
                        raise outcome
                    wins.append((round_, k))
                await step(loop)
            await store.sync()
            final = store.revision
            while not seen or seen[-1].revision < final:
                seen.extend(await asyncio.wait_for(watch.next_batch(), 10))
            results[name] = {
                "wins": wins,
                "read": expected_seen,
                "seen": [(e.revision, e.type, e.entry.key.name, e.entry.value) for e in seen],
                "final": final,
                "cache": {e.key.name: e.value for e in store.list("pods")[1]},
            }
        finally:
            await store.close()

    threads = [_in_thread(server, barrier, name, errors) for name in ("a", "b")]
    for thread in threads:
        thread.join(90)
    assert not errors, errors
    a, b = results["a"], results["b"]
    assert a["read"] == b["read"]  # every round both raced from the same revisions
    winners = sorted(a["wins"] + b["wins"])
    assert winners == [(r, k) for r in range(ROUNDS) for k in range(KEYS)]  # one per round
    final = KEYS + ROUNDS * KEYS
    assert a["final"] == b["final"] == final
    for side in (a, b):
        revisions = [s[0] for s in side["seen"]]
        assert revisions == list(range(1, final + 1))  # in order, no gap, no duplicate
    assert a["seen"] == b["seen"]  # both servers saw the same history, byte for byte
    assert a["cache"] == b["cache"]


def test_gap_before_own_commit_is_filled(postgres_url: str) -> None:
    """b's own commit lands after a's: b delivers a's revisions first, then its own,
    without any NOTIFY (b's listener pokes are switched off)."""

    async def main() -> None:
        settings = StoreSettings(poll_interval=60)
        a = await Store.open(postgres_url, settings=settings)
        b = await Store.open(postgres_url, settings=settings)
        assert b._listener is not None
        b._listener.poke = lambda: None
        try:
            watch = b.watch("pods", None, 0)
            for i in range(5):
                await a.create(pod_key(f"a{i}"), pod(f"a{i}"))
            assert b.revision == 0 and b.get(pod_key("a0")) is None
            own = await b.create(pod_key("b0"), pod("b0"))
            assert own.revision == 6
            assert b.revision == 6 and b.get(pod_key("a4")) is not None
            events = await asyncio.wait_for(watch.next_batch(), 5)
            assert [e.revision for e in events] == [1, 2, 3, 4, 5, 6]
            assert b.get(pod_key("b0")) is own  # our own event object, not re-decoded

            await a.create(pod_key("a5"), pod("a5"))
            assert b.get(pod_key("a5")) is None
            await b.sync()  # linearizable read: fetches what a committed
            assert b.get(pod_key("a5")) is not None and b.revision == 7
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_feed_behind_compaction_reloads(postgres_url: str) -> None:
    """A server whose feed fell behind the compaction point reloads its cache and ends
    its watchers (their clients relist) instead of skipping revisions."""

    async def main() -> None:
        settings = StoreSettings(poll_interval=60, compaction_interval=0)
        a = await Store.open(postgres_url, settings=settings)
        b = await Store.open(postgres_url, settings=settings)
        assert b._listener is not None
        b._listener.poke = lambda: None
        try:
            watch = b.watch("pods")
            for i in range(20):
                await a.create(pod_key(f"a{i}"), pod(f"a{i}"))
            await a.compact(15)
            await b.sync()
            assert b.revision == 20 and len(b.list("pods")[1]) == 20
            with pytest.raises(WatchOverflow):
                await asyncio.wait_for(watch.__anext__(), 5)
            assert b.compacted == 15
            later = b.watch("pods", None, 20)  # the feed goes on from the reload
            await a.create(pod_key("x"), pod("x"))
            await b.sync()
            assert (await asyncio.wait_for(later.__anext__(), 5)).revision == 21
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(main(), 30))
