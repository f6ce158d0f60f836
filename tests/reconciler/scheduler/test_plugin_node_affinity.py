from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import node_affinity
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores, verdicts

REASON = ("node(s) didn't match Pod's node affinity/selector",)
NODES = [
    node("a", labels={"zone": "z1", "disk": "ssd", "cores": "8"}),
    node("b", labels={"zone": "z2", "cores": "2"}),
    node("c", labels={"zone": "z3"}),
]


def _required(*terms: list[dict]) -> dict:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": t} for t in terms]
            }
        }
    }


def _expr(key: str, op: str, *values: str) -> dict:
    return (
        {"key": key, "operator": op, "values": list(values)}
        if values
        else {"key": key, "operator": op}
    )


CASES = [
    ({}, None, set()),
    ({"zone": "z1"}, None, {"b", "c"}),
    ({"zone": "z1", "disk": "ssd"}, None, {"b", "c"}),
    ({"zone": "nowhere"}, None, {"a", "b", "c"}),
    ({"nolabel": "x"}, None, {"a", "b", "c"}),
    ({}, _required([_expr("zone", "In", "z1", "z2")]), {"c"}),
    ({}, _required([_expr("zone", "NotIn", "z1")]), {"a"}),
    ({}, _required([_expr("disk", "NotIn", "ssd")]), {"a"}),  # absent label: NotIn matches
    ({}, _required([_expr("disk", "Exists")]), {"b", "c"}),
    ({}, _required([_expr("disk", "DoesNotExist")]), {"a"}),
    ({}, _required([_expr("cores", "Gt", "4")]), {"b", "c"}),
    ({}, _required([_expr("cores", "Lt", "4")]), {"a", "c"}),
    ({}, _required([_expr("zone", "In", "z1")], [_expr("zone", "In", "z3")]), {"b"}),  # terms ORed
    (
        {},
        _required([_expr("zone", "In", "z1", "z2"), _expr("disk", "Exists")]),
        {"b", "c"},
    ),  # ANDed
    ({}, _required([]), {"a", "b", "c"}),  # an empty term matches nothing
    ({"zone": "z2"}, _required([_expr("zone", "In", "z1", "z2")]), {"a", "c"}),  # both apply
]


@pytest.mark.parametrize(("selector", "affinity", "rejected"), CASES)
def test_filter(selector, affinity, rejected) -> None:
    spec: dict = {}
    if selector:
        spec["nodeSelector"] = selector
    if affinity:
        spec["affinity"] = affinity
    got = verdicts(node_affinity, cluster(NODES), pod("p", **spec))
    assert {n for n, r in got.items() if r} == rejected
    assert all(r in ((), REASON) for r in got.values())


def test_match_fields_metadata_name() -> None:
    aff = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}
                ]
            }
        }
    }
    got = verdicts(node_affinity, cluster(NODES), pod("p", affinity=aff))
    assert {n for n, r in got.items() if r} == {"a", "c"}


def test_preferred_score() -> None:
    aff = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 80, "preference": {"matchExpressions": [_expr("zone", "In", "z1")]}},
                {"weight": 20, "preference": {"matchExpressions": [_expr("cores", "Exists")]}},
            ]
        }
    }
    # raw a=100, b=20, c=0 -> normalised by the max
    assert scores(node_affinity, cluster(NODES), pod("p", affinity=aff)) == {
        "a": 100,
        "b": 20,
        "c": 0,
    }
    assert scores(node_affinity, cluster(NODES), pod("p")) is None
