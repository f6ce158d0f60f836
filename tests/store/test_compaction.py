"""Compaction: the retention policy, the background task, and a bounded WAL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from kctl.store import Compacted, Store, StoreSettings
from kctl.store.compaction import RetentionPolicy
from tests.store.store_helpers import pod, pod_key, run


def test_retention_keeps_time_and_revisions() -> None:
    policy = RetentionPolicy(retention_revisions=5, retention_seconds=300)
    policy.observe(0, 10)
    assert policy.target(now=10, current=20) == 0  # nothing is 5 minutes old yet
    policy.observe(100, 50)
    policy.observe(400, 90)
    assert policy.target(now=400, current=100) == 50  # newest sample >= 300 s old
    assert policy.target(now=401, current=52) == 47  # but keep the last 5 revisions
    assert policy.target(now=700, current=200) == 90


def test_background_compaction(store_url: str) -> None:
    async def main() -> None:
        settings = StoreSettings(
            compaction_interval=0.05, retention_seconds=0, retention_revisions=10,
            compaction_batch=8,
        )  # fmt: skip
        async with await Store.open(store_url, settings=settings) as store:
            for i in range(50):
                await store.create(pod_key(f"p{i}"), pod(f"p{i}"))
            for _ in range(100):
                if store.compacted >= 40:
                    break
                await asyncio.sleep(0.05)
            assert store.compacted == 40
            with pytest.raises(Compacted):
                store.watch("pods", None, 39)
            assert len(store.list("pods")[1]) == 50  # compaction never touches objects

    run(main())


def test_compaction_bounds_the_sqlite_log_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def main() -> None:
        settings = StoreSettings(compaction_interval=0, compaction_batch=500)
        async with await Store.open(f"sqlite:///{path}", settings=settings) as store:
            blob = "x" * 2000
            for round_ in range(3):
                await asyncio.gather(
                    *(
                        store.update(pod_key(f"p{i}"), {**pod(f"p{i}"), "data": blob}, None)
                        if round_
                        else store.create(pod_key(f"p{i}"), {**pod(f"p{i}"), "data": blob})
                        for i in range(1000)
                    )
                )
            assert os.path.getsize(f"{path}-wal") > 1_000_000
            await store.compact(store.revision)
            assert os.path.getsize(f"{path}-wal") == 0  # checkpointed and truncated
            with sqlite3.connect(path) as db:
                assert db.execute("SELECT count(*) FROM log").fetchone()[0] == 0
                assert db.execute("SELECT compacted FROM meta").fetchone()[0] == 3000
            assert store.stats.transactions < 3000  # the updates were group-committed

    run(main())
