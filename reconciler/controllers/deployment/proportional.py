"""Scaling a Deployment whose ReplicaSets are not all at rest: ``DeploymentController.scale``.

When ``spec.replicas`` changes (or the Deployment is paused), the new size is spread
over the ReplicaSets instead of starting a rollout:

* one active ReplicaSet (or none: the newest) simply takes the new size;
* a saturated new ReplicaSet (all replicas desired and available) means the old ones
  go to 0;
* otherwise, mid-rollout with RollingUpdate, the difference between replicas+maxSurge
  and the current total is shared in proportion to each ReplicaSet's size relative to
  the ``max-replicas`` it was last scaled for (``GetProportion``), largest first
  (newer first when scaling up, older first when scaling down), and whatever rounding
  leaves over goes to the largest. Every active ReplicaSet is then rewritten with the
  new desired/max replicas annotations even if its size stays.

A *scaling event* is a Deployment whose replicas differ from the ``desired-replicas``
annotation of any active ReplicaSet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment.fenceposts import is_rolling_update, max_surge
from reconciler.controllers.deployment.rs_annotations import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    int_annotation,
)
from reconciler.controllers.deployment.steps import Scale

Obj = Mapping[str, Any]


def _annotations(rs: Obj) -> Mapping[str, str]:
    return (rs.get("metadata") or {}).get("annotations") or {}


def is_scaling_event(d: Obj, all_rss: Sequence[Obj | None]) -> bool:
    """``isScalingEvent``."""
    replicas = rsutil.spec_replicas(d)
    for rs in rsutil.filter_active(all_rss):
        desired = int_annotation(_annotations(rs), DESIRED_REPLICAS)
        if desired is not None and desired != replicas:
            return True
    return False


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """``IsSaturated``: the ReplicaSet holds all replicas, desired and available."""
    if rs is None:
        return False
    desired = int_annotation(_annotations(rs), DESIRED_REPLICAS)
    if desired is None:
        return False
    replicas = rsutil.spec_replicas(d)
    return (
        rsutil.spec_replicas(rs) == replicas
        and desired == replicas
        and rsutil.status_count(rs, "availableReplicas") == replicas
    )


def find_active_or_latest(new_rs: Obj | None, old_rss: Sequence[Obj]) -> Obj | None:
    """``FindActiveOrLatest``: the only active ReplicaSet, or the newest when none is
    active, or None when several are."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(rsutil.by_creation(old_rss)))
    active = rsutil.filter_active([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _round(value: float) -> int:
    """``integer.RoundToInt32``: half away from zero for positives, as Go floors x+0.5."""
    return int(math.floor(value + 0.5))


def replica_set_fraction(rs: Obj, d: Obj) -> int:
    """``getReplicaSetFraction``: how many replicas ``rs`` gains (or loses) to keep
    its share of replicas+maxSurge."""
    replicas = rsutil.spec_replicas(d)
    if replicas == 0:
        return -rsutil.spec_replicas(rs)
    deployment_max = replicas + max_surge(d)
    before = int_annotation(_annotations(rs), MAX_REPLICAS)
    if not before:
        before = rsutil.status_count(d, "replicas")
    if not before:
        return 0
    size = rsutil.spec_replicas(rs)
    return _round(size * deployment_max / before) - size


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """``GetProportion``: ``rs``'s share of ``to_add``, within what is left of it."""
    if rsutil.spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_steps(d: Obj, new_rs: Obj | None, old_rss: Sequence[Obj]) -> list[Scale]:
    """The steps of ``scale``: see the module docstring."""
    replicas = rsutil.spec_replicas(d)
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        return [] if rsutil.spec_replicas(target) == replicas else [Scale(target, replicas)]
    if is_saturated(d, new_rs):
        return [Scale(rs, 0) for rs in rsutil.filter_active(old_rss)]
    if not is_rolling_update(d):
        return []
    active = rsutil.filter_active([*old_rss, new_rs])
    allowed = replicas + max_surge(d) if replicas > 0 else 0
    to_add = allowed - rsutil.replica_count(active)
    if to_add > 0:
        active = rsutil.by_size_newer(active)
    elif to_add < 0:
        active = rsutil.by_size_older(active)
    sizes: list[int] = []
    added = 0
    for rs in active:
        share = proportion(rs, d, to_add, added) if to_add else 0
        sizes.append(rsutil.spec_replicas(rs) + share)
        added += share
    if active and to_add:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return [Scale(rs, size, refresh=True) for rs, size in zip(active, sizes, strict=True)]
