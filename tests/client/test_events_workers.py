"""The async recorder under load: several workers, per-object order, drops as a rate."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from kctl.client import events
from kctl.client.events import AsyncEventRecorder, DropCounter
from kctl.client.http import AsyncClient
from kctl.client.kubeconfig import config_for
from tests.client.stub_server import Recorded, Reply, StubServer


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "team", "uid": f"uid-{name}"},
    }


def test_drop_counter_logs_a_rate_not_each_drop(caplog: pytest.LogCaptureFixture) -> None:
    counter = DropCounter("sched", interval=10.0)
    with caplog.at_level(logging.WARNING, logger="kctl.client.events"):
        for i in range(500):
            counter.drop("Scheduled", pod(f"p{i}"), now=100.0 + i * 0.01)  # 100.00 .. 104.99
        counter.drop("Scheduled", pod("late"), now=111.0)
        counter.drop("Scheduled", pod("later"), now=112.0)
        counter.report()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "dropping Scheduled event for Pod team/p0" in lines[0]
    assert "dropped 499 events in the last 11 s (45/s)" in lines[1]
    assert "dropped 1 more events (502 in all)" in lines[2]
    assert counter.total == 502


def test_workers_write_concurrently_and_keep_each_objects_order(stub: StubServer) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def slow_echo(req: Recorded) -> Reply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return Reply(201, req.json())

    stub.on("POST", "/api/v1/namespaces/team/events", slow_echo)
    # no PATCH route: the repeat's patch gets 404 and the recorder creates it again

    async def main() -> None:
        async with AsyncClient(config_for(stub.url)) as client:
            rec = AsyncEventRecorder(client, "sched", workers=4)
            for i in range(8):
                rec.event(pod(f"p{i}"), "Normal", "Scheduled", "assigned")
            rec.event(pod("p0"), "Normal", "Scheduled", "assigned")  # a repeat
            await rec.aclose()

    asyncio.run(main())
    p0 = [
        r.method
        for r in stub.requests
        if r.method == "PATCH" or r.json()["involvedObject"]["name"] == "p0"
    ]
    assert p0 == ["POST", "PATCH", "POST"]  # the patch went after the create
    assert sum(r.method == "POST" for r in stub.requests) == 9
    assert peak > 1  # several workers at once


def test_full_queue_drops_without_blocking(
    stub: StubServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub.on("POST", "/api/v1/namespaces/team/events", lambda req: Reply(201, req.json()))

    async def main() -> int:
        async with AsyncClient(config_for(stub.url)) as client:
            rec = AsyncEventRecorder(client, "sched", workers=1, queue_size=5)
            for i in range(50):  # no await in between: the worker cannot run
                rec.event(pod(f"p{i}"), "Normal", "Scheduled", "assigned")
            await rec.aclose()
            return rec.drops.total

    monkeypatch.setattr(events, "DROP_LOG_SECONDS", 10.0)
    with caplog.at_level(logging.WARNING, logger="kctl.client.events"):
        dropped = asyncio.run(main())
    assert dropped == 45
    assert len(stub.requests) == 5
    assert len([r for r in caplog.records if "queue full" in r.getMessage()]) == 2
