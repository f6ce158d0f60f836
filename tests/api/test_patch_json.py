"""JSON patch (RFC 6902): operations, pointers, array rules, errors as kube-apiserver's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kctl.api.errors import BadRequest, Invalid, RequestEntityTooLarge
from kctl.api.patch import MalformedPatch, PatchError, apply_json_patch
from kctl.api.patch.jsonpatch import MAX_OPERATIONS, json_equal, parse_pointer

# RFC 6902, Appendix A (the examples that succeed): (document, patch, result).
RFC_EXAMPLES: list[tuple[str, Any, list[dict[str, Any]], Any]] = [
    (
        "A.1 add an object member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    (
        "A.2 add an array element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    (
        "A.3 remove an object member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    (
        "A.4 remove an array element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        "A.5 replace a value",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6 move a value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7 move an array element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8 test success",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        "A.10 add a nested member object",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11 ignore unrecognized elements",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    (
        "A.14 ~ escape ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    (
        "A.16 add an array value",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    (
        "copy",
        {"a": {"b": [1]}},
        [{"op": "copy", "from": "/a", "path": "/c"}],
        {"a": {"b": [1]}, "c": {"b": [1]}},
    ),
    (
        "add replaces an existing member",
        {"a": 1},
        [{"op": "add", "path": "/a", "value": 2}],
        {"a": 2},
    ),
    (
        "whole document",
        {"a": 1},
        [{"op": "replace", "path": "", "value": {"b": 2}}],
        {"b": 2},
    ),
    (
        "add at the end index",
        {"a": [1, 2]},
        [{"op": "add", "path": "/a/2", "value": 3}],
        {"a": [1, 2, 3]},
    ),
    (
        "move to the same place",
        {"a": 1},
        [{"op": "move", "from": "/a", "path": "/a"}],
        {"a": 1},
    ),
    (
        "slash and tilde in keys",
        {"metadata": {"annotations": {"a/b": "x", "c~d": "y"}}},
        [
            {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "1"},
            {"op": "remove", "path": "/metadata/annotations/c~0d"},
        ],
        {"metadata": {"annotations": {"a/b": "1"}}},
    ),
    (
        "later ops see earlier ones",
        {"a": {}},
        [
            {"op": "add", "path": "/a/b", "value": {}},
            {"op": "add", "path": "/a/b/c", "value": [1]},
            {"op": "add", "path": "/a/b/c/0", "value": 0},
            {"op": "test", "path": "/a/b/c", "value": [0, 1]},
        ],
        {"a": {"b": {"c": [0, 1]}}},
    ),
]


@pytest.mark.parametrize(
    ("name", "doc", "ops", "expected"), RFC_EXAMPLES, ids=[c[0] for c in RFC_EXAMPLES]
)
def test_operations(name: str, doc: Any, ops: list[dict[str, Any]], expected: Any) -> None:
    before = copy.deepcopy((doc, ops))
    assert apply_json_patch(doc, ops) == expected
    assert (doc, ops) == before  # never mutates its inputs


# Operations that do not apply: 422 Invalid, as kube-apiserver answers a failing op.
FAILURES: list[tuple[str, Any, dict[str, Any], str]] = [
    (
        "A.9 test fails",
        {"baz": "qux"},
        {"op": "test", "path": "/baz", "value": "bar"},
        'test operation failed for path "/baz"',
    ),
    (
        "A.12 add to a nonexistent target",
        {"foo": "bar"},
        {"op": "add", "path": "/baz/bat", "value": "qux"},
        'add operation failed for path "/baz/bat": key "baz" does not exist',
    ),
    (
        "A.15 string is not a number",
        {"foo": 1},
        {"op": "test", "path": "/foo", "value": "1"},
        'test operation failed for path "/foo"',
    ),
    (
        "remove a missing key",
        {"a": 1},
        {"op": "remove", "path": "/b"},
        'remove operation failed for path "/b": key "b" does not exist',
    ),
    (
        "replace a missing key",
        {"a": 1},
        {"op": "replace", "path": "/b", "value": 2},
        'replace operation failed for path "/b"',
    ),
    (
        "index past the end",
        {"a": [1]},
        {"op": "add", "path": "/a/2", "value": 3},
        "array index 2 is out of range",
    ),
    (
        "leading zero index",
        {"a": [1, 2]},
        {"op": "replace", "path": "/a/01", "value": 3},
        '"01" is not a valid array index',
    ),
    (
        "negative index",
        {"a": [1, 2]},
        {"op": "remove", "path": "/a/-1"},
        '"-1" is not a valid array index',
    ),
    (
        "dash refers to nothing for remove",
        {"a": [1]},
        {"op": "remove", "path": "/a/-"},
        '"-" refers to no existing array element',
    ),
    (
        "through a scalar",
        {"a": 1},
        {"op": "add", "path": "/a/b", "value": 3},
        '"a" is a number, not a container',
    ),
    (
        "move into own child",
        {"a": {"b": {}}},
        {"op": "move", "from": "/a", "path": "/a/b/c"},
        'from "/a" to path "/a/b/c": cannot move a value into one of its own children',
    ),
    (
        "copy from a missing path",
        {"a": 1},
        {"op": "copy", "from": "/x", "path": "/y"},
        'copy operation failed for from "/x" to path "/y"',
    ),
    (
        "remove the root",
        {"a": 1},
        {"op": "remove", "path": ""},
        "cannot remove the whole document",
    ),
    (
        "true is not 1",
        {"a": True},
        {"op": "test", "path": "/a", "value": 1},
        'test operation failed for path "/a": the value is true, not 1',
    ),
]


@pytest.mark.parametrize(("name", "doc", "op", "message"), FAILURES, ids=[c[0] for c in FAILURES])
def test_failing_operations_are_422_invalid(
    name: str, doc: Any, op: dict[str, Any], message: str
) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError) as err:
        apply_json_patch(doc, [op])
    assert isinstance(err.value, Invalid)
    status = err.value.to_status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert message in status["message"]
    assert doc == before


def test_failure_in_a_later_op_leaves_the_target_untouched() -> None:
    doc = {"spec": {"replicas": 1, "paused": False}}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc,
            [
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "remove", "path": "/spec/paused"},
                {"op": "test", "path": "/spec/replicas", "value": 4},
            ],
        )
    assert doc == {"spec": {"replicas": 1, "paused": False}}


MALFORMED: list[tuple[str, Any, str]] = [
    ("not a list", {"op": "add"}, "must be a list of operations"),
    ("op is not an object", ["add"], "operation 0 must be an object"),
    ("op missing", [{"path": "/a", "value": 1}], 'operation 0 has no "op"'),
    ("unknown op", [{"op": "frobnicate", "path": "/a"}], 'unknown op "frobnicate"'),
    ("path missing", [{"op": "remove"}], 'has no "path"'),
    ("value missing", [{"op": "add", "path": "/a"}], 'has no "value"'),
    ("from missing", [{"op": "move", "path": "/a"}], 'has no "from"'),
    ("pointer without slash", [{"op": "remove", "path": "a"}], 'must be empty or start with "/"'),
    ("bad escape", [{"op": "remove", "path": "/a~2"}], 'invalid "~" escape'),
]


@pytest.mark.parametrize(("name", "ops", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_documents_are_400_bad_request(name: str, ops: Any, message: str) -> None:
    with pytest.raises(MalformedPatch) as err:
        apply_json_patch({"a": 1}, ops)
    assert isinstance(err.value, BadRequest)
    assert err.value.to_status()["code"] == 400
    assert message in str(err.value)


def test_malformed_op_is_reported_before_any_op_runs() -> None:
    # The second op is malformed; the first (failing) op must not mask that: 400 wins.
    with pytest.raises(MalformedPatch):
        apply_json_patch({}, [{"op": "test", "path": "/a", "value": 1}, {"op": "nope"}])


def test_too_many_operations_is_413() -> None:
    ops = [{"op": "test", "path": "", "value": {}}] * (MAX_OPERATIONS + 1)
    with pytest.raises(RequestEntityTooLarge):
        apply_json_patch({}, ops)


def test_null_value_is_a_value() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "replace", "path": "/a", "value": None}]) == {
        "a": None
    }


def test_copy_does_not_alias_the_source() -> None:
    out = apply_json_patch(
        {"a": {"b": [1]}},
        [
            {"op": "copy", "from": "/a", "path": "/c"},
            {"op": "add", "path": "/c/b/-", "value": 2},
        ],
    )
    assert out == {"a": {"b": [1]}, "c": {"b": [1, 2]}}
    assert out["a"] is not out["c"]


def test_only_the_patched_path_is_copied() -> None:
    doc: dict[str, Any] = {"metadata": {"name": "web", "labels": {"a": "1"}}, "spec": {"x": [1, 2]}}
    out = apply_json_patch(doc, [{"op": "add", "path": "/metadata/labels/b", "value": "2"}])
    assert out["spec"] is doc["spec"]
    assert out["metadata"] is not doc["metadata"]
    assert doc["metadata"]["labels"] == {"a": "1"}


def test_kubectl_rollout_undo_patch() -> None:
    # rollout undo replaces the pod template with the one stored on the old ReplicaSet.
    deploy = {
        "metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    old_template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
    }
    ops = [
        {"op": "replace", "path": "/spec/template", "value": old_template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "2"},
        },
    ]
    out = apply_json_patch(deploy, ops)
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert out["spec"]["replicas"] == 2


def test_client_side_to_server_side_apply_migration_patch() -> None:
    # kubectl apply --server-side on an object last applied client-side.
    obj = {
        "metadata": {
            "name": "web",
            "resourceVersion": "41",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
        }
    }
    managed = [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1"}]
    out = apply_json_patch(
        obj,
        [
            {"op": "replace", "path": "/metadata/managedFields", "value": managed},
            {"op": "replace", "path": "/metadata/resourceVersion", "value": "41"},
        ],
    )
    assert out["metadata"]["managedFields"] == managed
    assert out["metadata"]["resourceVersion"] == "41"


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [("", []), ("/", [""]), ("/a/b", ["a", "b"]), ("/a~1b/~0c", ["a/b", "~c"]), ("/~01", ["~1"])],
)
def test_parse_pointer(pointer: str, tokens: list[str]) -> None:
    assert parse_pointer(pointer) == tokens


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (0, False, False),
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([1, 2], [2, 1], False),
        ("1", 1, False),
        (None, None, True),
    ],
)
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
