"""Concurrent writers: CAS picks exactly one winner; concurrent writes share commits."""

from __future__ import annotations

import asyncio

from kctl.store import RevisionConflict, Store
from tests.store.store_helpers import pod, pod_key, run


def test_one_winner_per_round(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:
            key = pod_key("contended")
            entry = await store.create(key, pod("contended"))
            for round_ in range(15):
                expected = entry.revision

                async def attempt(i: int, expected: int = expected, round_: int = round_):
                    obj = pod("contended", writer=f"{round_}-{i}")
                    return await store.update(key, obj, expected)

                results = await asyncio.gather(
                    *(attempt(i) for i in range(12)), return_exceptions=True
                )
                winners = [r for r in results if not isinstance(r, BaseException)]
                losers = [r for r in results if isinstance(r, RevisionConflict)]
                assert len(winners) == 1 and len(losers) == 11, results
                assert {e.current for e in losers} == {winners[0].revision}
                entry = winners[0]
                current = store.get(key)
                assert current is not None and current.value == entry.value
            assert store.revision == 16

    run(main())


def test_group_commit_shares_transactions(store_url: str) -> None:
    async def main() -> None:
        async with await Store.open(store_url) as store:

            async def writer(w: int) -> None:
                for i in range(10):
                    await store.create(pod_key(f"w{w}-{i}"), pod(f"w{w}-{i}"))

            await asyncio.gather(*(writer(w) for w in range(50)))
            stats = store.stats
            assert stats.writes == 500 == store.revision
            assert stats.writes / stats.transactions > 1.0, stats
            # every acknowledged write is in the cache at its own revision
            revisions = sorted(e.revision for e in store.list("pods")[1])
            assert revisions == list(range(1, 501))

    run(main())
