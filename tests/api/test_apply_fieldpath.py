"""Field paths and the FieldsV1 wire form (kctl.api.apply.fieldpath)."""

from __future__ import annotations

import orjson
import pytest

from kctl.api.apply import fieldpath as fp


def test_fields_v1_round_trip_with_self_marker() -> None:
    tree = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:containers": {
                'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}},
            },
            "f:replicas": {},
        },
    }
    paths = fp.from_fields_v1(tree)
    assert paths == {
        ("f:metadata", "f:labels"),
        ("f:metadata", "f:labels", "f:app"),
        ("f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:name"),
        ("f:spec", "f:replicas"),
    }
    assert orjson.dumps(fp.to_fields_v1(paths)) == orjson.dumps(tree)


def test_order_is_self_then_fields_then_keys_then_values() -> None:
    paths = {
        ("f:x",),
        ("f:x", 'k:{"containerPort":8080,"protocol":"TCP"}'),
        ("f:x", 'k:{"containerPort":80,"protocol":"UDP"}'),
        ("f:x", 'k:{"containerPort":80,"protocol":"TCP"}'),
        ("f:x", "f:b"),
        ("f:x", "f:B"),
        ("f:x", 'v:"z"'),
        ("f:x", "v:3"),
    }
    keys = list(fp.to_fields_v1(paths)["f:x"])
    # Numbers compare numerically (80 < 8080 although "8080" < "80," as text),
    # upper case before lower case (bytewise), numbers before strings.
    assert keys == [
        ".",
        "f:B",
        "f:b",
        'k:{"containerPort":80,"protocol":"TCP"}',
        'k:{"containerPort":80,"protocol":"UDP"}',
        'k:{"containerPort":8080,"protocol":"TCP"}',
        "v:3",
        'v:"z"',
    ]


def test_key_and_value_elements_use_go_json() -> None:
    assert (
        fp.key({"protocol": "TCP", "containerPort": 80})
        == 'k:{"containerPort":80,"protocol":"TCP"}'
    )
    assert fp.value("a<b&c") == 'v:"a\\u003cb\\u0026c"'
    assert fp.value(1.0) == "v:1"
    assert fp.go_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'


def test_path_string_as_kube_apiserver_prints_it() -> None:
    path = (
        "f:spec",
        "f:ports",
        'k:{"port":80,"protocol":"TCP"}',
        "f:name",
    )
    assert fp.path_string(path) == '.spec.ports[port=80,protocol="TCP"].name'
    assert fp.path_string(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'
    assert fp.path_string(("f:a", "i:3")) == ".a[3]"


def test_iter_sorted_lists_members_of_a_level_before_its_children() -> None:
    paths = {
        ("f:spec", "f:template", "f:spec", "f:x"),
        ("f:spec", "f:replicas"),
        ("f:metadata", "f:labels", "f:a"),
    }
    assert list(fp.iter_sorted(paths)) == [
        ("f:metadata", "f:labels", "f:a"),
        ("f:spec", "f:replicas"),
        ("f:spec", "f:template", "f:spec", "f:x"),
    ]


@pytest.mark.parametrize(
    "tree",
    [
        [],
        {"f:spec": 1},
        {"x:spec": {}},
        {"f:spec": {"k:notjson": {}}},
        {"f:spec": {"i:one": {}}},
    ],
)
def test_invalid_fields_v1_is_rejected(tree: object) -> None:
    with pytest.raises(fp.FieldsV1Error):
        paths = fp.from_fields_v1(tree)
        for path in paths:
            for pe in path:
                fp.element_order(pe)


def test_under_and_prefixes() -> None:
    paths = {("f:a", "f:b"), ("f:a",), ("f:c",)}
    assert fp.under(paths, [("f:a",)]) == {("f:a", "f:b"), ("f:a",)}
    assert fp.prefixes({("f:a", "f:b", "f:c")}) == {("f:a",), ("f:a", "f:b")}


def _golden_sets() -> list[set[fp.Path]]:
    from pathlib import Path

    from ruamel.yaml import YAML

    out = []
    for path in sorted((Path(__file__).parent / "golden" / "apply").glob("*.yaml")):
        case = orjson.loads(orjson.dumps(YAML(typ="safe", pure=True).load(path.read_text())))
        out.append(fp.from_fields_v1(case["expect"]))
    return out


def test_tree_edits_equal_re_encoding() -> None:
    import random

    rng = random.Random(7)
    for full in _golden_sets():
        ordered = sorted(full)
        for _ in range(25):
            drop = set(rng.sample(ordered, rng.randint(1, len(ordered))))
            kept = full - drop
            tree = fp.to_fields_v1(full)
            removed = fp.tree_remove(tree, drop)
            assert orjson.dumps(removed) == orjson.dumps(fp.to_fields_v1(kept))
            assert tree == fp.to_fields_v1(full)  # not mutated
            added = fp.tree_add(fp.to_fields_v1(kept), drop)
            assert orjson.dumps(added) == orjson.dumps(tree)
            assert all(fp.tree_has(tree, p) for p in full)
            assert not any(fp.tree_has(removed, p) for p in drop)


def test_key_cache_keeps_booleans_and_numbers_apart() -> None:
    assert fp.key({"a": 1}) == 'k:{"a":1}'
    assert fp.key({"a": True}) == 'k:{"a":true}'
    assert fp.key({"a": 1}) == 'k:{"a":1}'
