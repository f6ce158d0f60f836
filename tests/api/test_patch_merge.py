"""JSON merge patch (RFC 7386) and the media-type dispatcher."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kctl.api.errors import UnsupportedMediaType
from kctl.api.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    MalformedPatch,
    PatchError,
    apply_merge_patch,
    apply_patch,
)
from kctl.api.schema_nav import SchemaNode

# RFC 7386, Appendix A: (target, patch, result).
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_EXAMPLES)
def test_rfc7386_examples(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy((target, patch))
    assert apply_merge_patch(target, patch) == expected
    assert (target, patch) == before  # inputs untouched


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        "status": {"phase": "Running"},
    }


@pytest.mark.parametrize(
    ("patch", "labels"),
    [
        # kubectl label pod web env=prod
        ({"metadata": {"labels": {"env": "prod"}}}, {"app": "web", "tier": "fe", "env": "prod"}),
        # kubectl label pod web tier-
        ({"metadata": {"labels": {"tier": None}}}, {"app": "web"}),
        # kubectl label --overwrite pod web app=api
        ({"metadata": {"labels": {"app": "api"}}}, {"app": "api", "tier": "fe"}),
    ],
)
def test_kubectl_label_patches(patch: dict[str, Any], labels: dict[str, str]) -> None:
    pod = _pod()
    out = apply_merge_patch(pod, patch)
    assert out["metadata"]["labels"] == labels
    assert out["metadata"]["name"] == "web"
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "fe"}


def test_kubectl_scale_patch_on_scale_subresource() -> None:
    scale = {"kind": "Scale", "spec": {"replicas": 1}, "status": {"replicas": 1}}
    assert apply_merge_patch(scale, {"spec": {"replicas": 5}}) == {
        "kind": "Scale",
        "spec": {"replicas": 5},
        "status": {"replicas": 1},
    }


def test_lists_are_replaced_whole() -> None:
    pod = _pod()
    out = apply_merge_patch(pod, {"spec": {"containers": [{"name": "other"}]}})
    assert out["spec"]["containers"] == [{"name": "other"}]


def test_untouched_subtrees_are_shared_not_copied() -> None:
    pod = _pod()
    out = apply_merge_patch(pod, {"metadata": {"labels": {"env": "prod"}}})
    assert out is not pod
    assert out["metadata"] is not pod["metadata"]
    assert out["spec"] is pod["spec"]  # not on the patched path
    assert out["status"] is pod["status"]


def test_null_for_missing_key_is_a_no_op() -> None:
    assert apply_merge_patch({"a": 1}, {"b": None}) == {"a": 1}


# -- apply_patch: picking the format by media type ------------------------------------------


def test_apply_patch_dispatches_by_media_type() -> None:
    pod = _pod()
    merged = apply_patch(f"{MERGE_PATCH}; charset=utf-8", pod, {"spec": {"containers": []}})
    assert merged["spec"]["containers"] == []
    jp = apply_patch(JSON_PATCH, pod, [{"op": "replace", "path": "/status/phase", "value": "X"}])
    assert jp["status"]["phase"] == "X"
    schema = SchemaNode.for_definition("io.k8s.api.core.v1.Pod")
    smp = apply_patch(
        STRATEGIC_MERGE_PATCH,
        pod,
        {"spec": {"containers": [{"name": "side", "image": "busybox"}]}},
        schema,
    )
    assert [c["name"] for c in smp["spec"]["containers"]] == ["side", "web"]


def test_apply_patch_rejects_unknown_media_type_with_415() -> None:
    with pytest.raises(UnsupportedMediaType) as err:
        apply_patch("application/xml", _pod(), {})
    assert err.value.code == 415


def test_apply_patch_merge_patch_must_be_an_object() -> None:
    with pytest.raises(MalformedPatch) as err:
        apply_patch(MERGE_PATCH, _pod(), ["not", "an", "object"])
    assert err.value.code == 400


def test_apply_patch_result_must_stay_an_object() -> None:
    with pytest.raises(PatchError) as err:
        apply_patch(JSON_PATCH, _pod(), [{"op": "replace", "path": "", "value": [1]}])
    assert err.value.to_status()["code"] == 422
