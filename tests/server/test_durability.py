"""Acknowledged writes survive kill -9 of the API server, and two API servers can share
one PostgreSQL: CAS picks one winner per round across servers, and a watcher on one
server sees the other's writes in revision order, with no gaps and no duplicates."""

from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.apiserver import start_apiserver

CMS = "/api/v1/namespaces/default/configmaps"


def test_kill_9_during_write_burst_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path / "data")
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with server.client() as c:
            for i in range(100_000):
                if stop.is_set():
                    return
                name = f"w{worker}-{i}"
                try:
                    r = c.post(CMS, json={"metadata": {"name": name}, "data": {"v": "x" * 200}})
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(name)

    try:
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
        assert len(acknowledged) > 50, "the burst acknowledged too few writes to mean anything"
        restarted = start_apiserver(server.data_dir, port=server.port)
        try:
            with restarted.client() as c:
                stored = {item["metadata"]["name"] for item in c.get(CMS).json()["items"]}
            missing = [n for n in acknowledged if n not in stored]
            assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        finally:
            restarted.stop()
    finally:
        server.stop()


@pytest.mark.postgres
def test_two_api_servers_on_one_postgresql(tmp_path: Path, postgres_url: str) -> None:
    first = start_apiserver(tmp_path / "a", extra=["--store", postgres_url])
    second = start_apiserver(tmp_path / "b", extra=["--store", postgres_url])
    try:
        with first.client() as a, second.client() as b:
            created = a.post(CMS, json={"metadata": {"name": "race"}, "data": {"round": "0"}})
            assert created.status_code == 201, created.text
            events: list[dict] = []
            start_rv = created.json()["metadata"]["resourceVersion"]
            watching = threading.Event()

            def watch_second() -> None:
                with (
                    second.client() as w,
                    w.stream(
                        "GET",
                        CMS,
                        params={
                            "watch": "true",
                            "resourceVersion": start_rv,
                            "timeoutSeconds": "20",
                        },
                    ) as r,
                ):
                    watching.set()
                    for line in r.iter_lines():
                        if line:
                            events.append(json.loads(line))
                            if events[-1]["object"]["metadata"]["name"] == "done":
                                return

            watcher = threading.Thread(target=watch_second)
            watcher.start()
            watching.wait(10)
            for rnd in range(1, 11):
                current = a.get(f"{CMS}/race").json()
                attempts = []
                for i, server_client in enumerate((a, b, a, b)):
                    body = json.loads(json.dumps(current))
                    body["data"] = {"round": str(rnd), "writer": str(i)}
                    attempts.append((server_client, body))
                with ThreadPoolExecutor(4) as pool:
                    codes = list(
                        pool.map(
                            lambda sb: sb[0].put(f"{CMS}/race", json=sb[1]).status_code, attempts
                        )
                    )
                assert sorted(codes) == [200, 409, 409, 409], (rnd, codes)
            for i in range(20):
                assert a.post(CMS, json={"metadata": {"name": f"fill-{i}"}}).status_code == 201
            a.post(CMS, json={"metadata": {"name": "done"}})
            watcher.join(30)
        revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert revisions == sorted(revisions), "events out of revision order"
        assert len(revisions) == len(set(revisions)), "duplicate events"
        assert revisions == list(range(int(start_rv) + 1, int(start_rv) + 1 + len(revisions))), (
            "the watcher on the second server missed revisions of the first"
        )
        assert len(events) == 10 + 20 + 1
    finally:
        first.stop()
        second.stop()
