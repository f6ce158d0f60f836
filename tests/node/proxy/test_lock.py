"""One proxy per network namespace: the flock, its takeover, its name."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from node.proxy.lock import NetnsLock, held, lock_path, netns_id


def test_lock_name_is_the_netns_inode(tmp_path: Path) -> None:
    inode = os.stat("/proc/self/ns/net").st_ino
    assert netns_id() == str(inode)
    assert lock_path(tmp_path) == tmp_path / f"proxy-net-{inode}.lock"


def test_exactly_one_holder_and_takeover_on_release(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "42")
    first, second = NetnsLock(path), NetnsLock(path)
    assert first.try_acquire("node-a")
    assert not second.try_acquire("node-b")  # a second open file: excluded even in-process
    assert first.holder().endswith("node-a")

    async def waiter() -> float:
        start = time.monotonic()
        async with held(second, "node-b", poll=0.02):
            return time.monotonic() - start

    async def scenario() -> float:
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.1)
        assert not task.done()
        first.release()
        return await asyncio.wait_for(task, 2)

    assert asyncio.run(scenario()) >= 0.1
    assert not second.held


def test_lock_is_freed_when_the_holder_dies(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "43")
    code = (
        "import sys, time; from pathlib import Path; from node.proxy.lock import NetnsLock\n"
        "assert NetnsLock(Path(sys.argv[1])).try_acquire('child'); print('held', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        lock = NetnsLock(path)
        assert not lock.try_acquire()
        child.kill()
        child.wait()
        assert lock.try_acquire()
        lock.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
