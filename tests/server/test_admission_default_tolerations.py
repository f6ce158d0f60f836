"""DefaultTolerationSeconds admission: pods get 300 s not-ready/unreachable tolerations.

Checked on the wire against a real API server (creates, updates, subresources), plus
the plugin's configurable seconds directly.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kctl.api.kinds import ResourceInfo
from kctl.client.resources import CONFIGMAPS
from kctl.client.resources import PODS as PODS_INFO
from kctl.server.admission import DefaultTolerationSeconds
from tests.fixtures.apiserver import ApiServerProcess

PODS = "/api/v1/namespaces/default/pods"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _default(key: str, seconds: int = 300) -> dict[str, Any]:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}


def _pod(name: str, tolerations: list[dict[str, Any]] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "kctl.local/busybox:1.35"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def http(apiserver: ApiServerProcess):
    with apiserver.client() as c:
        yield c


OWN_UNREACHABLE = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
CASES: list[tuple[str, list[dict[str, Any]] | None, list[dict[str, Any]]]] = [
    ("none", None, [_default(NOT_READY), _default(UNREACHABLE)]),
    ("own-unreachable", [OWN_UNREACHABLE], [OWN_UNREACHABLE, _default(NOT_READY)]),
    ("tolerate-all", [{"operator": "Exists"}], [{"operator": "Exists"}]),
    # An empty key tolerates both taints of that effect.
    ("empty-key", [{"operator": "Exists", "effect": "NoExecute"}], [{"operator": "Exists", "effect": "NoExecute"}]),
    # NoSchedule does not cover NoExecute.
    (
        "other-effect",
        [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}],
        [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"},
         _default(NOT_READY), _default(UNREACHABLE)],
    ),
    # An empty effect covers NoExecute; values are not looked at.
    (
        "empty-effect-and-value",
        [{"key": NOT_READY, "operator": "Exists"},
         {"key": UNREACHABLE, "operator": "Equal", "value": "x", "effect": "NoExecute"}],
        [{"key": NOT_READY, "operator": "Exists"},
         {"key": UNREACHABLE, "operator": "Equal", "value": "x", "effect": "NoExecute"}],
    ),
]


@pytest.mark.parametrize(("name", "given", "stored"), CASES, ids=[c[0] for c in CASES])
def test_create_adds_missing_default_tolerations(
    http: httpx.Client, name: str, given: list[dict[str, Any]] | None, stored: list[dict[str, Any]]
) -> None:
    r = http.post(PODS, json=_pod(f"tol-{name}", given))
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["tolerations"] == stored
    assert http.get(f"{PODS}/tol-{name}").json()["spec"]["tolerations"] == stored
    http.delete(f"{PODS}/tol-{name}")


def test_update_puts_removed_defaults_back(http: httpx.Client) -> None:
    r = http.post(PODS, json=_pod("tol-update", None))
    assert r.status_code == 201, r.text
    live = r.json()
    live["spec"]["tolerations"] = []
    live["metadata"].setdefault("labels", {})["changed"] = "yes"
    r = http.put(f"{PODS}/tol-update", json=live)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["tolerations"] == [_default(NOT_READY), _default(UNREACHABLE)]
    assert r.json()["metadata"]["labels"] == {"changed": "yes"}
    http.delete(f"{PODS}/tol-update")


def test_status_writes_leave_tolerations_alone(http: httpx.Client) -> None:
    given = [{"operator": "Exists"}]
    r = http.post(PODS, json=_pod("tol-status", given))
    live = r.json()
    live["status"] = {"phase": "Pending", "message": "waiting"}
    r = http.put(f"{PODS}/tol-status/status", json=live)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["tolerations"] == given
    http.delete(f"{PODS}/tol-status")


@pytest.mark.parametrize(
    ("subresource", "info", "changed"),
    [("", PODS_INFO, True), ("status", PODS_INFO, False), ("binding", PODS_INFO, False),
     ("", CONFIGMAPS, False)],
)
def test_plugin_scope_and_seconds(subresource: str, info: ResourceInfo, changed: bool) -> None:
    plugin = DefaultTolerationSeconds(not_ready_seconds=60, unreachable_seconds=120)
    obj = _pod("p", None)
    plugin.admit(info, obj, subresource)
    expected = [_default(NOT_READY, 60), _default(UNREACHABLE, 120)] if changed else None
    assert obj["spec"].get("tolerations") == expected
