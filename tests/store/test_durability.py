"""Acknowledged writes survive: reopen keeps everything, and so does kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson

from kctl.store import Key, Store, StoreSettings
from tests.store.store_helpers import collect, pod, pod_key, run

WRITER = Path(__file__).with_name("writer_proc.py")


def test_reopen_keeps_everything(store_url: str) -> None:
    async def first() -> tuple[int, dict]:
        async with await Store.open(store_url) as store:
            for i in range(30):
                await store.create(pod_key(f"p{i}", f"ns{i % 3}"), pod(f"p{i}", f"ns{i % 3}"))
            for i in range(0, 30, 2):
                key = pod_key(f"p{i}", f"ns{i % 3}")
                entry = store.get(key)
                assert entry is not None
                await store.update(key, pod(f"p{i}", f"ns{i % 3}", v="2"), entry.revision)
            for i in range(0, 30, 5):
                await store.delete(pod_key(f"p{i}", f"ns{i % 3}"))
            await store.compact(10)
            return store.revision, {e.key: (e.revision, e.value) for e in store.list("pods")[1]}

    async def second(revision: int, state: dict) -> None:
        async with await Store.open(store_url) as store:
            assert store.revision == revision == 51
            assert store.compacted == 10
            assert {e.key: (e.revision, e.value) for e in store.list("pods")[1]} == state
            labelled = [e for e in store.list("pods")[1] if e.labels.get("v") == "2"]
            assert len(labelled) == 12
            events = await collect(store.watch("pods", None, 10), revision - 10)
            assert [e.revision for e in events] == list(range(11, revision + 1))
            # writing continues at the next revision
            entry = await store.create(Key("nodes", "", "n1"), {"metadata": {"name": "n1"}})
            assert entry.revision == revision + 1

    revision, state = run(first())
    run(second(revision, state))


def test_kill_9_loses_no_acknowledged_write(store_url: str) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), store_url, "100000", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    acked: list[str] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read() if proc.stderr else ""
        while len(acked) < 1500:
            line = proc.stdout.readline()
            assert line, "writer ended early"
            acked.append(line.decode().strip())
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst
        rest, _ = proc.communicate(timeout=30)
        acked.extend(line for line in rest.decode().split("\n") if line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert "done" not in acked

    async def check() -> None:
        settings = StoreSettings(compaction_interval=0)
        async with await Store.open(store_url, settings=settings) as store:
            stored = {e.key.name: e for e in store.list("configmaps", "burst")[1]}
            missing = [name for name in acked if name not in stored]
            assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
            assert len(stored) >= len(acked)
            # revisions stay contiguous: the log has every committed revision
            assert sorted(e.revision for e in stored.values()) == list(range(1, len(stored) + 1))
            sample = stored[acked[-1]]
            assert orjson.loads(sample.value)["data"]["i"] == acked[-1][1:]

    run(check())
