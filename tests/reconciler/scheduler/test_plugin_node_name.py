from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import node_name
from reconciler.scheduler.podinfo import parse_pod
from tests.reconciler.scheduler.helpers import cluster, node, pod, state

REASON = ("node(s) didn't match the requested node name",)


@pytest.mark.parametrize(
    ("wanted", "want"),
    [("", {"a": (), "b": ()}), ("a", {"a": (), "b": REASON}), ("zz", {"a": REASON, "b": REASON})],
)
def test_filter(wanted, want) -> None:
    from reconciler.scheduler.framework import REASONS

    cache = cluster([node("a"), node("b")])
    codes = node_name.filter(state(cache, parse_pod(pod("p", node_name=wanted))))
    got = {
        n: (REASONS.reasons(int(codes[s])) if codes is not None else ())
        for n, s in cache.nodes.slot_of.items()
    }
    assert got == want
