"""The rollout arithmetic: fenceposts, rolling steps, proportional scaling, Recreate."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.deployment import fenceposts, proportional, recreate, rolling
from reconciler.controllers.deployment.steps import Scale
from tests.reconciler.controllers.test_deployment_builders import T0, deployment, replica_set


def sizes(steps: list[Scale]) -> list[tuple[str, int]]:
    return [(s.rs["metadata"]["name"], s.to) for s in steps]


# --- fenceposts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        (3, 10, True, 3),
        ("25%", 10, True, 3),  # 2.5 up
        ("25%", 10, False, 2),  # 2.5 down
        ("25%", 4, True, 1),
        ("25%", 3, False, 0),
        ("25%", 3, True, 1),
        ("100%", 7, False, 7),
        ("0%", 7, True, 0),
        ("33%", 100, False, 33),
        (None, 10, True, 0),
    ],
)
def test_scaled_value(value: Any, total: int, round_up: bool, expected: int) -> None:
    assert fenceposts.scaled_value(value, total, round_up) == expected


@pytest.mark.parametrize("value", ["25", "abc%", True])
def test_scaled_value_rejects_non_percentages(value: Any) -> None:
    with pytest.raises(ValueError):
        fenceposts.scaled_value(value, 10, True)


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 10, (3, 2)),
        ("25%", "25%", 1, (1, 0)),
        ("25%", "25%", 0, (0, 1)),  # 0/0 resolves to unavailable 1
        (0, "10%", 5, (0, 1)),  # 0.5 rounds down to 0, then 0/0 -> 1
        (2, 0, 6, (2, 0)),
        (None, None, 5, (0, 1)),
    ],
)
def test_resolve_fenceposts(
    surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]
) -> None:
    assert fenceposts.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize(
    ("d", "surge", "unavailable", "min_available"),
    [
        (deployment(10), 3, 2, 8),
        (deployment(6), 2, 1, 5),
        (deployment(10, surge=None, unavailable=None), 3, 2, 8),  # defaults 25%/25%
        (deployment(3, surge=0, unavailable=5), 0, 3, 0),  # capped at replicas
        (deployment(0), 0, 0, 0),
        (deployment(10, strategy="Recreate"), 0, 0, 0),
    ],
)
def test_max_surge_max_unavailable(
    d: dict[str, Any], surge: int, unavailable: int, min_available: int
) -> None:
    assert fenceposts.max_surge(d) == surge
    assert fenceposts.max_unavailable(d) == unavailable
    assert fenceposts.min_available(d) == min_available


# --- rolling: the new ReplicaSet ------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "surge", "old", "new", "expected"),
    [
        (10, 0, 10, 0, None),  # no room to surge
        (10, 2, 10, 0, 2),
        (10, 2, 5, 0, 7),
        (10, 2, 10, 2, None),  # surge used up
        (10, 2, 2, 11, 10),  # too big: scale down
        (10, 3, 0, 4, 10),  # capped at replicas
        (10, "25%", 10, 0, 3),
        (4, "50%", 4, 1, 2),
    ],
)
def test_reconcile_new_replica_set(
    replicas: int, surge: Any, old: int, new: int, expected: int | None
) -> None:
    d = deployment(replicas, surge=surge, unavailable=1)
    old_rs = replica_set("web-old", old, created=T0)
    new_rs = replica_set("web-new", new, created=T0 + 1)
    steps = rolling.reconcile_new_replica_set(d, [old_rs, new_rs], new_rs)
    assert sizes(steps) == ([] if expected is None else [("web-new", expected)])


def test_new_rs_new_replicas_recreate_is_replicas() -> None:
    d = deployment(5, strategy="Recreate")
    new_rs = replica_set("web-new", 0)
    assert rolling.new_rs_new_replicas(d, [replica_set("web-old", 5), new_rs], new_rs) == 5


# --- rolling: old ReplicaSets ---------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "unavailable", "old", "new", "new_available", "expected"),
    [
        (10, 2, 10, 0, 0, 2),
        (10, 2, 10, 3, 0, 2),  # surged, nothing new available: only the surge may go
        (10, 2, 8, 3, 0, 0),  # ... and not even that once old ones were scaled down
        (10, 2, 10, 3, 3, 5),
        (10, 0, 10, 2, 2, 2),
        (10, 2, 0, 10, 10, 2),
    ],
)
def test_max_scaled_down(
    replicas: int, unavailable: int, old: int, new: int, new_available: int, expected: int
) -> None:
    d = deployment(replicas, surge=2, unavailable=unavailable)
    new_rs = replica_set("web-new", new, new_available)
    assert rolling.max_scaled_down(d, [replica_set("web-old", old), new_rs], new_rs) == expected


@pytest.mark.parametrize(
    ("replicas", "available", "max_cleanup", "expected"),
    [
        (10, 8, 1, 9),
        (10, 8, 3, 8),
        (10, 8, 0, None),
        (10, 10, 5, None),  # nothing unhealthy
        (0, 0, 5, None),
    ],
)
def test_cleanup_unhealthy_replicas(
    replicas: int, available: int, max_cleanup: int, expected: int | None
) -> None:
    rs = replica_set("web-old", replicas, available)
    steps, after, total = rolling.cleanup_unhealthy_replicas([rs], max_cleanup)
    assert sizes(steps) == ([] if expected is None else [("web-old", expected)])
    assert after[0]["spec"]["replicas"] == (replicas if expected is None else expected)
    assert total == (0 if expected is None else replicas - expected)
    assert rs["spec"]["replicas"] == replicas  # the input is not mutated


def test_cleanup_unhealthy_goes_oldest_first_within_budget() -> None:
    older = replica_set("web-a", 3, 1, created=T0)
    newer = replica_set("web-b", 3, 0, created=T0 + 5)
    steps, _, total = rolling.cleanup_unhealthy_replicas([newer, older], 3)
    assert sizes(steps) == [("web-a", 1), ("web-b", 2)]
    assert total == 3


@pytest.mark.parametrize(
    ("replicas", "unavailable", "available", "old", "expected"),
    [
        (10, 1, 10, 10, 9),
        (10, 2, 10, 10, 8),
        (10, 2, 8, 10, None),  # already at the minimum
        (10, 2, 10, 0, None),
        (10, 10, 10, 10, 0),
    ],
)
def test_scale_down_old_replica_sets(
    replicas: int, unavailable: int, available: int, old: int, expected: int | None
) -> None:
    d = deployment(replicas, surge=0, unavailable=unavailable)
    rs = replica_set("web-old", old, available)
    steps = rolling.scale_down_old_replica_sets(d, [rs], [rs])
    assert sizes(steps) == ([] if expected is None else [("web-old", expected)])


def test_scale_down_old_takes_oldest_first() -> None:
    d = deployment(6, surge=2, unavailable=1)
    older = replica_set("web-a", 2, created=T0)
    newer = replica_set("web-b", 4, created=T0 + 5)
    new_rs = replica_set("web-c", 2, created=T0 + 10)
    steps = rolling.scale_down_old_replica_sets(d, [older, newer, new_rs], [newer, older])
    # 8 available, 5 needed: 3 may go -- both of web-a, then one of web-b
    assert sizes(steps) == [("web-a", 0), ("web-b", 3)]


def test_reconcile_old_cleans_unhealthy_before_scaling_down() -> None:
    d = deployment(10, surge=3, unavailable=2)
    old = replica_set("web-old", 10, 8, created=T0)
    new = replica_set("web-new", 3, 3, created=T0 + 1)
    # 13 total, 8 minimum, 0 new unavailable: up to 5 may go; 2 unhealthy go first, then
    # available 11 - 8 = 3 more
    steps = rolling.reconcile_old_replica_sets(d, [old, new], [old], new)
    assert sizes(steps) == [("web-old", 8), ("web-old", 5)]


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    [(6, 2, 1), (10, "25%", "25%"), (3, 0, 1), (5, 1, 0), (1, "25%", "25%")],
)
def test_rolling_update_simulation_respects_bounds(
    replicas: int, surge: Any, unavailable: Any
) -> None:
    """Drive the planners like the controller would, with a perfect ReplicaSet
    controller: at no step do the bounds break, and the rollout completes."""
    d = deployment(replicas, surge=surge, unavailable=unavailable)
    max_total = replicas + fenceposts.max_surge(d)
    min_avail = replicas - fenceposts.max_unavailable(d)
    old = replica_set("web-old", replicas, created=T0)
    new = replica_set("web-new", 0, created=T0 + 1)
    for _ in range(100):
        steps = rolling.reconcile_new_replica_set(d, [old, new], new)
        if not steps:
            active = [old] if old["spec"]["replicas"] else []
            steps = rolling.reconcile_old_replica_sets(d, [old, new], active, new)
        if not steps:
            break
        for step in steps:
            name = step.rs["metadata"]["name"]
            rs = replica_set(name, step.to, created=T0 if name == "web-old" else T0 + 1)
            if name == "web-old":
                old = rs
            else:
                new = rs
            total = old["spec"]["replicas"] + new["spec"]["replicas"]
            assert min_avail <= total <= max_total
    assert new["spec"]["replicas"] == replicas and old["spec"]["replicas"] == 0


# --- proportional scaling (TestScale of kube-controller-manager) -----------------------


def _annotated(name: str, size: int, created: float, old_d: dict[str, Any]) -> dict[str, Any]:
    desired = old_d["spec"]["replicas"]
    return replica_set(
        name,
        size,
        0,
        created=created,
        desired=desired,
        max_replicas=desired + fenceposts.max_surge(old_d),
    )


@pytest.mark.parametrize(
    ("name", "new_d", "old_d", "new", "olds", "expected_new", "expected_olds"),
    [
        ("5 -> 10", (10, 0), (5, 0), 2, [3], 4, [6]),
        ("5 -> 3", (3, 0), (5, 0), 2, [3], 1, [2]),
        ("9 -> 4", (4, 0), (9, 0), 8, [1], 4, [0]),
        ("7 -> 10", (10, 0), (7, 0), 2, [3, 2], 3, [4, 3]),
        ("13 -> 8", (8, 0), (13, 0), 2, [8, 3], 1, [5, 2]),
        ("leftover 3 -> 4", (4, 0), (3, 0), 1, [1, 1], 2, [1, 1]),
        ("leftover 3 -> 2", (2, 0), (3, 0), 1, [1, 1], 1, [1, 0]),
        ("6 -> 0", (0, 0), (6, 0), 3, [2, 1], 0, [0, 0]),
        ("with surge pods", (20, 2), (10, 2), 6, [6], 11, [11]),
        ("surge and size", (50, 6), (10, 3), 5, [8], 22, [34]),
    ],
)
def test_proportional_scaling(
    name: str,
    new_d: tuple[int, int],
    old_d: tuple[int, int],
    new: int,
    olds: list[int],
    expected_new: int,
    expected_olds: list[int],
) -> None:
    d = deployment(new_d[0], surge=new_d[1], unavailable=0)
    before = deployment(old_d[0], surge=old_d[1], unavailable=0)
    # olds are listed newest first, as in the upstream table
    old_rss = [
        _annotated(f"web-v{len(olds) - i}", n, T0 + len(olds) - i, before)
        for i, n in enumerate(olds)
    ]
    new_rs = _annotated("web-new", new, T0 + 100, before)
    result = {
        s.rs["metadata"]["name"]: s.to for s in proportional.proportional_steps(d, new_rs, old_rss)
    }
    assert result.get("web-new", new) == expected_new, name
    assert [
        result.get(rs["metadata"]["name"], olds[i]) for i, rs in enumerate(old_rss)
    ] == expected_olds, name


def test_proportional_single_active_takes_all() -> None:
    d = deployment(12, surge=0, unavailable=1)
    new_rs = _annotated("web-new", 10, T0 + 1, deployment(10))
    steps = proportional.proportional_steps(d, new_rs, [replica_set("web-old", 0)])
    assert sizes(steps) == [("web-new", 12)]


def test_proportional_no_new_rs_scales_latest_first() -> None:
    d = deployment(5, surge=0, unavailable=1)
    before = deployment(4, surge=0, unavailable=1)
    olds = [_annotated("web-v2", 2, T0 + 2, before), _annotated("web-v1", 2, T0 + 1, before)]
    result = {
        s.rs["metadata"]["name"]: s.to for s in proportional.proportional_steps(d, None, olds)
    }
    assert result == {"web-v2": 3, "web-v1": 2}


def test_saturated_new_rs_scales_old_to_zero() -> None:
    d = deployment(3)
    new_rs = replica_set("web-new", 3, 3, desired=3, max_replicas=4, created=T0 + 1)
    old = replica_set("web-old", 2, created=T0)
    assert proportional.is_saturated(d, new_rs)
    assert sizes(proportional.proportional_steps(d, new_rs, [old])) == [("web-old", 0)]


@pytest.mark.parametrize(
    ("replicas", "desired", "expected"),
    [(10, 10, False), (12, 10, True), (10, None, False)],
)
def test_is_scaling_event(replicas: int, desired: int | None, expected: bool) -> None:
    rs = replica_set("web-a", 5, desired=desired)
    assert proportional.is_scaling_event(deployment(replicas), [rs, None]) is expected


# --- Recreate -------------------------------------------------------------------------


def _pod(phase: str) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("actual", "pods", "expected"),
    [
        (1, {}, True),  # an old ReplicaSet still reports replicas
        (0, {}, False),
        (0, {"uid-web-old": [_pod("Running")]}, True),
        (0, {"uid-web-old": [_pod("Pending")]}, True),
        (0, {"uid-web-old": [_pod("Unknown")]}, True),
        (0, {"uid-web-old": [_pod("Succeeded"), _pod("Failed")]}, False),
        (0, {"uid-web-new": [_pod("Running")]}, False),  # the new ReplicaSet's pods are fine
    ],
)
def test_old_pods_running(
    actual: int, pods: dict[str, list[dict[str, Any]]], expected: bool
) -> None:
    old = replica_set("web-old", 0, actual=actual)
    new = replica_set("web-new", 0)
    assert recreate.old_pods_running(new, [old], pods) is expected


def test_recreate_scales_every_active_old_to_zero() -> None:
    olds = [replica_set("web-a", 2), replica_set("web-b", 0), replica_set("web-c", 1)]
    assert sizes(recreate.scale_down_old(olds)) == [("web-a", 0), ("web-c", 0)]


# --- status lagging spec: the bounds still hold ---------------------------------------


def test_surge_counts_pods_a_scaled_down_replica_set_still_has() -> None:
    d = deployment(6, surge=2, unavailable=1)
    old = replica_set("web-old", 5, 6, actual=6, created=T0)  # scaled down, pod not yet gone
    new = replica_set("web-new", 0, created=T0 + 1)
    assert sizes(rolling.reconcile_new_replica_set(d, [old, new], new)) == [("web-new", 2)]


def test_scale_down_ignores_available_pods_above_spec() -> None:
    d = deployment(6, surge=2, unavailable=1)
    old = replica_set("web-old", 5, 6, actual=6, created=T0)
    new = replica_set("web-new", 3, 3, created=T0 + 1)
    # upstream would count 9 available and go to 1, leaving 4 < 5 available
    assert sizes(rolling.reconcile_old_replica_sets(d, [old, new], [old], new)) == [("web-old", 2)]
