"""REST semantics of the API server over HTTPS, checked on the wire.

Covers what kubectl does not exercise directly: rejected input leaves the store as it
was (the global revision does not move), system metadata, subresources, graceful
deletion and finalizers, dry runs, no-op writes, authentication and node authorization,
and watch semantics.
"""

from __future__ import annotations

import json
import ssl
import threading
import time

import httpx
import orjson
import pytest

from tests.fixtures.apiserver import ApiServerProcess

PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture(scope="module")
def http(apiserver: ApiServerProcess):
    with apiserver.client() as c:
        yield c


def revision(http: httpx.Client) -> int:
    return int(http.get("/api/v1/namespaces").json()["metadata"]["resourceVersion"])


def pod(name: str, **spec_extra) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "kctl.local/busybox:1.35"}], **spec_extra},
    }


def deploy(name: str, replicas=1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "kctl.local/busybox:1.35"}]},
            },
        },
    }


# ---------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "case, body, content_type, code, reason, needle",
    [
        (
            "wrong type",
            json.dumps(deploy("w", replicas="three")),
            "application/json",
            422,
            "Invalid",
            "spec.replicas",
        ),
        (
            "missing required",
            json.dumps({**deploy("m"), "spec": {**deploy("m")["spec"], "selector": None}}),
            "application/json",
            422,
            "Invalid",
            "spec.selector",
        ),
        (
            "malformed json",
            '{"apiVersion": "apps/v1", "kind": ',
            "application/json",
            400,
            "BadRequest",
            "JSON",
        ),
        (
            "malformed yaml",
            "apiVersion: apps/v1\nkind: [Deployment\n",
            "application/yaml",
            400,
            "BadRequest",
            "YAML",
        ),
        (
            "wrong kind for path",
            json.dumps(pod("p")),
            "application/json",
            400,
            "BadRequest",
            "kind",
        ),
        (
            "protobuf",
            "\x00\x01",
            "application/vnd.kubernetes.protobuf",
            415,
            "UnsupportedMediaType",
            "kubectl apply",
        ),
    ],
)
def test_invalid_input_is_rejected_and_nothing_written(
    http, case, body, content_type, code, reason, needle
):
    before = revision(http)
    r = http.post(DEPLOYS, content=body, headers={"Content-Type": content_type})
    assert r.status_code == code, (case, r.text)
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == reason and status["code"] == code
    assert needle in json.dumps(status), status
    assert revision(http) == before


def test_invalid_names_the_field_in_causes(http):
    r = http.post(DEPLOYS, json=deploy("causes", replicas="x"))
    causes = r.json()["details"]["causes"]
    assert any(c["field"] == "spec.replicas" for c in causes)


def test_unknown_field_strict_warn_ignore(http):
    body = deploy("uf")
    body["spec"]["bogus"] = 1
    before = revision(http)
    strict = http.post(DEPLOYS, params={"fieldValidation": "Strict"}, json=body)
    assert strict.status_code == 400 and 'unknown field "spec.bogus"' in strict.json()["message"]
    assert revision(http) == before
    warn = http.post(DEPLOYS, params={"fieldValidation": "Warn"}, json=body)
    assert warn.status_code == 201 and 'unknown field \\"spec.bogus\\"' in warn.headers["warning"]
    assert "bogus" not in warn.json()["spec"] or True  # stored or dropped, but accepted
    http.delete(f"{DEPLOYS}/uf")


def test_unknown_kind_and_huge_body(http):
    before = revision(http)
    r = http.post("/apis/example.com/v1/namespaces/default/widgets", json={"kind": "Widget"})
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
    huge = deploy("huge")
    huge["metadata"]["annotations"] = {"a": "x" * (10 * 1024 * 1024)}
    r = http.post(DEPLOYS, content=orjson.dumps(huge), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["reason"] == "RequestEntityTooLarge"
    assert revision(http) == before


# ---------------------------------------------------------------- metadata and writes
def test_create_sets_system_metadata_and_generate_name(http):
    body = pod("")
    body["metadata"] = {"generateName": "gen-"}
    r = http.post(PODS, json=body)
    assert r.status_code == 201, r.text
    md = r.json()["metadata"]
    assert md["name"].startswith("gen-") and len(md["name"]) == len("gen-") + 5
    assert md["uid"] and md["creationTimestamp"].endswith("Z") and md["resourceVersion"]
    assert r.json()["status"]["phase"] == "Pending"
    assert r.json()["spec"]["restartPolicy"] == "Always"  # defaulted


def test_generation_bumps_on_spec_change_only(http):
    created = http.post(DEPLOYS, json=deploy("gen")).json()
    assert created["metadata"]["generation"] == 1
    labelled = http.patch(
        f"{DEPLOYS}/gen",
        json={"metadata": {"labels": {"a": "b"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert labelled["metadata"]["generation"] == 1
    scaled = http.patch(
        f"{DEPLOYS}/gen",
        json={"spec": {"replicas": 3}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert scaled["metadata"]["generation"] == 2


def test_noop_update_keeps_resource_version(http):
    created = http.post(DEPLOYS, json=deploy("noop")).json()
    rv = created["metadata"]["resourceVersion"]
    same = http.put(f"{DEPLOYS}/noop", json=created).json()
    assert same["metadata"]["resourceVersion"] == rv
    patched = http.patch(
        f"{DEPLOYS}/noop",
        json={"spec": {"replicas": 1}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert patched["metadata"]["resourceVersion"] == rv


def test_put_with_stale_resource_version_conflicts(http):
    created = http.post(DEPLOYS, json=deploy("stale")).json()
    http.patch(
        f"{DEPLOYS}/stale",
        json={"metadata": {"labels": {"x": "1"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    r = http.put(f"{DEPLOYS}/stale", json=created)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"


def test_status_subresource_separates_spec_and_status(http):
    created = http.post(DEPLOYS, json=deploy("st")).json()
    created["status"] = {"replicas": 5}
    created["spec"]["replicas"] = 4
    main = http.put(f"{DEPLOYS}/st", json=created).json()
    assert main["spec"]["replicas"] == 4 and main.get("status", {}).get("replicas") in (None, 0)
    main["status"] = {"replicas": 5, "observedGeneration": 2}
    main["spec"]["replicas"] = 9
    status = http.put(f"{DEPLOYS}/st/status", json=main).json()
    assert status["status"]["replicas"] == 5 and status["spec"]["replicas"] == 4


def test_scale_subresource(http):
    http.post(DEPLOYS, json=deploy("scl", replicas=2))
    scale = http.get(f"{DEPLOYS}/scl/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=scl"
    r = http.patch(
        f"{DEPLOYS}/scl/scale",
        json={"spec": {"replicas": 6}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.json()["spec"]["replicas"] == 6
    assert http.get(f"{DEPLOYS}/scl").json()["spec"]["replicas"] == 6


def test_dry_run_writes_nothing(http):
    before = revision(http)
    r = http.post(DEPLOYS, params={"dryRun": "All"}, json=deploy("dry"))
    assert r.status_code == 201 and r.json()["metadata"]["name"] == "dry"
    assert http.get(f"{DEPLOYS}/dry").status_code == 404
    assert revision(http) == before


# ---------------------------------------------------------------- binding and deletion
def test_binding_and_graceful_pod_deletion(http):
    http.post(PODS, json=pod("bound"))
    r = http.post(
        f"{PODS}/bound/binding",
        json={
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "bound"},
            "target": {"kind": "Node", "name": "n1"},
        },
    )
    assert r.status_code == 201, r.text
    bound = http.get(f"{PODS}/bound").json()
    assert bound["spec"]["nodeName"] == "n1"
    assert any(
        c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"]
    )
    again = http.post(f"{PODS}/bound/binding", json={"target": {"name": "n2"}})
    assert again.status_code == 409
    deleted = http.request("DELETE", f"{PODS}/bound")
    assert deleted.status_code == 200
    marked = http.get(f"{PODS}/bound").json()
    assert (
        marked["metadata"]["deletionTimestamp"]
        and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    )
    wrong_uid = http.request(
        "DELETE",
        f"{PODS}/bound",
        content=json.dumps({"gracePeriodSeconds": 0, "preconditions": {"uid": "not-it"}}),
    )
    assert wrong_uid.status_code == 409
    confirm = http.request(
        "DELETE",
        f"{PODS}/bound",
        content=json.dumps(
            {"gracePeriodSeconds": 0, "preconditions": {"uid": bound["metadata"]["uid"]}}
        ),
    )
    assert confirm.status_code == 200
    assert http.get(f"{PODS}/bound").status_code == 404


def test_unbound_pod_goes_at_once(http):
    http.post(PODS, json=pod("loose"))
    r = http.delete(f"{PODS}/loose")
    assert r.status_code == 200 and r.json()["kind"] == "Pod"  # pods answer with the object
    assert http.get(f"{PODS}/loose").status_code == 404


def test_finalizers_hold_deletion_until_removed(http):
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "fin", "finalizers": ["example.com/hold"]},
        "data": {"a": "b"},
    }
    http.post("/api/v1/namespaces/default/configmaps", json=body)
    http.delete("/api/v1/namespaces/default/configmaps/fin")
    held = http.get("/api/v1/namespaces/default/configmaps/fin").json()
    assert held["metadata"]["deletionTimestamp"]
    http.patch(
        "/api/v1/namespaces/default/configmaps/fin",
        json={"metadata": {"finalizers": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert http.get("/api/v1/namespaces/default/configmaps/fin").status_code == 404


def test_orphan_and_foreground_add_their_finalizers(http):
    http.post(DEPLOYS, json=deploy("orph"))
    http.request("DELETE", f"{DEPLOYS}/orph", content=json.dumps({"propagationPolicy": "Orphan"}))
    assert "orphan" in http.get(f"{DEPLOYS}/orph").json()["metadata"]["finalizers"]
    http.post(DEPLOYS, json=deploy("fg"))
    http.request("DELETE", f"{DEPLOYS}/fg", content=json.dumps({"propagationPolicy": "Foreground"}))
    assert "foregroundDeletion" in http.get(f"{DEPLOYS}/fg").json()["metadata"]["finalizers"]


def test_create_in_missing_namespace(http):
    r = http.post("/api/v1/namespaces/nope/configmaps", json={"metadata": {"name": "x"}})
    assert r.status_code == 404 and 'namespaces "nope" not found' in r.json()["message"]


# ---------------------------------------------------------------- authn and authz
def test_unauthenticated_and_bad_token(apiserver: ApiServerProcess):
    r = httpx.get(
        f"{apiserver.url}/api/v1/pods", verify=ssl.create_default_context(cafile=str(apiserver.ca))
    )
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    r = httpx.get(
        f"{apiserver.url}/api/v1/pods",
        verify=ssl.create_default_context(cafile=str(apiserver.ca)),
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401
    assert (
        httpx.get(
            f"{apiserver.url}/readyz", verify=ssl.create_default_context(cafile=str(apiserver.ca))
        ).status_code
        == 200
    )


def test_node_token_is_limited_to_its_node(http, apiserver: ApiServerProcess):
    r = http.post(
        "/kctl/v1/tokens",
        json={"user": "system:node:n1", "groups": ["system:nodes", "system:authenticated"]},
    )
    assert r.status_code == 201, r.text
    with apiserver.client(r.json()["token"]) as node:
        own = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
        assert node.post("/api/v1/nodes", json=own).status_code == 201
        other = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}}
        denied = node.post("/api/v1/nodes", json=other)
        assert denied.status_code == 403 and denied.json()["reason"] == "Forbidden"
        assert node.delete(f"{DEPLOYS}/gen").status_code == 403
        assert node.get(PODS).status_code == 200


# ---------------------------------------------------------------- watch
def watch_in_background(
    apiserver: ApiServerProcess, params: dict[str, str]
) -> tuple[threading.Thread, list[dict]]:
    """Start collecting the events of a configmaps watch in a thread (it ends at its timeout)."""
    events: list[dict] = []

    def consume() -> None:
        with (
            apiserver.client() as c,
            c.stream("GET", "/api/v1/namespaces/default/configmaps", params=params) as r,
        ):
            for line in r.iter_lines():
                if line:
                    events.append(json.loads(line))

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.5)
    return thread, events


def test_watch_from_zero_sends_current_state_then_changes(http, apiserver: ApiServerProcess):
    http.post(
        "/api/v1/namespaces/default/configmaps",
        json={"metadata": {"name": "w0"}, "data": {"v": "1"}},
    )
    t, events = watch_in_background(
        apiserver,
        {
            "watch": "true",
            "resourceVersion": "0",
            "fieldSelector": "metadata.name=w0",
            "timeoutSeconds": "5",
        },
    )
    http.patch(
        "/api/v1/namespaces/default/configmaps/w0",
        json={"data": {"v": "2"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    http.delete("/api/v1/namespaces/default/configmaps/w0")
    t.join(15)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["data"]["v"] == "2"


def test_label_selector_watch_turns_leaving_into_deleted(http, apiserver: ApiServerProcess):
    list_rv = http.get("/api/v1/namespaces/default/configmaps").json()["metadata"][
        "resourceVersion"
    ]
    t, events = watch_in_background(
        apiserver,
        {
            "watch": "1",
            "resourceVersion": list_rv,
            "labelSelector": "team=a",
            "timeoutSeconds": "4",
        },
    )
    cm = "/api/v1/namespaces/default/configmaps"
    http.post(cm, json={"metadata": {"name": "sel", "labels": {"team": "b"}}})
    http.patch(
        f"{cm}/sel",
        json={"metadata": {"labels": {"team": "a"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    http.patch(
        f"{cm}/sel",
        json={"metadata": {"labels": {"team": "c"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    t.join(15)
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


def test_discovery_documents(http):
    agg = http.get(
        "/apis",
        headers={
            "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        },
    )
    assert (
        agg.headers["content-type"]
        == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    groups = {item["metadata"]["name"] for item in agg.json()["items"]}
    assert {"apps", "coordination.k8s.io"} <= groups
    core = http.get("/api/v1").json()
    names = {r["name"] for r in core["resources"]}
    assert {"pods", "pods/status", "pods/binding", "services", "namespaces", "nodes"} <= names
    assert http.get("/version").json()["minor"] == "32"
    kube_config = http.get("/api/v1/namespaces/kube-system/configmaps/kctl-config").json()
    assert kube_config["data"]["serviceCIDR"] == "10.96.0.0/12"


@pytest.mark.parametrize("method", ["merge-patch", "put"])
def test_a_write_naming_another_uid_is_a_failed_precondition(http, method):
    """Controllers adopt "the pod with uid X": a namesake with another uid must not change."""
    r = http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": f"uid-{method}"}, "data": {"a": "1"}})
    assert r.status_code == 201, r.text
    current = r.json()
    path = f"/api/v1/namespaces/default/configmaps/uid-{method}"
    if method == "put":
        stale = {**current, "metadata": {**current["metadata"], "uid": "not-the-uid"}, "data": {"a": "2"}}
        r = http.put(path, json=stale)
    else:
        r = http.patch(path, content=json.dumps({"metadata": {"uid": "not-the-uid"}, "data": {"a": "2"}}), headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 409, r.text
    assert "Precondition failed: UID in precondition: not-the-uid" in r.json()["message"]
    assert http.get(path).json()["data"] == {"a": "1"}
    ok = http.patch(path, content=json.dumps({"metadata": {"uid": current["metadata"]["uid"]}, "data": {"a": "3"}}), headers={"Content-Type": "application/merge-patch+json"})
    assert ok.status_code == 200, ok.text
