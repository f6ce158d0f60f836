"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) takes no new pods unless
the pod tolerates the ``node.kubernetes.io/unschedulable:NoSchedule`` taint."""

from __future__ import annotations

import numpy as np

from reconciler.scheduler.framework import REASONS, Codes, CycleState
from reconciler.scheduler.podinfo import tolerated

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
TAINT_KEY = "node.kubernetes.io/unschedulable"
_CODE = REASONS.code(ERR_REASON_UNSCHEDULABLE)


def filter(state: CycleState) -> Codes | None:
    if tolerated(state.pod.tolerations, TAINT_KEY, "", "NoSchedule"):
        return None
    cordoned = state.nodes.unschedulable[: state.size]
    if not cordoned.any():
        return None
    return np.where(cordoned, _CODE, 0).astype(np.int32)
