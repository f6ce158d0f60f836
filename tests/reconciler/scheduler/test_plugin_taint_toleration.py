from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import taint_toleration
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores, verdicts

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
EVICT = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
SOFT = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}

FILTER = [
    ([], [], ()),
    ([UNREACHABLE], [], ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",)),
    ([GPU], [], ("node(s) had untolerated taint {gpu: true}",)),
    ([GPU], [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], ()),
    (
        [GPU],
        [{"key": "gpu", "operator": "Equal", "value": "false"}],
        ("node(s) had untolerated taint {gpu: true}",),
    ),
    ([GPU], [{"key": "gpu", "operator": "Exists"}], ()),
    ([GPU], [{"operator": "Exists"}], ()),  # empty key + Exists tolerates everything
    (
        [GPU],
        [{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}],
        ("node(s) had untolerated taint {gpu: true}",),
    ),
    ([EVICT], [], ("node(s) had untolerated taint {dedicated: db}",)),
    ([SOFT], [], ()),  # PreferNoSchedule never filters
    # The first untolerated taint in the node's list is the one named.
    ([GPU, EVICT], [], ("node(s) had untolerated taint {gpu: true}",)),
    ([EVICT, GPU], [], ("node(s) had untolerated taint {dedicated: db}",)),
    (
        [GPU, EVICT],
        [{"key": "gpu", "operator": "Exists"}],
        ("node(s) had untolerated taint {dedicated: db}",),
    ),
]


@pytest.mark.parametrize(("taints", "tolerations", "want"), FILTER)
def test_filter(taints, tolerations, want) -> None:
    cache = cluster([node("a", taints=taints), node("clean")])
    got = verdicts(taint_toleration, cache, pod("p", tolerations=tolerations))
    assert got == {"a": want, "clean": ()}


def test_score_prefers_fewer_untolerated_prefer_no_schedule_taints() -> None:
    other = {"key": "old", "value": "", "effect": "PreferNoSchedule"}
    cache = cluster([node("none"), node("one", taints=[SOFT]), node("two", taints=[SOFT, other])])
    assert scores(taint_toleration, cache, pod("p")) == {"none": 100, "one": 50, "two": 0}
    tolerating = pod(
        "p", tolerations=[{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}]
    )
    assert scores(taint_toleration, cache, tolerating) == {"none": 100, "one": 100, "two": 0}


def test_score_without_soft_taints_has_no_opinion() -> None:
    assert scores(taint_toleration, cluster([node("a", taints=[GPU])]), pod("p")) is None
