"""Returning freed heap memory: it really shrinks the resident size (glibc)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kctl.api import memory


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not memory.available(), reason="malloc_trim is glibc's")
def test_trim_gives_freed_fragments_back() -> None:
    # 8 KB blocks (above pymalloc's limit: glibc's heap) each followed by a small
    # survivor, so the freed space is holes in the middle of the heap, not at its top.
    memory.trim()
    blocks, survivors = [], []
    for i in range(20_000):
        blocks.append(bytes(8192 - 33) + i.to_bytes(4, "little"))
        survivors.append(bytes(600) + i.to_bytes(4, "little"))
    blocks.clear()
    before = _rss_kb()
    assert memory.trim()
    after = _rss_kb()
    assert before - after > 50_000, (before, after)  # most of the 160 MB of holes
    assert len(survivors) == 20_000


def test_release_periodically_ends_at_once_when_disabled() -> None:
    asyncio.run(asyncio.wait_for(memory.release_periodically(0), timeout=1))


@pytest.mark.skipif(not memory.available(), reason="malloc_trim is glibc's")
def test_release_periodically_runs_until_cancelled() -> None:
    async def main() -> None:
        task = asyncio.create_task(memory.release_periodically(0.01))
        await asyncio.sleep(0.05)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())

