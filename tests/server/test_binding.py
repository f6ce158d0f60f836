"""pods/binding as kube-apiserver's BindingREST: what it sets, what it refuses."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from tests.fixtures.apiserver import ApiServerProcess

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"


@pytest.fixture(scope="module")
def http(apiserver: ApiServerProcess):
    with apiserver.client() as c:
        yield c


def make_pod(http: httpx.Client, name: str, **extra) -> dict:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "kctl.local/busybox:1.35"}], **extra},
    }
    r = http.post(PODS, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def bind(http: httpx.Client, name: str, node: str = "n1", **meta) -> httpx.Response:
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, **meta},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
    return http.post(f"{PODS}/{name}/binding", json=body)


def test_binding_sets_node_condition_and_annotations_only(http: httpx.Client) -> None:
    created = make_pod(http, "b-basic")
    r = bind(http, "b-basic", annotations={"scheduler.example/why": "fit"})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    pod = http.get(f"{PODS}/b-basic").json()
    assert pod["spec"]["nodeName"] == "n1"
    assert pod["metadata"]["annotations"] == {"scheduler.example/why": "fit"}
    (cond,) = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond["status"] == "True" and cond["lastTransitionTime"] and cond["lastProbeTime"] is None
    assert int(pod["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    # no field manager is recorded for a binding (kube-apiserver neither)
    assert pod["metadata"].get("managedFields") == created["metadata"].get("managedFields")
    # spec otherwise untouched
    assert {k: v for k, v in pod["spec"].items() if k != "nodeName"} == created["spec"]


def test_binding_replaces_an_unschedulable_condition_in_place(http: httpx.Client) -> None:
    make_pod(http, "b-cond")
    status = {
        "status": {
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "no",
                }
            ]
        }
    }
    r = http.patch(
        f"{PODS}/b-cond/status",
        json=status,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert bind(http, "b-cond").status_code == 201
    conds = http.get(f"{PODS}/b-cond").json()["status"]["conditions"]
    scheduled = [c for c in conds if c["type"] == "PodScheduled"]
    assert len(scheduled) == 1
    assert scheduled[0]["status"] == "True" and "reason" not in scheduled[0]


@pytest.mark.parametrize(
    "case, setup, meta, node, code, needle",
    [
        ("twice", "bound", {}, "n2", 409, 'already assigned to node "n1"'),
        ("wrong uid", "", {"uid": "not-the-uid"}, "n1", 409, "Precondition failed"),
        ("no target", "", {}, "", 422, "target.name"),
        ("gated", "gated", {}, "n1", 409, "schedulingGates"),
        ("missing pod", "absent", {}, "n1", 404, "not found"),
    ],
)
def test_binding_refusals(
    http: httpx.Client, case: str, setup: str, meta: dict, node: str, code: int, needle: str
) -> None:
    name = "b-" + case.replace(" ", "-")
    if setup == "gated":
        make_pod(http, name, schedulingGates=[{"name": "wait"}])
    elif setup != "absent":
        make_pod(http, name)
    if setup == "bound":
        assert bind(http, name).status_code == 201
    before = http.get(f"{PODS}/{name}")
    r = bind(http, name, node, **meta)
    assert r.status_code == code, r.text
    assert needle in r.json()["message"]
    if before.status_code == 200:  # a refused binding changes nothing
        assert http.get(f"{PODS}/{name}").json() == before.json()


def test_binding_matching_uid_and_kind_checks(http: httpx.Client) -> None:
    pod = make_pod(http, "b-uid")
    assert bind(http, "b-uid", uid=pod["metadata"]["uid"]).status_code == 201
    make_pod(http, "b-kind")
    r = http.post(
        f"{PODS}/b-kind/binding",
        json={"metadata": {"name": "b-kind"}, "target": {"kind": "Pod", "name": "n1"}},
    )
    assert r.status_code == 422 and "target.kind" in r.json()["message"]
    r = http.post(
        f"{PODS}/b-kind/binding", json={"metadata": {"name": "other"}, "target": {"name": "n1"}}
    )
    assert r.status_code == 400


def test_binding_dry_run_writes_nothing(http: httpx.Client) -> None:
    make_pod(http, "b-dry")
    r = http.post(
        f"{PODS}/b-dry/binding",
        params={"dryRun": "All"},
        json={"metadata": {"name": "b-dry"}, "target": {"name": "n1"}},
    )
    assert r.status_code == 201
    assert "nodeName" not in http.get(f"{PODS}/b-dry").json()["spec"]


def test_concurrent_bindings_one_wins(apiserver: ApiServerProcess, http: httpx.Client) -> None:
    make_pod(http, "b-race")

    def attempt(node: str) -> int:
        with apiserver.client() as c:
            return bind(c, "b-race", node).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(attempt, ["n1", "n2", "n3", "n4"]))
    assert sorted(codes) == [201, 409, 409, 409]
