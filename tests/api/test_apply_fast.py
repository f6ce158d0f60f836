"""The fast paths of update tracking give what the plain algorithms give.

track_update builds a creator's FieldsV1 during one walk (walk.created_fields_v1),
compares updates filling in the zero object lazily (walk.compare_objects), encodes field
sets level by level (fieldpath.to_fields_v1) and skips entries that cannot hold stripped
fields. Each is checked here against a plain version of the same algorithm (the
comparison written as structured-merge-diff's Compare, the encoding as one sort of whole
paths), on recorded objects and on deterministic mutations of them: faulty list items,
duplicates, nulls, type changes, booleans against numbers.
"""

from __future__ import annotations

import copy
import logging
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from ruamel.yaml import YAML

from kctl.api.apply import STRIPPED, bench, track_update
from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import FieldSet
from kctl.api.apply.shape import ATOMIC, SET, Shape, shape_of
from kctl.api.apply.walk import (
    MISSING,
    Comparison,
    WalkError,
    compare_objects,
    created_fields_v1,
    index_items,
    with_zero,
    zero_object,
)
from kctl.api.kinds import default_registry
from kctl.api.schema_nav import SchemaNode

GOLDEN = Path(__file__).parent / "golden" / "apply"
NOW = "2025-01-02T03:04:05Z"


# --- plain versions -----------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def reference_compare(lhs: Any, rhs: Any, node: Shape, path: fp.Path, c: Comparison) -> None:
    """structured-merge-diff's Compare, node by node."""
    if lhs is not MISSING and rhs is not MISSING and _same(lhs, rhs):
        return

    def leaf(lv: Any, rv: Any, p: fp.Path) -> None:
        if not p:
            return
        if lv is MISSING:
            c.added.add(p)
        elif rv is MISSING:
            c.removed.add(p)
        elif not _same(lv, rv):
            c.modified.add(p)

    def hook() -> None:
        if path and lhs is MISSING:
            c.added.add(path)
        elif path and rhs is MISSING:
            c.removed.add(path)

    lmap, rmap = isinstance(lhs, dict), isinstance(rhs, dict)
    if (lmap or rmap) and (lmap or lhs in (None, MISSING)) and (rmap or rhs in (None, MISSING)):
        lm = lhs if lmap else {}
        rm = rhs if rmap else {}
        if node.map_atomic or (not lm and not rm):
            leaf(lhs, rhs, path)
            return
        for k in lm:
            reference_compare(lm[k], rm.get(k, MISSING), node.field(k), (*path, "f:" + k), c)
        for k in rm:
            if k not in lm:
                reference_compare(MISSING, rm[k], node.field(k), (*path, "f:" + k), c)
        hook()
        return
    llist, rlist = isinstance(lhs, list), isinstance(rhs, list)
    if (
        (llist or rlist)
        and (llist or lhs is None or lhs is MISSING)
        and (rlist or rhs is None or rhs is MISSING)
    ):
        ll = lhs if llist else []
        rl = rhs if rlist else []
        if node.list_kind == ATOMIC or (not ll and not rl):
            leaf(lhs, rhs, path)
            return
        groups: list[dict[str, list[Any]]] = []
        for side in (ll, rl):
            grouped: dict[str, list[Any]] = {}
            for pe, item in zip(index_items(side, node, path), side, strict=True):
                grouped.setdefault(pe, []).append(item)
            groups.append(grouped)
        lg, rg = groups
        for pe in {**lg, **rg}:
            p = (*path, pe)
            lv, rv = lg.get(pe), rg.get(pe)
            if lv is not None and rv is not None and (len(lv) > 1 or len(rv) > 1):
                if not _same(lv, rv):
                    c.modified.add(p)
                continue
            li = lv[0] if lv is not None else MISSING
            ri = rv[0] if rv is not None else MISSING
            if node.list_kind == SET:
                leaf(li, ri, p)
            else:
                reference_compare(li, ri, node.items(), p, c)
        hook()
        return
    leaf(lhs, rhs, path)


def reference_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """The encoding as one sort of whole paths, then insertion in that order."""
    ordered = sorted((p for p in paths if p), key=lambda p: tuple(map(fp.element_order, p)))
    members = set(ordered)
    root: dict[str, Any] = {}
    for path in ordered:
        node = root
        for i, pe in enumerate(path):
            child = node.get(pe)
            if child is None:
                if i and not node and path[:i] in members:
                    node["."] = {}
                child = node[pe] = {}
            node = child
    return root


def typed_diff(
    old: dict[str, Any] | None, new: dict[str, Any], schema: SchemaNode, reset: list[fp.Path]
) -> Comparison:
    zero = zero_object(schema)
    c = Comparison()
    before = with_zero(old, zero) if old is not None else zero
    reference_compare(before, with_zero(new, zero), shape_of(schema), (), c)
    return c.without(reset)


def text(tree: Any) -> str:
    return orjson.dumps(tree).decode()


# --- objects ------------------------------------------------------------------------------------


def _kinds() -> list[tuple[dict[str, Any], SchemaNode]]:
    out = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        case = orjson.loads(orjson.dumps(YAML(typ="safe", pure=True).load(path.read_text())))
        out.append((case["object"], SchemaNode.for_definition(case["schema"])))
    pods = default_registry().by_resource("pods")
    deployments = default_registry().by_resource("deployments.apps")
    assert pods is not None and deployments is not None
    pod = bench._pod()
    out.append((pod, pods.schema_node()))
    out.append((bench._running(pod, "True"), pods.schema_node()))
    out.append((bench._deployment(), deployments.schema_node()))
    crd = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t", "labels": {"a": "b"}},
        "spec": {"a": [1, 2], "b": {"c": None, "d": {}}},
    }
    out.append((crd, SchemaNode.empty()))
    return out


KINDS = _kinds()
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    "",
    "x",
    "UDP",
    {},
    [],
    [1, 1],
    ["a", "a"],
    {"a": None},
    {"name": "n"},
    [{}],
    [None],
    [{"name": "a"}, {"name": "a"}],
    [{"port": 80}, {"port": 80, "protocol": "UDP"}],
    [{"name": "c", "image": "i"}],
]
KEYS = [
    "name",
    "image",
    "ports",
    "containers",
    "finalizers",
    "labels",
    "a",
    "type",
    "status",
    "spec",
    "metadata",
    "replicas",
    "template",
    "conditions",
    "protocol",
    "containerPort",
    "uid",
    "kind",
    "tolerations",
]


def _nodes(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, obj)]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_nodes(v, (*path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_nodes(v, (*path, i)))
    return out


def mutate(obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 4)):
        path, val = rng.choice(_nodes(obj))
        if not path:
            continue
        parent: Any = obj
        for step in path[:-1]:
            parent = parent[step]
        r = rng.random()
        if r < 0.1 or (r < 0.25 and isinstance(val, dict | list)):
            del parent[path[-1]]
        elif r < 0.5 and isinstance(val, dict):
            val[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
        elif r < 0.6 and isinstance(val, list) and val:
            val.append(copy.deepcopy(rng.choice(val)))
        elif r < 0.7 and isinstance(val, list):
            rng.shuffle(val)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {"name": "m"}
    return obj


RESETS: list[list[str]] = [["status"], ["spec"], [], ["metadata"], ["status", "spec.template"]]


def cases(seed: int, count: int) -> list[tuple[dict[str, Any], SchemaNode, list[str]]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        obj, schema = KINDS[i % len(KINDS)]
        out.append((mutate(obj, rng) if i >= len(KINDS) else obj, schema, rng.choice(RESETS)))
    return out


def reset_paths(names: list[str]) -> list[fp.Path]:
    return [tuple("f:" + part for part in name.split(".")) for name in names]


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_a_created_entry_is_the_comparison_with_the_zero_object(seed: int) -> None:
    for obj, schema, names in cases(seed, 150):
        reset = reset_paths(names)
        excluded = fp.Exclusions.build(STRIPPED, reset)
        try:
            expected = typed_diff(None, obj, schema, reset).changed() - STRIPPED
        except WalkError:
            with pytest.raises(WalkError):
                created_fields_v1(obj, zero_object(schema), schema, excluded)
            continue
        got = created_fields_v1(obj, zero_object(schema), schema, excluded)
        assert text(got) == text(reference_fields_v1(expected))


@pytest.mark.parametrize("seed", range(4))
def test_an_update_comparison_is_the_typed_comparison(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for obj, schema, names in cases(seed, 150):
        new = mutate(obj, rng) if rng.random() < 0.9 else copy.deepcopy(obj)
        reset = reset_paths(names)
        try:
            expected = typed_diff(obj, new, schema, reset)
        except WalkError:
            with pytest.raises(WalkError):
                compare_objects(obj, new, zero_object(schema), schema, reset)
            continue
        got = compare_objects(obj, new, zero_object(schema), schema, reset)
        assert (got.added, got.modified, got.removed) == (
            expected.added,
            expected.modified,
            expected.removed,
        )


@pytest.mark.parametrize("seed", range(3))
def test_tracked_writes_match_the_plain_algorithms(seed: int) -> None:
    """A create then updates by other managers: each entry is the plain algorithm's."""
    rng = random.Random(2000 + seed)
    for obj, schema, _ in cases(seed, 60):
        api_version = str(obj.get("apiVersion") or "v1")
        stored = track_update(None, copy.deepcopy(obj), "creator", api_version, schema, NOW)
        if "managedFields" not in stored["metadata"]:
            continue
        [entry] = stored["metadata"]["managedFields"]
        expected = typed_diff(None, obj, schema, [("f:status",)]).changed() - STRIPPED
        assert text(entry["fieldsV1"]) == text(reference_fields_v1(expected))
        old = {**stored, "metadata": dict(stored["metadata"])}
        history = old["metadata"].pop("managedFields")
        plain = mutate(old, rng)
        new = {**plain, "metadata": {**plain["metadata"], "managedFields": history}}
        subresource = rng.choice(["", "status"])
        out = track_update(stored, new, "editor", api_version, schema, NOW, subresource=subresource)
        if "managedFields" not in out["metadata"]:
            continue
        reset: list[fp.Path] = [("f:spec",)] if subresource else [("f:status",)]
        diff = typed_diff(old, plain, schema, reset)
        changed = diff.changed() - STRIPPED
        for got in out["metadata"]["managedFields"]:
            if got["manager"] == "editor":
                assert text(got["fieldsV1"]) == text(reference_fields_v1(changed))
            else:
                kept = fp.from_fields_v1(entry["fieldsV1"]) - changed - diff.removed
                assert text(got["fieldsV1"]) == text(reference_fields_v1(kept))


def test_an_object_that_cannot_be_typed_is_reported_by_its_first_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pods = default_registry().by_resource("pods")
    assert pods is not None
    pod = bench._pod()
    pod["spec"]["containers"].append({"image": "no-name"})
    pod["spec"].setdefault("tolerations", []).append({"key": "k", "operator": "Exists"})
    pod["spec"]["volumes"] = [{"emptyDir": {}}]
    with caplog.at_level(logging.WARNING, logger="kctl.api.apply.updater"):
        out = track_update(None, pod, "creator", "v1", pods.schema_node(), NOW)
    assert "managedFields" not in out["metadata"]
    # The zero object's fields come first (spec.containers), as upstream walks them.
    assert caplog.messages == [
        "cannot track fields of (/v1, Kind=Pod) default/p1: .spec.containers: element 1: "
        'associative list with keys has an element that omits key field "name" '
        "(and doesn't have default value)"
    ]


def test_fields_v1_levels_come_in_upstream_order() -> None:
    paths: FieldSet = {
        ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:name"),
        ("f:spec", "f:ports", 'k:{"port":8,"protocol":"TCP"}'),
        ("f:spec", "f:ports", 'k:{"port":8,"protocol":"TCP"}', "f:port"),
        ("f:spec", "f:ports"),
        ("f:spec", "f:list", "i:10"),
        ("f:spec", "f:list", "i:2"),
        ("f:spec", "f:list", 'v:"a b"'),
        ("f:spec", "f:list", 'v:"a"'),
        ("f:spec", "f:list", "v:1"),
        ("f:spec", "f:list", 'k:{"name":"a b"}'),
        ("f:spec", "f:list", 'k:{"name":"a"}'),
        ("f:spec", "f:list", "f:z"),
        ("f:metadata", "f:labels", "f:a b"),
        ("f:metadata", "f:labels", "f:a"),
        ("f:metadata", "f:labels"),
    }
    got = fp.to_fields_v1(paths)
    assert text(got) == text(reference_fields_v1(paths))
    assert list(got["f:spec"]["f:ports"]) == [
        ".",
        'k:{"port":8,"protocol":"TCP"}',
        'k:{"port":80,"protocol":"TCP"}',
    ]
    assert list(got["f:spec"]["f:list"]) == [
        "f:z",
        'k:{"name":"a"}',
        'k:{"name":"a b"}',
        "v:1",
        'v:"a"',
        'v:"a b"',
        "i:2",
        "i:10",
    ]


def test_fields_v1_of_random_sets_is_the_sorted_encoding() -> None:
    rng = random.Random(7)
    elements = [
        "f:a",
        "f:b",
        "f:a b",
        "f:Z",
        "f:é",
        'k:{"name":"a"}',
        'k:{"name":"a b"}',
        'k:{"port":80}',
        'k:{"port":8}',
        "v:1",
        'v:"x"',
        "v:true",
        "v:null",
        "v:[1]",
        'v:{"a":1}',
        "i:0",
        "i:10",
        "i:2",
    ]
    for _ in range(2000):
        paths = {
            tuple(rng.choice(elements) for _ in range(rng.randint(0, 4)))
            for _ in range(rng.randint(0, 12))
        }
        assert text(fp.to_fields_v1(paths)) == text(reference_fields_v1(paths))


def test_held_stripped_paths_are_found_as_membership_would() -> None:
    excluded = fp.Exclusions.build(STRIPPED, [("f:status",)])
    rng = random.Random(3)
    elements = ["f:metadata", "f:name", "f:labels", "f:uid", "f:status", "f:spec", "f:kind"]
    for _ in range(2000):
        paths = {
            tuple(rng.choice(elements) for _ in range(rng.randint(1, 3)))
            for _ in range(rng.randint(1, 6))
        }
        tree = fp.to_fields_v1(paths)
        members = fp.from_fields_v1(tree)
        expected = bool(members & STRIPPED) or any(p[0] == "f:status" for p in members)
        assert excluded.held_by(tree) == expected


def test_the_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints timings (``python -m kctl.api.apply.bench`` for real runs); asserts none."""
    bench.main(["20"])
    printed = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + printed)
    assert "pod create" in printed and "no-op update" in printed
