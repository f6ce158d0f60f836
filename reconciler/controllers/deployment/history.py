"""revisionHistoryLimit: which old ReplicaSets ``cleanupDeployment`` deletes.

Old ReplicaSets are the Deployment's rollback history. Beyond ``revisionHistoryLimit``
(default 10) the lowest revisions go -- but only ReplicaSets already at rest: 0
desired and 0 actual replicas, their latest generation observed by the ReplicaSet
controller, and not already being deleted. A limit of MaxInt32 (or none) keeps all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment.conditions import MAX_INT32

Obj = Mapping[str, Any]
DEFAULT_REVISION_HISTORY_LIMIT = 10


def revision_history_limit(d: Obj) -> int | None:
    value = (d.get("spec") or {}).get("revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    if value is None or int(value) == MAX_INT32:
        return None
    return int(value)


def _deleting(rs: Obj) -> bool:
    return bool((rs.get("metadata") or {}).get("deletionTimestamp"))


def _at_rest(rs: Obj) -> bool:
    generation = int((rs.get("metadata") or {}).get("generation") or 0)
    return (
        rsutil.status_count(rs, "replicas") == 0
        and rsutil.spec_replicas(rs) == 0
        and generation <= rsutil.status_count(rs, "observedGeneration")
        and not _deleting(rs)
    )


def replica_sets_to_delete(d: Obj, old_rss: Sequence[Obj | None]) -> list[Obj]:
    """The old ReplicaSets to delete now, lowest revision first."""
    limit = revision_history_limit(d)
    if limit is None:
        return []
    cleanable = [rs for rs in old_rss if rs is not None and not _deleting(rs)]
    excess = len(cleanable) - limit
    if excess <= 0:
        return []
    return [rs for rs in rsutil.by_revision(cleanable)[:excess] if _at_rest(rs)]
