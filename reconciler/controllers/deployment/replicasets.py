"""Reading ReplicaSets and Deployments the way the deployment controller does.

The controller reasons from ReplicaSet ``spec.replicas`` and ``status`` only (the
ReplicaSet controller owns the pods), so most of its arithmetic is sums over a list of
ReplicaSets (``GetReplicaCountForReplicaSets`` and friends) and a few orderings
(``ReplicaSetsByCreationTimestamp``, ``ReplicaSetsBySizeNewer``/``Older``,
``ReplicaSetsByRevision``). They live here, once, over plain API dicts; a ``None`` in a
list (no new ReplicaSet yet) is skipped everywhere, as Go skips nil pointers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = Mapping[str, Any]

REVISION = "deployment.kubernetes.io/revision"


def _md(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: Obj) -> str:
    return str(_md(obj).get("name") or "")


def uid_of(obj: Obj) -> str:
    return str(_md(obj).get("uid") or "")


def spec_replicas(obj: Obj) -> int:
    """``*spec.replicas`` (the API server defaults it to 1)."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_count(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def _present(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None]


def replica_count(rss: Iterable[Obj | None]) -> int:
    """``GetReplicaCountForReplicaSets``: the sum of ``spec.replicas``."""
    return sum(spec_replicas(rs) for rs in _present(rss))


def actual_replica_count(rss: Iterable[Obj | None]) -> int:
    """``GetActualReplicaCountForReplicaSets``: the sum of ``status.replicas``."""
    return sum(status_count(rs, "replicas") for rs in _present(rss))


def ready_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(status_count(rs, "readyReplicas") for rs in _present(rss))


def available_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(status_count(rs, "availableReplicas") for rs in _present(rss))


def pods_bound(rss: Iterable[Obj | None]) -> int:
    """The most pods the ReplicaSets may have without deletionTimestamp: per ReplicaSet
    the larger of ``spec.replicas`` and ``status.replicas`` (a ReplicaSet just scaled
    down still has its extra pods until its controller deletes them)."""
    return sum(max(spec_replicas(rs), status_count(rs, "replicas")) for rs in _present(rss))


def available_bound(rss: Iterable[Obj | None]) -> int:
    """The fewest available pods the ReplicaSets will keep: per ReplicaSet the smaller
    of ``status.availableReplicas`` and ``spec.replicas`` (available pods above spec are
    about to be deleted)."""
    return sum(
        min(spec_replicas(rs), status_count(rs, "availableReplicas")) for rs in _present(rss)
    )


def filter_active(rss: Iterable[Obj | None]) -> list[Obj]:
    """``FilterActiveReplicaSets``: those with ``spec.replicas > 0``."""
    return [rs for rs in _present(rss) if spec_replicas(rs) > 0]


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """``ReplicaSetsByCreationTimestamp``: oldest first, ties by name."""
    return sorted(rss, key=lambda rs: (str(_md(rs).get("creationTimestamp") or ""), name_of(rs)))


def by_size_newer(rss: Iterable[Obj]) -> list[Obj]:
    """``ReplicaSetsBySizeNewer``: largest first; among equals, newest first."""
    ordered = list(reversed(by_creation(rss)))
    return sorted(ordered, key=spec_replicas, reverse=True)  # stable: keeps newest first


def by_size_older(rss: Iterable[Obj]) -> list[Obj]:
    """``ReplicaSetsBySizeOlder``: largest first; among equals, oldest first."""
    return sorted(by_creation(rss), key=spec_replicas, reverse=True)


def revision_of(obj: Obj) -> int:
    """``deploymentutil.Revision``: the revision annotation (0 when absent); ValueError
    when it is not an integer."""
    value = (_md(obj).get("annotations") or {}).get(REVISION)
    return 0 if value is None else int(value)


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    """``ReplicaSetsByRevision``: lowest revision first; unparsable revisions and ties
    fall back to creation order."""

    def key(rs: Obj) -> tuple[int, str, str]:
        try:
            revision = revision_of(rs)
        except ValueError:
            revision = -1
        return (revision, str(_md(rs).get("creationTimestamp") or ""), name_of(rs))

    return sorted(rss, key=key)


def max_revision(rss: Iterable[Obj]) -> int:
    """``MaxRevision``: the highest parsable revision among ``rss`` (0 if none)."""
    best = 0
    for rs in rss:
        try:
            best = max(best, revision_of(rs))
        except ValueError:
            continue
    return best
