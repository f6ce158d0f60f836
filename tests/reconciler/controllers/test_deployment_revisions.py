"""Hashing, revision annotations, the new ReplicaSet, and history cleanup."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.controllers.deployment import hashing, history
from reconciler.controllers.deployment import rs_annotations as ann
from reconciler.controllers.deployment.replicasets import by_revision, max_revision
from reconciler.controllers.deployment.sync import find_new_replica_set, new_replica_set_body
from tests.reconciler.controllers.test_deployment_builders import (
    T0,
    deployment,
    replica_set,
    template,
)

# --- hashing --------------------------------------------------------------------------


def test_fnv32a_known_vectors() -> None:
    assert hashing.fnv32a(b"") == 0x811C9DC5
    assert hashing.fnv32a(b"a") == 0xE40C292C
    assert hashing.fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_string_uses_the_vowel_free_alphabet() -> None:
    assert hashing.safe_encode_string("0123") == "4567"  # ord("0") = 48 -> 48 % 27 = 21 -> "4"
    assert set(hashing.safe_encode_string("4294967295")) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_hash_is_stable_and_ignores_its_own_label() -> None:
    t = template("web:1")
    h = hashing.compute_hash(t, None)
    assert h == hashing.compute_hash(copy.deepcopy(t), None)
    labelled = template("web:1", **{"pod-template-hash": h})
    assert hashing.compute_hash(labelled, None) == h
    assert hashing.equal_ignore_hash(t, labelled)
    reordered = {"spec": t["spec"], "metadata": t["metadata"]}
    assert hashing.compute_hash(reordered, None) == h


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["spec"]["containers"][0].update(image="web:2"),
        lambda t: t["metadata"]["labels"].update(tier="front"),
        lambda t: t["metadata"].update(annotations={"kubectl.kubernetes.io/restartedAt": "now"}),
    ],
)
def test_hash_changes_with_the_template(change: Any) -> None:
    t = template()
    changed = copy.deepcopy(t)
    change(changed)
    assert hashing.compute_hash(changed, None) != hashing.compute_hash(t, None)
    assert not hashing.equal_ignore_hash(changed, t)


def test_collision_count_changes_the_hash() -> None:
    t = template()
    hashes = {hashing.compute_hash(t, c) for c in (None, 0, 1, 2)}
    assert len(hashes) == 4


def test_empty_and_absent_compare_equal() -> None:
    a = template()
    b = copy.deepcopy(a)
    b["metadata"]["annotations"] = {}
    b["spec"]["volumes"] = []
    assert hashing.equal_ignore_hash(a, b)
    assert hashing.compute_hash(a, None) == hashing.compute_hash(b, None)


# --- the new ReplicaSet ---------------------------------------------------------------


def test_new_replica_set_body() -> None:
    d = deployment(3)
    body = new_replica_set_body(d, None)
    h = hashing.compute_hash(d["spec"]["template"], None)
    assert body["metadata"]["name"] == f"web-{h}"
    assert body["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert body["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert body["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert body["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "uid-web",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]  # not mutated
    assert new_replica_set_body(d, 1)["metadata"]["name"] != body["metadata"]["name"]


def test_find_new_replica_set_picks_the_oldest_equal_template() -> None:
    d = deployment(3, image="web:2")
    old = replica_set("web-a", 3, image="web:1", created=T0)
    twin_new = replica_set("web-c", 0, image="web:2", created=T0 + 20)
    new = replica_set("web-b", 0, image="web:2", created=T0 + 10)
    assert find_new_replica_set(d, [twin_new, old, new]) is new
    assert find_new_replica_set(d, [old]) is None


# --- revision annotations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new_revision", "exists", "changed", "expected"),
    [
        # a ReplicaSet about to be created
        (
            {},
            1,
            False,
            True,
            {
                "deployment.kubernetes.io/revision": "1",
                "deployment.kubernetes.io/desired-replicas": "3",
                "deployment.kubernetes.io/max-replicas": "4",
            },
        ),
        # already current
        (
            {"deployment.kubernetes.io/revision": "2"},
            2,
            True,
            False,
            {"deployment.kubernetes.io/revision": "2"},
        ),
        # newer than the old ones (some were deleted): left alone
        (
            {"deployment.kubernetes.io/revision": "5"},
            3,
            True,
            False,
            {"deployment.kubernetes.io/revision": "5"},
        ),
        # a rollback: the old revision goes to the history
        (
            {"deployment.kubernetes.io/revision": "1"},
            3,
            True,
            True,
            {
                "deployment.kubernetes.io/revision": "3",
                "deployment.kubernetes.io/revision-history": "1",
            },
        ),
        (
            {
                "deployment.kubernetes.io/revision": "3",
                "deployment.kubernetes.io/revision-history": "1",
            },
            5,
            True,
            True,
            {
                "deployment.kubernetes.io/revision": "5",
                "deployment.kubernetes.io/revision-history": "1,3",
            },
        ),
        # garbage revision: nothing changes
        (
            {"deployment.kubernetes.io/revision": "x"},
            3,
            True,
            False,
            {"deployment.kubernetes.io/revision": "x"},
        ),
    ],
)
def test_set_new_rs_annotations(
    existing: dict[str, str],
    new_revision: int,
    exists: bool,
    changed: bool,
    expected: dict[str, str],
) -> None:
    annotations = dict(existing)
    assert ann.set_new_rs_annotations({}, annotations, new_revision, exists, 3, 4) is changed
    assert annotations == expected


def test_deployment_annotations_copied_except_reserved_ones() -> None:
    d_annotations = {
        "kubernetes.io/change-cause": "v2",
        "deployment.kubernetes.io/revision": "9",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    annotations: dict[str, str] = {}
    ann.set_new_rs_annotations(d_annotations, annotations, 2, True, 3, 4)
    assert annotations == {
        "kubernetes.io/change-cause": "v2",
        "deployment.kubernetes.io/revision": "2",
    }


def test_revision_history_is_capped() -> None:
    annotations = {
        "deployment.kubernetes.io/revision": "7",
        "deployment.kubernetes.io/revision-history": "1,2,3,4",
    }
    ann.set_new_rs_annotations({}, annotations, 8, True, 1, 1, limit=7)
    assert (
        annotations["deployment.kubernetes.io/revision-history"] == "2,3,4,7"
    )  # the oldest dropped to fit 7 characters


def test_replicas_annotations() -> None:
    annotations: dict[str, str] = {}
    assert ann.replicas_annotations_need_update(annotations, 3, 4)
    assert ann.set_replicas_annotations(annotations, 3, 4)
    assert not ann.replicas_annotations_need_update(annotations, 3, 4)
    assert not ann.set_replicas_annotations(annotations, 3, 4)


def test_max_revision_and_order() -> None:
    rss = [
        replica_set("a", 0, revision=3),
        replica_set("b", 0, revision=10),
        replica_set("c", 0),
        replica_set("d", 0, annotations={"deployment.kubernetes.io/revision": "bad"}),
    ]
    assert max_revision(rss) == 10
    assert [r["metadata"]["name"] for r in by_revision(rss)] == ["d", "c", "a", "b"]


# --- history cleanup ------------------------------------------------------------------


def test_history_deletes_lowest_revisions_at_rest() -> None:
    d = deployment(3, history_limit=2)
    rss = [replica_set(f"web-{i}", 0, revision=i, created=T0 + i) for i in range(1, 6)]
    rss[1] = replica_set("web-2", 1, revision=2, created=T0 + 2)  # still has replicas
    deleted = [rs["metadata"]["name"] for rs in history.replica_sets_to_delete(d, rss)]
    assert deleted == ["web-1", "web-3"]


@pytest.mark.parametrize(
    ("limit", "rs", "expected"),
    [
        (0, replica_set("web-1", 0, revision=1), ["web-1"]),
        (1, replica_set("web-1", 0, revision=1), []),
        (0, replica_set("web-1", 0, revision=1, actual=1), []),  # pods still going
        (0, replica_set("web-1", 0, revision=1, generation=2, observed=1), []),  # not observed
        (2147483647, replica_set("web-1", 0, revision=1), []),
    ],
)
def test_history_limits(limit: int, rs: dict[str, Any], expected: list[str]) -> None:
    d = deployment(3, history_limit=limit)
    assert [r["metadata"]["name"] for r in history.replica_sets_to_delete(d, [rs])] == expected
