"""The staggered schedule behind lease renewals and node status reports."""

from __future__ import annotations

import asyncio

from node.periodic import Staggered


def test_first_runs_spread_then_periodic() -> None:
    async def go() -> dict[int, list[float]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        seen: dict[int, list[float]] = {}

        async def job(key: int) -> None:
            seen.setdefault(key, []).append(loop.time() - start)

        sched: Staggered[int] = Staggered("t", 0.3, job)
        task = asyncio.create_task(sched.run())
        sched.add_all(list(range(4)))
        await asyncio.sleep(0.75)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen

    seen = asyncio.run(go())
    firsts = [seen[k][0] for k in range(4)]
    assert firsts == sorted(firsts)
    assert 0.15 <= firsts[3] - firsts[0] <= 0.35  # spread over one period, not all at once
    for times in seen.values():
        assert len(times) >= 2
        assert abs((times[1] - times[0]) - 0.3) < 0.1


def test_concurrency_is_bounded() -> None:
    async def go() -> int:
        running = peak = 0

        async def job(key: int) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.05)
            running -= 1

        sched: Staggered[int] = Staggered("t", 10.0, job, concurrency=3)
        task = asyncio.create_task(sched.run())
        sched.add_all(list(range(20)), first_in=0.0)
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return peak

    assert asyncio.run(go()) == 3


def test_trigger_retry_and_remove() -> None:
    async def go() -> list[str]:
        calls: list[str] = []
        failures = {"b": 1}

        async def job(key: str) -> float | None:
            calls.append(key)
            if failures.get(key):
                failures[key] -= 1
                return 0.01  # retry soon
            return None

        sched: Staggered[str] = Staggered("t", 60.0, job)
        task = asyncio.create_task(sched.run())
        sched.add_all(["a", "b"], first_in=0.0)
        await asyncio.sleep(0.1)
        sched.trigger("a")
        sched.trigger("unknown")  # not scheduled: ignored
        await asyncio.sleep(0.05)
        sched.remove("a")
        sched.trigger("a")
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return calls

    calls = asyncio.run(go())
    assert calls.count("a") == 2  # first run + trigger; not after removal
    assert calls.count("b") == 2  # failed once, retried early
    assert "unknown" not in calls
