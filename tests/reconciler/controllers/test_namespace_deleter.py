"""The namespace controller's pure parts: conditions, what is left, the finalize body;
and one deleter pass against a fake API (discovery failures, remaining content)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.client import resources
from kctl.client.discovery import (
    Discovered,
    preferred_group_versions,
    resource_infos,
)
from reconciler.controllers.namespace.conditions import (
    CONDITION_TYPES,
    ConditionUpdater,
    ContentTotals,
)
from reconciler.controllers.namespace.deleter import (
    ContentRemaining,
    DeletionFailed,
    NamespacedResourcesDeleter,
    finalize_body,
    gvr_string,
    judge_remaining,
    pod_grace_estimate,
)

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def cond(status: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_all_good_conditions_are_the_false_variants() -> None:
    status: dict[str, Any] = {"phase": "Terminating"}
    assert ConditionUpdater().update(status, T0)
    assert [c["type"] for c in status["conditions"]] == list(CONDITION_TYPES)
    assert all(
        c["status"] == "False" and c["lastTransitionTime"] == T0 for c in status["conditions"]
    )
    assert cond(status, "NamespaceContentRemaining")["reason"] == "ContentRemoved"
    assert not ConditionUpdater().update(status, T1)  # nothing changed, nothing to write


def test_failures_are_worded_as_kubernetes_does() -> None:
    updater = ConditionUpdater()
    updater.discovery_failed("unable to retrieve the complete list of server APIs: x/v1: boom", 1)
    updater.delete_failed("b failed")
    updater.delete_failed("a failed")
    totals = ContentTotals()
    totals.add("pods.", 2, {})
    totals.add("configmaps.", 1, {"x/y": 1})
    totals.add("leases.coordination.k8s.io", 0, {"ignored": 1})
    updater.content_totals(totals)
    status: dict[str, Any] = {}
    updater.update(status, T0)
    assert {**cond(status, "NamespaceDeletionDiscoveryFailure"), "lastTransitionTime": T0} == {
        "type": "NamespaceDeletionDiscoveryFailure",
        "status": "True",
        "reason": "DiscoveryFailed",
        "message": "Discovery failed for some groups, 1 failing: unable to retrieve the complete "
        "list of server APIs: x/v1: boom",
        "lastTransitionTime": T0,
    }
    content = cond(status, "NamespaceDeletionContentFailure")
    assert content["reason"] == "ContentDeletionFailed"
    assert (
        content["message"] == "Failed to delete all resource types, 2 remaining: a failed, b failed"
    )
    assert cond(status, "NamespaceContentRemaining")["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances"
    )
    assert cond(status, "NamespaceFinalizersRemaining")["message"] == (
        "Some content in the namespace has finalizers remaining: x/y in 1 resource instances"
    )


def test_transition_time_moves_only_with_the_status() -> None:
    status: dict[str, Any] = {"conditions": [{"type": "Other", "status": "True"}]}
    first = ConditionUpdater()
    first.content_totals(ContentTotals({"pods.": 2}))
    first.update(status, T0)
    second = ConditionUpdater()
    second.content_totals(ContentTotals({"pods.": 1}))
    assert second.update(status, T1)
    remaining = cond(status, "NamespaceContentRemaining")
    assert remaining["message"].endswith("pods. has 1 resource instances")
    assert remaining["lastTransitionTime"] == T0  # still True: same transition
    ConditionUpdater().update(status, T1)
    assert cond(status, "NamespaceContentRemaining")["lastTransitionTime"] == T1
    assert cond(status, "Other") == {"type": "Other", "status": "True"}  # not ours: kept


POD = resources.PODS


def pod(phase: str = "Running", grace: int | None = 30) -> dict[str, Any]:
    spec: dict[str, Any] = {} if grace is None else {"terminationGracePeriodSeconds": grace}
    return {"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(
    "pods, expected",
    [
        ([], 0),
        ([pod(grace=30), pod(grace=60)], 60),
        ([pod("Succeeded", 90), pod("Failed", 90), pod(grace=5)], 5),
        ([pod(grace=None)], 0),
    ],
)
def test_pod_grace_estimate(pods: list[dict[str, Any]], expected: int) -> None:
    assert pod_grace_estimate(pods) == expected


def item(*finalizers: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "finalizers": list(finalizers)}}


@pytest.mark.parametrize(
    "items, estimate, expected_estimate, remaining, finalizers, error",
    [
        ([], 30, 0, 0, {}, ""),  # all gone: done, whatever the estimate was
        ([item()], 30, 30, 1, {}, ""),  # still terminating within its grace period
        ([item("a", "b"), item("a")], 0, 15, 2, {"a": 2, "b": 1}, ""),  # held by finalizers
        (
            [item()],
            0,
            0,
            1,
            {},
            "unexpected items still remain in namespace: ns for gvr: /v1, Resource=pods",
        ),
    ],
)
def test_judge_remaining(
    items: list[dict[str, Any]],
    estimate: int,
    expected_estimate: int,
    remaining: int,
    finalizers: dict[str, int],
    error: str,
) -> None:
    result = judge_remaining("ns", POD, items, estimate)
    assert (result.estimate, result.remaining, result.finalizers, result.error) == (
        expected_estimate,
        remaining,
        finalizers,
        error,
    )


def test_gvr_string_and_finalize_body() -> None:
    assert gvr_string(resources.DEPLOYMENTS) == "apps/v1, Resource=deployments"
    ns: dict[str, Any] = {
        "metadata": {"name": "n"},
        "spec": {"finalizers": ["z", "kubernetes", "a"]},
    }
    assert finalize_body(ns)["spec"]["finalizers"] == ["a", "z"]
    assert ns["spec"]["finalizers"] == ["z", "kubernetes", "a"]


def test_discovery_documents() -> None:
    core = {"versions": ["v1"]}
    groups = {
        "groups": [
            {"name": "apps", "preferredVersion": {"groupVersion": "apps/v1"}},
            {"name": "x.io", "versions": [{"groupVersion": "x.io/v2"}]},
        ]
    }
    assert preferred_group_versions(core, groups) == ["v1", "apps/v1", "x.io/v2"]
    doc = {
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "kind": "Deployment",
                "namespaced": True,
                "verbs": ["list", "delete"],
            },
            {"name": "deployments/scale", "kind": "Scale", "namespaced": True, "verbs": ["get"]},
        ],
    }
    (info,) = resource_infos(doc)
    assert (info.group, info.version, info.plural, info.namespaced) == (
        "apps",
        "v1",
        "deployments",
        True,
    )
    assert info.verbs == ("list", "delete")


# --- one pass against a fake API ----------------------------------------------------------


class FakeApi:
    """Just enough of AsyncClient for the deleter: one namespace, objects by resource."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.ns: dict[str, Any] = {
            "metadata": {"name": "ns", "uid": "u", "deletionTimestamp": T0, "resourceVersion": "1"},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Terminating"},
        }
        self.objects = objects
        self.calls: list[str] = []

    async def get(self, info: ResourceInfo, name: str, ns: str | None = None) -> dict[str, Any]:
        if self.ns is None:
            raise errors.NotFound("gone")
        return dict(self.ns)

    async def replace(
        self,
        info: ResourceInfo,
        body: dict[str, Any],
        ns: str | None = None,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        self.calls.append(f"replace/{subresource}")
        self.ns = dict(body)
        return dict(body)

    async def delete_collection(self, info: ResourceInfo, ns: str, **_: Any) -> dict[str, Any]:
        self.calls.append(f"deletecollection {info.plural}")
        self.objects[info.plural] = [
            o for o in self.objects.get(info.plural, []) if o["metadata"].get("finalizers")
        ]
        return {}

    async def list(self, info: ResourceInfo, ns: str | None = None) -> dict[str, Any]:
        return {"items": list(self.objects.get(info.plural, []))}


def discovered(*infos: ResourceInfo, failed: dict[str, str] | None = None) -> Any:
    async def fn(_client: Any) -> Discovered:
        return Discovered(list(infos), dict(failed or {}))

    return fn


def run_pass(api: FakeApi, discover: Any) -> None:
    deleter = NamespacedResourcesDeleter(api, discover_fn=discover, now=lambda: T0)  # type: ignore[arg-type]
    asyncio.run(deleter.delete("ns"))


def test_a_pass_deletes_content_then_finalizes() -> None:
    api = FakeApi({"configmaps": [item()], "nodes": [item()]})
    run_pass(api, discovered(resources.CONFIGMAPS, resources.NODES, resources.NAMESPACES))
    assert api.calls == ["deletecollection configmaps", "replace/status", "replace/finalize"]
    assert api.ns["spec"]["finalizers"] == []


def test_a_pass_with_finalizer_held_content_asks_to_wait() -> None:
    api = FakeApi({"configmaps": [item("hold")]})
    with pytest.raises(ContentRemaining) as remaining:
        run_pass(api, discovered(resources.CONFIGMAPS))
    assert remaining.value.estimate == 15
    assert "replace/finalize" not in api.calls
    assert api.ns["spec"]["finalizers"] == ["kubernetes"]


def test_a_discovery_failure_is_reported_and_blocks_finalizing() -> None:
    api = FakeApi({"configmaps": [item()]})
    with pytest.raises(DeletionFailed):
        run_pass(
            api,
            discovered(
                resources.CONFIGMAPS,
                failed={"x.io/v1": "the server is currently unable to handle the request"},
            ),
        )
    assert api.calls == ["deletecollection configmaps", "replace/status"]
    failure = cond(api.ns["status"], "NamespaceDeletionDiscoveryFailure")
    assert failure["status"] == "True"
    assert failure["message"] == (
        "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of "
        "server APIs: x.io/v1: the server is currently unable to handle the request"
    )


def test_a_namespace_not_being_deleted_is_left_alone() -> None:
    api = FakeApi({"configmaps": [item()]})
    del api.ns["metadata"]["deletionTimestamp"]
    run_pass(api, discovered(resources.CONFIGMAPS))
    assert api.calls == []
