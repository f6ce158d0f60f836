"""Parsed pods share what is equal among them (the scheduler holds one per pod)."""

from __future__ import annotations

from reconciler.scheduler.podinfo import Toleration, parse_pod
from tests.reconciler.scheduler.helpers import pod

DEFAULTS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def test_equal_tolerations_are_one_tuple() -> None:
    a = parse_pod(pod("a", tolerations=DEFAULTS))
    b = parse_pod(pod("b", tolerations=[dict(t) for t in DEFAULTS]))
    other = parse_pod(pod("c", tolerations=[{"operator": "Exists"}]))
    assert a.tolerations is b.tolerations
    assert a.tolerations == (
        Toleration("node.kubernetes.io/not-ready", "Exists", "", "NoExecute"),
        Toleration("node.kubernetes.io/unreachable", "Exists", "", "NoExecute"),
    )
    assert other.tolerations == (Toleration("", "Exists", "", ""),)
