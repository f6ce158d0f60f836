"""The pod sync loop: which pods it takes, status writes, deletion with grace, cleanup."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from node.podsync import NodeRuntime, PodSyncer
from node.runtime.hollow import HollowRuntime
from tests.node.fakes import FakeInformer, RecordingClient

NOW = "2025-01-01T00:00:00Z"


def pod(name: str = "p", uid: str = "u1", node: str = "n1", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": "1", **meta},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "a", "image": "img"}],
            "restartPolicy": "Always",
        },
        "status": {"phase": "Pending"},
    }


class Rig:
    def __init__(self, stop_delay: float = 0.0) -> None:
        self.informer = FakeInformer()
        self.client = RecordingClient(self.informer)
        self.runtime = HollowRuntime("n1", "100.64.0.0/24", stop_delay=stop_delay)
        nodes = {"n1": NodeRuntime("n1", "127.128.0.1", self.runtime)}
        self.syncer = PodSyncer(self.client, self.informer, nodes, workers=2, clock=lambda: NOW)  # type: ignore[arg-type]

    async def drain(self) -> None:
        """Sync every queued uid (what the workers do), until the queue is empty."""
        while len(self.syncer.queue):
            uid = await self.syncer.queue.get()
            try:
                await self.syncer.sync(uid)
            finally:
                self.syncer.queue.done(uid)

    def current(self, name: str = "p") -> dict[str, Any]:
        obj = self.informer.store.get(f"ns/{name}")
        assert obj is not None
        return obj


def test_runs_only_pods_of_its_nodes() -> None:
    async def go() -> None:
        rig = Rig()
        rig.informer.emit("ADDED", pod("mine"))
        rig.informer.emit("ADDED", pod("theirs", uid="u9", node="elsewhere"))
        await rig.drain()
        patches = rig.client.of("patch")
        assert [p["name"] for p in patches] == ["mine"]
        assert patches[0]["subresource"] == "status" and patches[0]["patch_type"] == "strategic"
        status = rig.current("mine")["status"]
        assert status["phase"] == "Running" and status["podIP"] == "100.64.0.2"
        assert status["hostIP"] == "127.128.0.1"
        await rig.drain()  # our own write's event: nothing more to write
        assert len(rig.client.of("patch")) == 1

    asyncio.run(go())


def test_readiness_annotation_round_trip() -> None:
    async def go() -> None:
        rig = Rig()
        rig.informer.emit("ADDED", pod())
        await rig.drain()
        for value, ready in (("false", "False"), ("true", "True")):
            edited = copy.deepcopy(rig.current())
            edited["metadata"]["annotations"] = {"kctl.dev/hollow-ready": value}
            rig.informer.emit("MODIFIED", edited)
            await rig.drain()
            conds = {c["type"]: c["status"] for c in rig.current()["status"]["conditions"]}
            assert conds["Ready"] == ready and conds["ContainersReady"] == ready

    asyncio.run(go())


def test_graceful_deletion_then_final_delete() -> None:
    async def go() -> None:
        rig = Rig(stop_delay=0.05)
        rig.informer.emit("ADDED", pod())
        await rig.drain()
        deleting = copy.deepcopy(rig.current())
        deleting["metadata"].update(
            deletionTimestamp="2025-01-01T00:00:30Z", deletionGracePeriodSeconds=30
        )
        writes = len(rig.client.calls)
        rig.informer.emit("MODIFIED", deleting)
        await rig.drain()
        assert len(rig.client.calls) == writes  # stopping runs in the background first
        assert "u1" in rig.syncer._terminating
        await asyncio.wait_for(rig.syncer._terminating["u1"], 2)
        await rig.drain()
        final_status = rig.client.of("patch")[-1]["patch"]["status"]
        assert final_status["phase"] == "Succeeded"
        assert final_status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
        (delete,) = rig.client.of("delete")
        assert delete == {
            "name": "p",
            "namespace": "ns",
            "grace_period_seconds": 0,
            "preconditions": {"uid": "u1"},
        }
        rig.informer.emit("DELETED", rig.current())
        await rig.drain()
        assert await rig.runtime.list_pods() == []  # forgotten, IP released
        assert rig.syncer._keys == {} and rig.syncer._killed == {} and rig.syncer._deleted == set()

    asyncio.run(go())


def test_same_name_new_uid_cleans_up_the_old_pod() -> None:
    async def go() -> None:
        rig = Rig()
        rig.informer.emit("ADDED", pod(uid="old"))
        await rig.drain()
        rig.informer.emit("DELETED", rig.current())
        rig.informer.emit("ADDED", pod(uid="new"))
        await rig.drain()
        assert [p.uid for p in await rig.runtime.list_pods()] == ["new"]
        assert rig.current()["status"]["phase"] == "Running"

    asyncio.run(go())


def test_finished_pod_is_stopped_but_kept_until_deleted() -> None:
    """As the kubelet: a finished pod's sandbox stops, its dead containers (and logs)
    stay until the pod is deleted."""

    async def go() -> None:
        rig = Rig()
        rig.informer.emit("ADDED", pod())
        await rig.drain()
        done = copy.deepcopy(rig.current())
        done["status"]["phase"] = "Succeeded"
        rig.informer.emit("MODIFIED", done)
        await rig.drain()
        kept = await rig.runtime.list_pods()
        assert len(kept) == 1 and kept[0].all_stopped
        rig.informer.emit("DELETED", done)
        await rig.drain()
        assert await rig.runtime.list_pods() == []

    asyncio.run(go())


def test_status_write_to_a_vanished_pod_is_quiet() -> None:
    async def go() -> None:
        rig = Rig()
        rig.client.missing.add("p")
        rig.informer.emit("ADDED", pod())
        await rig.drain()  # NotFound: no exception, the delete event will clean up

    asyncio.run(go())


def test_workers_run_and_stop() -> None:
    async def go() -> None:
        rig = Rig()
        task = asyncio.create_task(rig.syncer.run())
        for i in range(20):
            rig.informer.emit("ADDED", pod(f"p{i}", uid=f"u{i}"))
        for _ in range(100):
            if all(rig.current(f"p{i}")["status"]["phase"] == "Running" for i in range(20)):
                break
            await asyncio.sleep(0.01)
        assert len({rig.current(f"p{i}")["status"]["podIP"] for i in range(20)}) == 20
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())
