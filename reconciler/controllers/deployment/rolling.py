"""The RollingUpdate strategy: surge the new ReplicaSet, then drain the old ones.

One sync does one of three things, like ``rolloutRolling``:

1. **Scale up** the new ReplicaSet as far as maxSurge allows (``NewRSNewReplicas``):
   the sum of every ReplicaSet's ``spec.replicas`` never exceeds replicas + maxSurge.
2. Else **scale down** old ReplicaSets (``reconcileOldReplicaSets``): at most
   ``maxScaledDown`` = all replicas - (replicas - maxUnavailable) - the new
   ReplicaSet's unavailable ones. Unhealthy old replicas go first
   (``cleanupUnhealthyReplicas``: they cost no availability); then available ones,
   oldest ReplicaSet first, only while the available total stays above
   replicas - maxUnavailable (``scaleDownOldReplicaSetsForRollingUpdate``).
3. Else, when the rollout is complete, **clean up** old ReplicaSets beyond
   revisionHistoryLimit.

Each step is followed by a status sync. Availability is read from the ReplicaSets'
``status.availableReplicas`` only (the ReplicaSet controller owns the pods and applies
minReadySeconds), so the controller never needs to look at a pod here.

One deliberate difference from upstream: the status of a ReplicaSet lags its spec, so
the surge check counts a ReplicaSet's pods as max(spec, status.replicas) and the
scale-down counts its available pods as min(spec, status.availableReplicas)
(:func:`.replicasets.pods_bound`, :func:`.replicasets.available_bound`). Upstream sums
spec and status as they are, which after a scale-down whose pods are not yet gone can
take availability below replicas - maxUnavailable or pods above replicas + maxSurge for
a moment; here the bounds hold at every step, at the cost of waiting for the
ReplicaSet controller to report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment.conditions import deployment_complete
from reconciler.controllers.deployment.fenceposts import (
    RECREATE,
    is_rolling_update,
    max_surge,
    max_unavailable,
    strategy_type,
)
from reconciler.controllers.deployment.steps import Scale, with_replicas

if TYPE_CHECKING:
    from reconciler.controllers.deployment.sync import SyncRun

Obj = Mapping[str, Any]


def new_rs_new_replicas(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """``NewRSNewReplicas``: the size the new ReplicaSet may grow to now."""
    replicas = rsutil.spec_replicas(d)
    if is_rolling_update(d):
        max_total = replicas + max_surge(d)
        current = rsutil.pods_bound(all_rss)
        if current >= max_total:
            return rsutil.spec_replicas(new_rs)
        scale_up = min(max_total - current, replicas - rsutil.spec_replicas(new_rs))
        return rsutil.spec_replicas(new_rs) + scale_up
    if strategy_type(d) == RECREATE:
        return replicas
    raise ValueError(f"deployment type {strategy_type(d)} isn't supported")


def reconcile_new_replica_set(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> list[Scale]:
    """``reconcileNewReplicaSet``: scale the new ReplicaSet toward replicas."""
    replicas, current = rsutil.spec_replicas(d), rsutil.spec_replicas(new_rs)
    if current == replicas:
        return []
    if current > replicas:
        return [Scale(new_rs, replicas)]
    target = new_rs_new_replicas(d, all_rss, new_rs)
    return [] if target == current else [Scale(new_rs, target)]


def max_scaled_down(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """How many old replicas may go now without breaching replicas - maxUnavailable,
    counting the new ReplicaSet's not-yet-available replicas as unavailable."""
    min_available = rsutil.spec_replicas(d) - max_unavailable(d)
    new_unavailable = rsutil.spec_replicas(new_rs) - rsutil.status_count(
        new_rs, "availableReplicas"
    )
    return rsutil.replica_count(all_rss) - min_available - new_unavailable


def cleanup_unhealthy_replicas(
    old_rss: Sequence[Obj], max_cleanup: int
) -> tuple[list[Scale], list[Obj], int]:
    """``cleanupUnhealthyReplicas``: scale old ReplicaSets (oldest first) down by their
    unavailable replicas, ``max_cleanup`` in all. Returns the steps, the old
    ReplicaSets as they will be after them, and how many replicas go."""
    steps: list[Scale] = []
    after: list[Obj] = []
    total = 0
    for rs in rsutil.by_creation(old_rss):
        replicas = rsutil.spec_replicas(rs)
        unhealthy = replicas - rsutil.status_count(rs, "availableReplicas")
        if total >= max_cleanup or replicas == 0 or unhealthy <= 0:
            after.append(rs)
            continue
        count = min(max_cleanup - total, unhealthy)
        steps.append(Scale(rs, replicas - count))
        after.append(with_replicas(rs, replicas - count))
        total += count
    return steps, after, total


def scale_down_old_replica_sets(
    d: Obj, all_rss: Sequence[Obj | None], old_rss: Sequence[Obj]
) -> list[Scale]:
    """``scaleDownOldReplicaSetsForRollingUpdate``: take available old replicas away,
    oldest ReplicaSet first, while more than replicas - maxUnavailable are available."""
    min_available = rsutil.spec_replicas(d) - max_unavailable(d)
    available = rsutil.available_bound(all_rss)
    if available <= min_available:
        return []
    budget = available - min_available
    steps: list[Scale] = []
    total = 0
    for rs in rsutil.by_creation(old_rss):
        if total >= budget:
            break
        replicas = rsutil.spec_replicas(rs)
        if replicas == 0:
            continue
        count = min(replicas, budget - total)
        steps.append(Scale(rs, replicas - count))
        total += count
    return steps


def reconcile_old_replica_sets(
    d: Obj, all_rss: Sequence[Obj | None], old_active: Sequence[Obj], new_rs: Obj
) -> list[Scale]:
    """``reconcileOldReplicaSets``: the unhealthy cleanup, then the scale-down."""
    if rsutil.replica_count(old_active) == 0:
        return []
    budget = max_scaled_down(d, all_rss, new_rs)
    if budget <= 0:
        return []
    cleanup, old_after, _ = cleanup_unhealthy_replicas(old_active, budget)
    return cleanup + scale_down_old_replica_sets(d, [*old_after, new_rs], old_after)


async def rollout_rolling(run: SyncRun) -> None:
    """``rolloutRolling``."""
    new_rs, old_rss = await run.get_all_replica_sets_and_sync_revision(create=True)
    assert new_rs is not None  # created when missing
    all_rss: list[Obj | None] = [*old_rss, new_rs]
    if await run.apply(reconcile_new_replica_set(run.d, all_rss, new_rs)):
        await run.sync_rollout_status(all_rss, new_rs)
        return
    old_active = rsutil.filter_active(old_rss)
    if await run.apply(reconcile_old_replica_sets(run.d, all_rss, old_active, new_rs)):
        await run.sync_rollout_status(all_rss, new_rs)
        return
    if deployment_complete(run.d, run.d.get("status") or {}):
        await run.cleanup_deployment(old_rss)
    await run.sync_rollout_status(all_rss, new_rs)
