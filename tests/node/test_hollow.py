"""The hollow runtime: start, readiness and exit-code hooks, kill, removal, adoption."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from node.runtime.hollow import EXIT_CODE_ANNOTATION, READY_ANNOTATION, HollowFleet, HollowRuntime

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def pod(uid: str = "u1", annotations: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": uid, "annotations": annotations or {}},
        "spec": {
            "containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis:7"}],
            **extra,
        },
        "status": {},
    }


def runtime(**kw: Any) -> HollowRuntime:
    return HollowRuntime("n1", "100.64.0.0/24", clock=lambda: T0, **kw)


def test_sync_starts_containers_with_ids_and_ip() -> None:
    async def go() -> None:
        rt = runtime()
        status = await rt.sync_pod(pod())
        assert status.sandbox_ready and status.ips == ("100.64.0.2",)
        assert [c.name for c in status.containers] == ["a", "b"]
        a = status.containers[0]
        assert a.running and a.ready is None and a.state.started_at == "2025-01-01T00:00:00Z"
        assert (
            a.container_id.startswith("hollow://")
            and a.image == "nginx:1"
            and a.image_id.startswith("sha256:")
        )
        assert (await rt.sync_pod(pod())) == status  # idempotent
        other = await rt.sync_pod(pod("u2"))
        assert other.ips == ("100.64.0.3",)
        assert await rt.version() == "hollow://0.1.0"

    asyncio.run(go())


def test_ready_annotation_flips_readiness() -> None:
    async def go() -> None:
        rt = runtime()
        status = await rt.sync_pod(pod(annotations={READY_ANNOTATION: "false"}))
        assert [c.ready for c in status.containers] == [False, False]
        status = await rt.sync_pod(pod(annotations={READY_ANNOTATION: "true"}))
        assert [c.ready for c in status.containers] == [None, None]

    asyncio.run(go())


def test_exit_code_annotation_stops_containers() -> None:
    async def go() -> None:
        status = await runtime().sync_pod(
            pod(annotations={EXIT_CODE_ANNOTATION: "3"}, restartPolicy="Never")
        )
        assert all(
            c.terminated and c.state.exit_code == 3 and c.state.reason == "Error"
            for c in status.containers
        )

    asyncio.run(go())


def test_init_containers_complete_sidecars_run() -> None:
    async def go() -> None:
        p = pod(
            initContainers=[
                {"name": "init", "image": "busybox"},
                {"name": "side", "image": "envoy", "restartPolicy": "Always"},
            ]
        )
        status = await runtime().sync_pod(p)
        init, side = status.init_containers
        assert init.terminated and init.state.reason == "Completed" and init.state.exit_code == 0
        assert side.running

    asyncio.run(go())


def test_kill_waits_at_most_grace_then_remove_releases_ip() -> None:
    async def go() -> None:
        rt = runtime(stop_delay=5.0)
        p = pod()
        await rt.sync_pod(p)
        loop = asyncio.get_running_loop()
        start = loop.time()
        status = await rt.kill_pod(p, 0.05)  # grace shorter than the stop delay
        assert loop.time() - start < 1.0
        assert status.all_stopped and not status.sandbox_ready and status.ips == ("100.64.0.2",)
        assert all(
            c.terminated and c.state.exit_code == 0 and c.state.finished_at
            for c in status.containers
        )
        assert (await rt.sync_pod(p)).all_stopped  # a killed pod is not restarted
        await rt.remove_pod("u1")
        await rt.remove_pod("u1")  # idempotent
        assert await rt.list_pods() == []
        assert (await rt.sync_pod(pod("u3"))).ips == (
            "100.64.0.3",
        )  # after the cursor, not reused at once

    asyncio.run(go())


def test_image_change_restarts_container() -> None:
    async def go() -> None:
        rt = runtime()
        first = (await rt.sync_pod(pod())).containers[0]
        changed = pod()
        changed["spec"]["containers"][0]["image"] = "nginx:2"
        again = (await rt.sync_pod(changed)).containers[0]
        assert again.restart_count == 1 and again.image == "nginx:2"
        assert again.container_id != first.container_id
        assert again.last_state is not None and again.last_state.kind == "terminated"

    asyncio.run(go())


def test_adopts_a_running_pod_after_restart() -> None:
    async def go() -> None:
        old = runtime()
        await old.sync_pod(pod("someone-else"))
        before = await old.sync_pod(pod())  # .3
        reported = pod()
        reported["status"] = {
            "podIP": before.ips[0],
            "containerStatuses": [
                {
                    "name": c.name,
                    "containerID": c.container_id,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": "2024-12-31T23:00:00Z"}},
                }
                for c in before.containers
            ],
        }
        fresh = HollowRuntime("n1", "100.64.0.0/24", clock=lambda: T0)
        after = await fresh.sync_pod(reported)
        assert after.ips == before.ips == ("100.64.0.3",)  # a fresh allocator would say .2
        assert [c.container_id for c in after.containers] == [
            c.container_id for c in before.containers
        ]
        assert after.containers[0].state.started_at == "2024-12-31T23:00:00Z"

    asyncio.run(go())


def test_pod_cidr_update_serves_new_pods() -> None:
    async def go() -> None:
        rt = runtime()
        old = await rt.sync_pod(pod("u1"))
        await rt.update_pod_cidr("10.244.7.0/24")
        assert rt.pod_cidr == "10.244.7.0/24"
        new = await rt.sync_pod(pod("u2"))
        assert new.ips == ("10.244.7.2",) and (await rt.sync_pod(pod("u1"))).ips == old.ips

    asyncio.run(go())


def test_start_delay_reports_creating_then_running() -> None:
    async def go() -> None:
        rt = runtime(start_delay=0.05)
        status = await rt.sync_pod(pod())
        assert not status.sandbox_ready and status.resync_after is not None
        assert all(c.state.reason == "ContainerCreating" for c in status.containers)
        await asyncio.sleep(0.06)
        assert all(c.running for c in (await rt.sync_pod(pod())).containers)

    asyncio.run(go())


def test_fleet_gives_distinct_ranges_and_hosts() -> None:
    fleet = HollowFleet()
    names = [f"hollow-{i}" for i in range(300)]
    assert len({fleet.host_ip(n) for n in names}) == 300
    assert all(fleet.host_ip(n).startswith("127.") for n in names)
    assert len({fleet.runtime(n).pod_cidr for n in names}) == 300
