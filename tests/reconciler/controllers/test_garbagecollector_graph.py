"""The garbage collector's graph and decisions, without an API server."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.controllers.garbagecollector.graph import FOREGROUND, ORPHAN, Graph, OwnerRef
from reconciler.controllers.garbagecollector.propagation import (
    Classified,
    Delete,
    Keep,
    OwnerState,
    RemoveReferences,
    decide_dependent,
    owner_state,
    unblocked_references,
    without_references,
)


def ref(uid: str, block: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "name": f"cm-{uid}", "uid": uid}
    if block:
        out["blockOwnerDeletion"] = True
    return out


def obj(
    uid: str,
    *owners: dict[str, Any],
    deleting: bool = False,
    finalizers: tuple[str, ...] = (),
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": f"cm-{uid}", "namespace": "ns", "uid": uid}
    if owners:
        md["ownerReferences"] = list(owners)
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if finalizers:
        md["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md}


# --- graph ------------------------------------------------------------------------------------


def test_dependent_before_owner_makes_a_virtual_owner_then_a_real_one() -> None:
    g = Graph()
    assert g.observe(obj("b", ref("a"))) == {"a", "b"}  # the virtual owner and the dependent
    node = g.get("a")
    assert node is not None and node.virtual and node.dependents == {"b"}
    assert node.identity.namespace == "ns" and node.identity.name == "cm-a"
    assert g.observe(obj("a")) == set()
    node = g.get("a")
    assert node is not None and not node.virtual and node.dependents == {"b"}


def test_dependent_of_a_known_owner_needs_no_work() -> None:
    g = Graph()
    g.observe(obj("a"))
    assert g.observe(obj("b", ref("a"))) == set()
    assert [d.uid for d in g.dependents("a")] == ["b"]


def test_deleting_an_owner_queues_its_dependents_only() -> None:
    g = Graph()
    g.observe(obj("a"))
    g.observe(obj("b", ref("a")))
    g.observe(obj("c", ref("a")))
    g.observe(obj("d"))
    assert g.forget(obj("a")) == {"b", "c"}
    assert g.get("a") is None
    assert g.forget(obj("a")) == set()  # a second delete is harmless


def test_deleting_a_blocking_dependent_queues_the_foreground_owner() -> None:
    g = Graph()
    g.observe(obj("a", deleting=True, finalizers=(FOREGROUND,)))
    g.observe(obj("b", ref("a", block=True)))
    assert [d.uid for d in g.blocking_dependents("a")] == ["b"]
    assert g.forget(obj("b")) == {"a"}
    assert g.blocking_dependents("a") == []


@pytest.mark.parametrize(
    "update, expected",
    [
        # start of foreground deletion: the owner and all its dependents
        (obj("a", deleting=True, finalizers=(FOREGROUND,)), {"a", "b", "c"}),
        # start of orphan deletion: the owner
        (obj("a", deleting=True, finalizers=(ORPHAN,)), {"a"}),
        # being deleted in the background (no finalizer of ours): nothing yet
        (obj("a", deleting=True), set()),
        # an unrelated change: nothing
        ({**obj("a"), "data": {"k": "v"}}, set()),
    ],
)
def test_owner_transitions(update: dict[str, Any], expected: set[str]) -> None:
    g = Graph()
    g.observe(obj("a"))
    g.observe(obj("b", ref("a", block=True)))
    g.observe(obj("c", ref("a")))
    assert g.observe(update) == expected


def test_dropping_a_reference_unlinks_and_wakes_a_foreground_owner() -> None:
    g = Graph()
    g.observe(obj("a", deleting=True, finalizers=(FOREGROUND,)))
    g.observe(obj("b", ref("a", block=True)))
    assert g.observe(obj("b")) == {"a"}
    assert g.dependents("a") == []


def test_unblocking_a_reference_wakes_a_foreground_owner() -> None:
    g = Graph()
    g.observe(obj("a", deleting=True, finalizers=(FOREGROUND,)))
    g.observe(obj("b", ref("a", block=True)))
    assert g.observe(obj("b", ref("a"))) >= {"a"}
    assert g.blocking_dependents("a") == []


def test_virtual_owner_confirmed_absent_queues_dependents() -> None:
    g = Graph()
    g.observe(obj("b", ref("gone")))
    g.observe(obj("c", ref("gone"), ref("other")))
    assert g.forget_virtual("gone") == {"b", "c"}
    assert g.get("gone") is None
    # a real node is not removed as a virtual one
    g.observe(obj("real"))
    assert g.forget_virtual("real") == set() and g.get("real") is not None


@pytest.mark.parametrize("size", [2, 3, 10])
def test_cycles_are_plain_bookkeeping(size: int) -> None:
    """Each object owns the next, the last owns the first: building, deleting and
    foreground-marking the ring all terminate and touch only neighbours."""
    g = Graph()
    uids = [f"n{i}" for i in range(size)]
    for i, uid in enumerate(uids):
        g.observe(obj(uid, ref(uids[i - 1], block=True)))
    assert all(not g.get(u).virtual for u in uids)  # type: ignore[union-attr]
    marked = obj(uids[0], ref(uids[-1], block=True), deleting=True, finalizers=(FOREGROUND,))
    assert g.observe(marked) == {uids[0], uids[1]}
    assert g.forget(obj(uids[0])) == {uids[1]}  # its dependent; its owner is not waiting
    assert len(g) == size - 1


def test_self_owned_object() -> None:
    g = Graph()
    g.observe(obj("a", ref("a")))
    assert g.forget(obj("a")) == set()
    assert len(g) == 0


# --- decisions ------------------------------------------------------------------------------


A, B = OwnerRef("v1", "ConfigMap", "a", "a"), OwnerRef("v1", "ConfigMap", "b", "b")
A_BLOCK = OwnerRef("v1", "ConfigMap", "a", "a", block_owner_deletion=True)
S, D, W = OwnerState.SOLID, OwnerState.DANGLING, OwnerState.WAITING


@pytest.mark.parametrize(
    "owners, finalizers, has_deps, dep_deleting, expected",
    [
        # every owner present: keep
        ([(A, S)], (), False, False, Keep()),
        ([(A, S), (B, S)], (), True, False, Keep()),
        # the only owner gone: delete in the background
        ([(A, D)], (), False, False, Delete("Background")),
        # one of two owners gone: keep, drop the dangling reference
        ([(A, D), (B, S)], (), False, False, RemoveReferences(("a",))),
        # all owners gone: delete
        ([(A, D), (B, D)], (), True, False, Delete("Background")),
        # an owner waiting in foreground deletion, another solid: drop the waiting one
        ([(A, W), (B, S)], (), False, False, RemoveReferences(("a",))),
        # waiting owner, leaf dependent: deleted (background, nothing below it)
        ([(A_BLOCK, W)], (), False, False, Delete("Background")),
        # waiting owner, dependent with dependents of its own: foreground
        ([(A_BLOCK, W)], (), True, False, Delete("Foreground")),
        # ... and one of those is in foreground deletion too (a cycle?): unblock first
        ([(A_BLOCK, W), (B, D)], (), True, True, Delete("Foreground", ("a",))),
        # the dependent's own finalizers choose the policy
        ([(A, D)], (ORPHAN,), False, False, Delete("Orphan")),
        ([(A, D)], (FOREGROUND,), True, False, Delete("Foreground")),
        # no owner references at all
        ([], (), True, False, Keep()),
    ],
)
def test_decide_dependent(
    owners: list[tuple[OwnerRef, OwnerState]],
    finalizers: tuple[str, ...],
    has_deps: bool,
    dep_deleting: bool,
    expected: object,
) -> None:
    assert decide_dependent(Classified.of(owners), finalizers, has_deps, dep_deleting) == expected


@pytest.mark.parametrize(
    "live, expected",
    [
        (None, D),
        ({"metadata": {"uid": "other"}}, D),  # a namesake: the owner is gone
        ({"metadata": {"uid": "a"}}, S),
        ({"metadata": {"uid": "a", "deletionTimestamp": "t"}}, S),  # background/orphan
        ({"metadata": {"uid": "a", "deletionTimestamp": "t", "finalizers": [FOREGROUND]}}, W),
    ],
)
def test_owner_state(live: dict[str, Any] | None, expected: OwnerState) -> None:
    assert owner_state(live, A) is expected


def test_reference_edits() -> None:
    refs = [ref("a", block=True), ref("b", block=True), ref("c")]
    assert [r["uid"] for r in without_references(refs, ["a", "c"])] == ["b"]
    unblocked = unblocked_references(refs, ["a"])
    assert [r.get("blockOwnerDeletion") for r in unblocked] == [False, True, None]
    assert refs[0]["blockOwnerDeletion"] is True  # inputs are not changed
