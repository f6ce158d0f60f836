"""The Recreate strategy: every old pod gone before the first new one is created.

``rolloutRecreate``: scale every active old ReplicaSet to 0; while any old ReplicaSet
still reports replicas, or any pod of an old ReplicaSet is not yet terminal
(Succeeded/Failed; pods in ``Unknown`` count as running), do nothing but sync the
status; only then create the new ReplicaSet (never earlier, so nothing scales up
before the old pods are gone) and scale it to replicas. The pods are read from the
shared pod informer, grouped by the ReplicaSet that controls them; pod deletions
requeue the Deployment so the wait ends as soon as the last old pod is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment.conditions import deployment_complete
from reconciler.controllers.deployment.steps import Scale

if TYPE_CHECKING:
    from reconciler.controllers.deployment.sync import SyncRun

Obj = Mapping[str, Any]
PodMap = Mapping[str, Sequence[Obj]]  # ReplicaSet uid -> pods it controls

_TERMINAL = frozenset({"Succeeded", "Failed"})


def old_pods_running(new_rs: Obj | None, old_rss: Sequence[Obj], pod_map: PodMap) -> bool:
    """``oldPodsRunning``."""
    if rsutil.actual_replica_count(old_rss) > 0:
        return True
    new_uid = rsutil.uid_of(new_rs) if new_rs is not None else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in _TERMINAL:
                return True
    return False


def scale_down_old(old_active: Sequence[Obj]) -> list[Scale]:
    """``scaleDownOldReplicaSetsForRecreate``: every old ReplicaSet to 0."""
    return [Scale(rs, 0) for rs in old_active if rsutil.spec_replicas(rs) != 0]


async def rollout_recreate(run: SyncRun, pod_map: PodMap) -> None:
    """``rolloutRecreate``."""
    new_rs, old_rss = await run.get_all_replica_sets_and_sync_revision(create=False)
    all_rss: list[Obj | None] = [*old_rss, new_rs]
    if await run.apply(scale_down_old(rsutil.filter_active(old_rss))):
        await run.sync_rollout_status(all_rss, new_rs)
        return
    if old_pods_running(new_rs, old_rss, pod_map):
        await run.sync_rollout_status(all_rss, new_rs)
        return
    if new_rs is None:
        new_rs, old_rss = await run.get_all_replica_sets_and_sync_revision(create=True)
        all_rss = [*old_rss, new_rs]
    assert new_rs is not None
    await run.apply([Scale(new_rs, rsutil.spec_replicas(run.d))])
    if deployment_complete(run.d, run.d.get("status") or {}):
        await run.cleanup_deployment(old_rss)
    await run.sync_rollout_status(all_rss, new_rs)
