"""The work queue's promises: merged duplicates, one worker per key, backoff."""

from __future__ import annotations

import asyncio

import pytest

from kctl.client.workqueue import ItemBackoff, RateLimitingQueue, ShutDown, TokenBucket, WorkQueue


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_duplicates_merge_while_waiting() -> None:
    async def main() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        for key in ["a", "b", "a", "a", "c", "b"]:
            q.add(key)
        got = [await q.get() for _ in range(len(q))]
        return got

    assert run(main()) == ["a", "b", "c"]


def test_key_in_processing_is_not_handed_out_again_until_done() -> None:
    async def main() -> tuple[str, int, str]:
        q: WorkQueue[str] = WorkQueue()
        q.add("a")
        first = await q.get()
        q.add("a")  # changed while being processed: parked, not queued
        waiting = len(q)
        q.done(first)
        again = await asyncio.wait_for(q.get(), 1)
        return first, waiting, again

    assert run(main()) == ("a", 0, "a")


def test_two_workers_never_hold_the_same_key() -> None:
    async def main() -> int:
        q: WorkQueue[int] = WorkQueue()
        holding: set[int] = set()
        overlaps = 0

        async def worker() -> None:
            nonlocal overlaps
            while True:
                try:
                    key = await q.get()
                except ShutDown:
                    return
                if key in holding:
                    overlaps += 1
                holding.add(key)
                await asyncio.sleep(0)
                q.add(key % 3)  # keep re-adding keys that are being processed
                holding.discard(key)
                q.done(key)

        for i in range(30):
            q.add(i % 3)
        tasks = [asyncio.create_task(worker()) for _ in range(4)]
        await asyncio.sleep(0.05)
        q.shutdown()
        await asyncio.gather(*tasks)
        return overlaps

    assert run(main()) == 0


def test_shutdown_wakes_waiting_getters() -> None:
    async def main() -> None:
        q: WorkQueue[str] = WorkQueue()
        getter = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        q.shutdown()
        with pytest.raises(ShutDown):
            await asyncio.wait_for(getter, 1)

    run(main())


def test_add_after_delays_and_earliest_wins() -> None:
    async def main() -> tuple[int, str]:
        q: WorkQueue[str] = WorkQueue()
        q.add_after("x", 5.0)
        q.add_after("x", 0.02)
        before = len(q)
        key = await asyncio.wait_for(q.get(), 1)
        return before, key

    assert run(main()) == (0, "x")


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.005), (1, 0.01), (2, 0.02), (10, 5.12), (40, 1000.0)],
)
def test_item_backoff_doubles_to_cap(failures: int, expected: float) -> None:
    backoff: ItemBackoff[str] = ItemBackoff()
    for _ in range(failures):
        backoff.when("k")
    assert backoff.when("k") == pytest.approx(expected)
    backoff.forget("k")
    assert backoff.failures("k") == 0


def test_token_bucket_allows_burst_then_spaces_out() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1, abs=0.01)
    assert waits[4] == pytest.approx(0.2, abs=0.01)


def test_rate_limited_requeue_counts_and_forget() -> None:
    async def main() -> tuple[int, int]:
        q: RateLimitingQueue[str] = RateLimitingQueue()
        q.add_rate_limited("k")
        q.add_rate_limited("k")
        n = q.num_requeues("k")
        await asyncio.wait_for(q.get(), 1)
        q.forget("k")
        return n, q.num_requeues("k")

    assert run(main()) == (2, 0)
