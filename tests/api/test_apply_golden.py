"""FieldsV1 as kube-apiserver 1.32 records it, for recorded manifests (tests/api/golden/apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from ruamel.yaml import YAML

from kctl.api.apply import apply, track_update
from kctl.api.schema_nav import SchemaNode

GOLDEN = Path(__file__).parent / "golden" / "apply"
NOW = "2025-01-02T03:04:05Z"
CASES = sorted(GOLDEN.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(path.read_text())
    # Normalize to plain JSON types (and key order as written).
    return orjson.loads(orjson.dumps(data))


def _run(case: dict[str, Any]) -> dict[str, Any]:
    schema = SchemaNode.for_definition(case["schema"])
    if case["operation"] == "Apply":
        return apply(None, case["object"], case["manager"], case["apiVersion"], schema, False, NOW)
    return track_update(None, case["object"], case["manager"], case["apiVersion"], schema, NOW)


def test_every_kind_has_both_operations() -> None:
    names = {p.stem for p in CASES}
    for kind in ("deployment", "service", "configmap", "pod"):
        assert {f"{kind}-apply", f"{kind}-create"} <= names


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fields_v1_matches_upstream(path: Path) -> None:
    case = _load(path)
    result = _run(case)
    entries = result["metadata"]["managedFields"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["manager"] == case["manager"]
    assert entry["operation"] == case["operation"]
    assert entry["apiVersion"] == case["apiVersion"]
    assert entry["time"] == NOW
    assert entry["fieldsType"] == "FieldsV1"
    assert "subresource" not in entry
    # Compared as JSON text: key order is part of the format.
    assert orjson.dumps(entry["fieldsV1"]).decode() == orjson.dumps(case["expect"]).decode()
    # The entry's keys come in Go's struct order.
    assert list(entry) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_rewriting_the_same_object_changes_nothing(path: Path) -> None:
    case = _load(path)
    schema = SchemaNode.for_definition(case["schema"])
    first = _run(case)
    later = "2025-06-01T00:00:00Z"
    if case["operation"] == "Apply":
        again = apply(
            first, case["object"], case["manager"], case["apiVersion"], schema, False, later
        )
    else:
        again = track_update(first, first, case["manager"], case["apiVersion"], schema, later)
    assert again == first
