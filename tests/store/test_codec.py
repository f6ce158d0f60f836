"""What the store keeps per entry: stored bytes in an exact allocation, shared strings."""

from __future__ import annotations

import sys
import tracemalloc
from typing import Any

import orjson
import pytest

from kctl.store.codec import default_fields, labels_of, shared_fields, stamp


def _pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "img:1"}]},
        "status": {"phase": "Running"},
    }


def _held(make: Any, count: int) -> tuple[int, list[Any]]:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make(i) for i in range(count)]
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


def test_stamped_values_hold_only_their_own_size() -> None:
    # orjson's own result keeps a buffer of >= 4 KB; a stored value must not.
    held, values = _held(lambda i: stamp(_pod(i), i + 1), 500)
    size = sum(len(v) for v in values)
    assert held < size + 500 * 120, (held, size)
    assert orjson.loads(values[7])["metadata"]["resourceVersion"] == "8"
    assert orjson.loads(values[7])["metadata"]["name"] == "web-7"


@pytest.mark.parametrize(
    ("get", "value"),
    [
        (lambda obj: labels_of(obj)["app"], "web"),
        (lambda obj: shared_fields(default_fields)("pods", obj)["metadata.namespace"], "default"),
        (lambda obj: list(labels_of(obj))[0], "app"),
    ],
)
def test_labels_and_fields_are_shared_strings(get: Any, value: str) -> None:
    a, b = (orjson.loads(orjson.dumps(_pod(i))) for i in range(2))  # fresh strings each
    assert get(a) == value and get(a) is get(b) is sys.intern(value)


def test_labels_of_odd_shapes() -> None:
    assert labels_of({"metadata": {"labels": None}}) == {}
    assert labels_of({"metadata": {"labels": ["not", "a", "map"]}}) == {}
    assert labels_of({}) == {}
