"""Label and field selectors: grammar, matching, and kube-apiserver's error messages."""

from __future__ import annotations

import pytest

from kctl.api import kinds, selectors
from kctl.api.errors import BadRequest

LABELS = {"a": "b", "c": "x", "e": "y", "f": "w", "g": ""}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a in (b, c)", {"a": "c"}, True),
        ("a in (b,c)", {}, False),
        ("a notin (b)", {}, True),
        ("a notin (b)", {"a": "b"}, False),
        ("a", {"a": ""}, True),
        ("a", {}, False),
        ("!a", {}, True),
        ("!a", {"a": "1"}, False),
        ("a>3", {"a": "4"}, True),
        ("a>3", {"a": "3"}, False),
        ("a<3", {"a": "x"}, False),
        ("a=b,c!=d,e in (x,y),f notin (z),g,!h", LABELS, True),
        ("a=b,c!=d,e in (x,y),f notin (z),g,!h", {**LABELS, "h": "1"}, False),
        ("a=in", {"a": "in"}, True),  # keywords are values where a value is expected
        ("a=", {"a": ""}, True),
        ("a in ()", {"a": ""}, True),  # "()" is the set of the empty value
        ("example.com/tier=front-end", {"example.com/tier": "front-end"}, True),
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert selectors.parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in", "unable to parse requirement: found '' expected: '('"),
        ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("=x", "found '=', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ],
)
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        selectors.parse_label_selector(text)
    assert str(err.value).startswith(message)
    assert err.value.code == 400


def test_invalid_label_key_and_value() -> None:
    with pytest.raises(BadRequest, match="name part must consist of alphanumeric"):
        selectors.parse_label_selector("-a=b")
    with pytest.raises(BadRequest, match="a valid label must be an empty string"):
        selectors.parse_label_selector("a=-b-")


def test_selector_string_form_is_sorted_and_canonical() -> None:
    sel = selectors.parse_label_selector("z=1, a in (y,x), !m")
    assert str(sel) == "a in (x,y),!m,z=1"
    assert selectors.parse_label_selector(str(sel)) == sel


def test_from_label_selector_object() -> None:
    sel = selectors.from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "track", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert sel.matches({"app": "web", "tier": "fe", "track": "x"})
    assert not sel.matches({"app": "web", "tier": "fe", "track": "x", "env": "dev"})
    assert not sel.matches({"app": "web", "tier": "fe"})
    assert not sel.matches({"app": "web", "tier": "fe", "track": "", "legacy": "1"})
    assert str(sel) == "app=web,env notin (dev),!legacy,tier in (be,fe),track"
    assert selectors.format_label_selector({"matchLabels": {"app": "nginx"}}) == "app=nginx"


def test_nil_selects_nothing_empty_selects_everything() -> None:
    assert not selectors.from_label_selector(None).matches({})
    assert not selectors.from_label_selector(None).empty
    everything = selectors.from_label_selector({})
    assert everything.empty and everything.matches({"x": "y"})
    assert selectors.parse_label_selector("").empty


def test_bad_operator_in_object() -> None:
    with pytest.raises(BadRequest, match='"Foo" is not a valid label selector operator'):
        selectors.from_label_selector({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
    with pytest.raises(BadRequest, match="values set can't be empty"):
        selectors.from_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})


def test_from_set() -> None:
    sel = selectors.from_set({"app": "web"})
    assert sel.matches({"app": "web", "x": "y"}) and not sel.matches({})
    assert selectors.from_set({}).empty


# --- field selectors --------------------------------------------------------------------


def test_field_selector_parse_and_match() -> None:
    sel = selectors.parse_field_selector("spec.nodeName=n1,status.phase!=Failed,metadata.name==p")
    assert [str(t) for t in sel.terms] == [
        "metadata.name=p",
        "spec.nodeName=n1",
        "status.phase!=Failed",
    ]
    fields = {"spec.nodeName": "n1", "status.phase": "Running", "metadata.name": "p"}
    assert sel.matches(fields)
    assert not sel.matches({**fields, "status.phase": "Failed"})
    assert sel.exact("metadata.name") == "p"
    assert sel.exact("status.phase") is None
    # a missing field compares as the empty string
    assert selectors.parse_field_selector("spec.nodeName=").matches({})
    assert selectors.parse_field_selector("").empty


def test_field_selector_escapes() -> None:
    sel = selectors.parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert sel.terms[0].value == "a,b=c\\d"
    with pytest.raises(BadRequest, match="invalid escape sequence"):
        selectors.parse_field_selector(r"a=b\x")
    with pytest.raises(BadRequest, match="can't understand 'abc'"):
        selectors.parse_field_selector("abc")


def test_field_selector_support_check() -> None:
    registry = kinds.default_registry()
    pods = registry.resolve("pods")
    selectors.parse_field_selector("spec.nodeName=x,metadata.namespace=d").check_supported(pods)
    with pytest.raises(BadRequest) as err:
        selectors.check_supported(selectors.parse_field_selector("spec.bogus=1"), pods)
    assert str(err.value) == "field label not supported: spec.bogus"
    with pytest.raises(BadRequest):
        selectors.parse_field_selector("spec.nodeName=x").check_supported(registry.resolve("cm"))
