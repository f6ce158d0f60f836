"""EventRecorder: create, aggregate repeats by PATCH, recreate, spam filter, never raise."""

from __future__ import annotations

import asyncio
import re

from kctl.client.events import SPAM_BURST, AsyncEventRecorder, EventCorrelator, EventRecorder
from kctl.client.http import AsyncClient, Client
from kctl.client.kubeconfig import config_for
from tests.client.stub_server import Recorded, Reply, Responder, StubServer, status_body

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "team", "uid": "u-1", "resourceVersion": "5"},
}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u-n"}}


def echo(code: int) -> Responder:
    def reply(req: Recorded) -> Reply:
        return Reply(code, req.json())

    return reply


def test_first_event_creates_core_v1_event(stub: StubServer) -> None:
    stub.on("POST", "/api/v1/namespaces/team/events", echo(201))
    with Client(config_for(stub.url)) as client:
        rec = EventRecorder(client, "kctl-scheduler", host="node-a")
        rec.event(POD, "Normal", "Scheduled", "Successfully assigned team/web to n1")
        assert rec.flush()
        rec.close()
    (req,) = stub.requests
    ev = req.json()
    assert re.fullmatch(r"web\.[0-9a-f]{16}", ev["metadata"]["name"])
    assert ev["metadata"]["namespace"] == "team"
    assert ev["involvedObject"] == {
        "kind": "Pod",
        "namespace": "team",
        "name": "web",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "5",
    }
    assert ev["source"] == {"component": "kctl-scheduler", "host": "node-a"}
    assert (ev["type"], ev["reason"], ev["count"]) == ("Normal", "Scheduled", 1)
    assert ev["reportingComponent"] == "kctl-scheduler"
    assert ev["firstTimestamp"] == ev["lastTimestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ev["firstTimestamp"])


def test_repeats_are_patched_and_recreated_when_gone(stub: StubServer) -> None:
    patched: list[Recorded] = []

    def on_patch(req: Recorded) -> Reply:
        patched.append(req)
        if len(patched) == 2:  # someone deleted the event meanwhile
            return Reply(404, status_body(404, "NotFound", "events not found"))
        return Reply(200, req.json())

    def on_post(req: Recorded) -> Reply:
        body = req.json()
        stub.on("PATCH", f"/api/v1/namespaces/team/events/{body['metadata']['name']}", on_patch)
        return Reply(201, body)

    stub.on("POST", "/api/v1/namespaces/team/events", on_post)
    msg = "Back-off restarting failed container"
    with Client(config_for(stub.url)) as client:
        rec = EventRecorder(client, "kubelet")
        for _ in range(3):
            rec.event(POD, "Warning", "BackOff", msg)
        rec.event(POD, "Warning", "BackOff", "a different message")
        assert rec.flush()
        rec.close()

    assert [r.method for r in stub.requests] == ["POST", "PATCH", "PATCH", "POST", "POST"]
    name = stub.requests[0].json()["metadata"]["name"]
    assert patched[0].headers["content-type"] == "application/strategic-merge-patch+json"
    assert patched[0].path.endswith(f"/events/{name}")
    assert patched[0].json()["count"] == 2
    assert patched[0].json()["message"] == msg
    assert "lastTimestamp" in patched[0].json()
    recreated = stub.requests[3].json()
    assert recreated["metadata"]["name"] == name and recreated["count"] == 3
    different = stub.requests[4].json()
    assert different["metadata"]["name"] != name and different["count"] == 1


def test_cluster_scoped_objects_go_to_default_namespace(stub: StubServer) -> None:
    stub.on("POST", "/api/v1/namespaces/default/events", echo(201))
    with Client(config_for(stub.url)) as client:
        rec = EventRecorder(client, "node-lifecycle")
        rec.event(NODE, "Normal", "NodeReady", "Node n1 status is now: NodeReady")
        rec.flush()
        rec.close()
    assert stub.requests[0].json()["involvedObject"]["name"] == "n1"


def test_failures_never_reach_the_caller(stub: StubServer) -> None:
    stub.on(
        "POST",
        "/api/v1/namespaces/team/events",
        Reply(500, "kaput", {"Content-Type": "text/plain"}),
    )
    with Client(config_for(stub.url)) as client:
        rec = EventRecorder(client, "c")
        rec.event(POD, "Normal", "R", "m")  # must not raise
        rec.event({"kind": "Weird"}, "Normal", "R", "m")
        assert rec.flush()
        rec.close()
    # server down entirely: still silent
    with Client(config_for("http://127.0.0.1:9"), timeout=1) as dead:
        rec = EventRecorder(dead, "c")
        rec.event(POD, "Normal", "R", "m")
        assert rec.flush()
        rec.close()


def test_correlator_spam_filter_and_aggregation_keys() -> None:
    corr = EventCorrelator("ctl", "h")
    first = corr.observe(POD, "Normal", "R", "m", 1000.0)
    assert first is not None and first.verb == "create"
    again = corr.observe(POD, "Normal", "R", "m", 1001.0)
    assert again is not None and again.verb == "patch" and again.name == first.name
    assert again.patch["count"] == 2
    other = corr.observe(POD, "Warning", "R", "m", 1002.0)
    assert other is not None and other.verb == "create"
    # burst used up: 3 so far, then the bucket runs dry at SPAM_BURST
    results = [corr.observe(POD, "Normal", "X", str(i), 1003.0) for i in range(SPAM_BURST)]
    assert sum(r is None for r in results) == 3
    # one token back after 5 minutes
    assert corr.observe(POD, "Normal", "Y", "later", 1003.0 + 300.0) is not None
    # a different object has its own bucket
    assert corr.observe(NODE, "Normal", "R", "m", 1003.0) is not None


def test_async_recorder(stub: StubServer) -> None:
    stub.on("POST", "/api/v1/namespaces/team/events", echo(201))

    async def main() -> None:
        async with AsyncClient(config_for(stub.url)) as client:
            rec = AsyncEventRecorder(client, "kctl-controller-manager")
            rec.event(POD, "Normal", "ScalingReplicaSet", "Scaled up replica set web-1 to 3")
            await rec.flush()
            await rec.aclose()

    asyncio.run(main())
    (req,) = stub.requests
    assert req.json()["reason"] == "ScalingReplicaSet"
    assert req.json()["source"] == {"component": "kctl-controller-manager"}
