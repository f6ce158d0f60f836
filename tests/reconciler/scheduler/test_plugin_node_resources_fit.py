from __future__ import annotations

import pytest

from reconciler.scheduler.plugins import node_resources_fit
from reconciler.scheduler.podinfo import parse_pod, pod_requests
from tests.reconciler.scheduler.helpers import cluster, node, pod, scores, verdicts

FIT = [
    # (pod cpu, pod memory, node, bound pods, reasons)
    ("1", "1Gi", node("a", cpu="2", memory="4Gi"), [], ()),
    ("3", "1Gi", node("a", cpu="2", memory="4Gi"), [], ("Insufficient cpu",)),
    ("1", "5Gi", node("a", cpu="2", memory="4Gi"), [], ("Insufficient memory",)),
    ("3", "5Gi", node("a", cpu="2", memory="4Gi"), [], ("Insufficient cpu", "Insufficient memory")),
    ("1", None, node("a", cpu="2"), [pod("x", "1500m", node_name="a")], ("Insufficient cpu",)),
    ("500m", None, node("a", cpu="2"), [pod("x", "1500m", node_name="a")], ()),
    (None, None, node("a", pods="1"), [pod("x", node_name="a")], ("Too many pods",)),
    (
        "3",
        None,
        node("a", cpu="2", pods="1"),
        [pod("x", node_name="a")],
        ("Too many pods", "Insufficient cpu"),
    ),
    # A pod with no requests only needs a pod slot, even on a full node.
    (None, None, node("a", cpu="1"), [pod("x", "1", node_name="a")], ()),
]


@pytest.mark.parametrize(("cpu", "mem", "n", "bound", "want"), FIT)
def test_filter(cpu, mem, n, bound, want) -> None:
    cache = cluster([n], bound)
    assert verdicts(node_resources_fit, cache, pod("p", cpu, mem)) == {"a": want}


def _ctr(cpu: str, restart: str | None = None) -> dict:
    c: dict = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "0"}}}
    if restart:
        c["restartPolicy"] = restart
    return c


REQUESTS = [
    # containers, init containers, overhead, expected milli-cpu
    (["100m", "200m"], [], None, 300),
    (["100m"], ["500m"], None, 500),  # max(max(init), sum(containers))
    (["400m", "300m"], ["500m"], None, 700),
    (["100m"], ["500m"], "250m", 750),  # + overhead
    # A sidecar (restartable init container) adds to the sum and to later inits.
    (["100m"], [("200m", "Always"), "500m"], None, 700),
    (["1"], [("200m", "Always"), "500m"], None, 1200),
]


@pytest.mark.parametrize(("containers", "inits", "overhead", "want"), REQUESTS)
def test_pod_requests(containers, inits, overhead, want) -> None:
    spec: dict = {
        "containers": [_ctr(c) for c in containers],
        "initContainers": [_ctr(*i) if isinstance(i, tuple) else _ctr(i) for i in inits],
    }
    if overhead:
        spec["overhead"] = {"cpu": overhead}
    assert pod_requests(spec)[0] == want


def test_nonzero_requests_default_to_100m_and_200mi() -> None:
    p = parse_pod(pod("p"))
    assert (p.cpu, p.memory) == (0, 0)
    assert (p.nonzero_cpu, p.nonzero_memory) == (100, 200 * 1024 * 1024)


def test_limits_stand_in_for_missing_requests() -> None:
    body = pod("p")
    body["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2", "memory": "1Gi"}}
    assert (parse_pod(body).cpu, parse_pod(body).memory) == (2000, 1 << 30)


def test_least_allocated_score() -> None:
    # 4 cpu / 8Gi nodes; b already has 2 cpu and 4Gi requested.
    cache = cluster(
        [node("a", cpu="4", memory="8Gi"), node("b", cpu="4", memory="8Gi")],
        [pod("x", "2", "4Gi", node_name="b")],
    )
    # pod 1 cpu 2Gi: a -> cpu (4-1)/4=75, mem (8-2)/8=75 -> 75; b -> 25, 25 -> 25
    assert scores(node_resources_fit, cache, pod("p", "1", "2Gi")) == {"a": 75, "b": 25}


def test_least_allocated_over_capacity_scores_zero() -> None:
    cache = cluster([node("a", cpu="1", memory="1Gi")])
    assert scores(node_resources_fit, cache, pod("p", "2", "2Gi")) == {"a": 0}
