"""A planned ReplicaSet resize: what the pure planners return and ``SyncRun`` applies.

The rollout arithmetic (rolling, recreate, proportional scaling) is written as pure
functions from ReplicaSets to a list of :class:`Scale` steps, so it can be tested
table-driven without a server. Steps are applied in order and the first failure stops
the sync, which is what the Go code does by returning at the first write error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Scale:
    """Resize ``rs`` to ``to`` replicas. ``refresh`` also rewrites the replicas
    annotations when the size is already right (``scaleReplicaSet``); without it an
    equal size is a no-op (``scaleReplicaSetAndRecordEvent``)."""

    rs: Obj
    to: int
    refresh: bool = False


def with_replicas(rs: Obj, replicas: int) -> dict[str, Any]:
    """A shallow copy of ``rs`` with another ``spec.replicas`` (the cached object is
    left alone): how a plan sees a ReplicaSet after an earlier step resized it."""
    return {**rs, "spec": {**(rs.get("spec") or {}), "replicas": replicas}}
