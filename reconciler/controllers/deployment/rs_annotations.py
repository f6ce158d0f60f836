"""The annotations that carry a Deployment's history on its ReplicaSets.

* ``deployment.kubernetes.io/revision`` numbers the rollouts: the new ReplicaSet gets
  the highest old revision + 1 and the Deployment copies its new ReplicaSet's number.
  When an old ReplicaSet becomes the new one again (a rollback), its previous numbers
  are kept in ``deployment.kubernetes.io/revision-history`` (comma-separated, capped at
  2000 characters by dropping the oldest).
* ``desired-replicas``/``max-replicas`` record the Deployment's replicas and
  replicas+maxSurge when the ReplicaSet was last scaled for it: proportional scaling
  reads them to know the size the ReplicaSet was scaled for.
* The Deployment's own annotations are copied onto its new ReplicaSet, except the ones
  above and ``kubectl.kubernetes.io/last-applied-configuration``.

Functions here edit a ``dict`` of annotations in place and return whether it changed;
callers pass a copy (cached objects are never mutated).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping

from reconciler.controllers.deployment.replicasets import REVISION

log = logging.getLogger(__name__)

REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"
MAX_REV_HISTORY_CHARS = 2000

SKIP_COPY = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        DEPRECATED_ROLLBACK_TO,
    }
)

Annotations = MutableMapping[str, str]


def copy_deployment_annotations(deployment_annotations: Mapping[str, str], rs: Annotations) -> bool:
    """``copyDeploymentAnnotationsToReplicaSet``."""
    changed = False
    for key, value in deployment_annotations.items():
        if key in SKIP_COPY or rs.get(key) == value:
            continue
        rs[key] = value
        changed = True
    return changed


def set_replicas_annotations(rs: Annotations, desired: int, maximum: int) -> bool:
    """``SetReplicasAnnotations``."""
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if rs.get(key) != value:
            rs[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Mapping[str, str], desired: int, maximum: int) -> bool:
    """``ReplicasAnnotationsNeedUpdate``."""
    return rs.get(DESIRED_REPLICAS) != str(desired) or rs.get(MAX_REPLICAS) != str(maximum)


def int_annotation(annotations: Mapping[str, str], key: str) -> int | None:
    """An integer annotation, or None when absent or not an integer."""
    try:
        return int(annotations[key])
    except (KeyError, ValueError):
        return None


def _append_history(rs: Annotations, old_revision: str, limit: int) -> None:
    history = rs.get(REVISION_HISTORY, "")
    old_revisions = history.split(",")
    if not old_revisions[0]:
        rs[REVISION_HISTORY] = old_revision
        return
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > limit and start < len(old_revisions):
        total -= len(old_revisions[start]) + 1
        start += 1
    if total <= limit:
        rs[REVISION_HISTORY] = ",".join([*old_revisions[start:], old_revision])
    else:
        log.info("not appending revision: revision history length limit %d reached", limit)


def set_new_rs_annotations(
    deployment_annotations: Mapping[str, str],
    rs: Annotations,
    new_revision: int,
    exists: bool,
    desired: int,
    maximum: int,
    limit: int = MAX_REV_HISTORY_CHARS,
) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Deployment's annotations, raise the
    revision to ``new_revision`` (recording the old one in the history when there was
    one), and on a ReplicaSet about to be created set the replicas annotations."""
    changed = copy_deployment_annotations(deployment_annotations, rs)
    had_revision = REVISION in rs
    old_revision = rs.get(REVISION, "")
    try:
        old_int = int(old_revision) if old_revision else 0
    except ValueError:
        log.info(
            "not updating replica set revision: old revision %r is not an integer", old_revision
        )
        return False
    if old_int < new_revision:
        rs[REVISION] = str(new_revision)
        changed = True
        if had_revision:
            _append_history(rs, old_revision, limit)
    if not exists and set_replicas_annotations(rs, desired, maximum):
        changed = True
    return changed
