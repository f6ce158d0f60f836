"""Interning the strings of decoded objects: values shared, documents unchanged."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import pytest

from kctl.client.interning import MAX_LENGTH, Compactor, intern_strings

POD = {
    "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "nodeName": "node-7",
        "containers": [{"name": "c", "image": "registry.local/web:1", "args": ["--port", "8080"]}],
        "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": 300}],
    },
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "ready": True},
    "data": {"long": "x" * (MAX_LENGTH + 1), "nested": [["deep-list-value", 1, None, 2.5]]},
}


def _decoded() -> Any:
    # a fresh decode, as the informer gets it: strings are new objects each time
    return orjson.loads(orjson.dumps(POD))


@pytest.mark.parametrize(
    ("path", "shared"),
    [
        (("metadata", "namespace"), True),
        (("metadata", "labels", "app"), True),
        (("spec", "nodeName"), True),
        (("spec", "containers", 0, "image"), True),
        (("spec", "containers", 0, "args", 0), True),  # strings in lists
        (("spec", "tolerations", 0, "operator"), True),
        (("status", "conditions", 0, "status"), True),
        (("data", "nested", 0, 0), True),  # lists in lists
        (("data", "long"), False),  # longer than MAX_LENGTH: left alone
    ],
)
def test_repeated_values_become_one_instance(path: tuple[Any, ...], shared: bool) -> None:
    a, b = _decoded(), _decoded()
    intern_strings(a)
    intern_strings(b)
    va, vb = a, b
    for step in path:
        va, vb = va[step], vb[step]
    assert va == vb
    assert (va is vb) is shared
    if shared:
        assert va is sys.intern(va)


def test_document_is_unchanged_and_non_strings_kept() -> None:
    obj = _decoded()
    intern_strings(obj)
    assert obj == POD
    assert obj["status"]["ready"] is True and obj["spec"]["tolerations"][0]["tolerationSeconds"] == 300


@pytest.mark.parametrize("value", [None, 3, "text", True])
def test_scalars_are_ignored(value: Any) -> None:
    intern_strings(value)  # nothing to walk, nothing raised


def _pods(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    return [orjson.loads(orjson.dumps({"metadata": {"name": f"p{i}"}, "spec": s})) for i, s in enumerate(specs)]


TEMPLATE = {"containers": [{"name": "c", "image": "img:1", "resources": {"requests": {"cpu": "10m"}}}]}
ON_N1, ON_N2 = {**TEMPLATE, "nodeName": "n1"}, {**TEMPLATE, "nodeName": "n2"}


@pytest.mark.parametrize(
    ("first", "second", "path", "shared"),
    [
        # a part equal to the previous object's is held once
        (ON_N1, ON_N2, ("spec", "containers"), True),
        (ON_N1, ON_N2, ("spec", "containers", 0, "resources"), True),
        # the parent that differs is not shared, its equal children are
        (ON_N1, ON_N2, ("spec",), False),
        ({"x": {"a": 1, "b": 2}}, {"x": {"a": 1, "b": 2}}, ("spec", "x"), True),
        # equal in Python but not in JSON: never shared
        ({"x": {"v": 1}}, {"x": {"v": True}}, ("spec", "x"), False),
        ({"x": {"v": 1}}, {"x": {"v": 1.0}}, ("spec", "x"), False),
        ({"x": {"a": 1, "b": 2}}, {"x": {"b": 2, "a": 1}}, ("spec", "x"), False),
    ],
)
def test_compactor_shares_equal_parts(
    first: dict[str, Any], second: dict[str, Any], path: tuple[Any, ...], shared: bool
) -> None:
    a, b = _pods(first, second)
    compactor = Compactor()
    compactor.compact(a)
    compactor.compact(b)
    assert orjson.dumps(a) == orjson.dumps(_pods(first)[0])  # documents unchanged
    assert orjson.dumps(b) == orjson.dumps(_pods(first, second)[1])
    va, vb = a, b
    for step in path:
        va, vb = va[step], vb[step]
    assert (va is vb) is shared


def test_compactor_remembers_a_bounded_number_of_paths() -> None:
    compactor = Compactor(max_paths=3)
    for i in range(5):
        compactor.compact(orjson.loads(orjson.dumps({"a": {"b": {"c": {"d": {"e": [i]}}}}})))
    assert len(compactor) == 3
