"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node.

The scheduler never schedules a pod that already has a node name (it is bound), so in
practice this filter passes; it is kept so the filter chain is kube-scheduler's."""

from __future__ import annotations

import numpy as np

from reconciler.scheduler.framework import REASONS, Codes, CycleState

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"
_CODE = REASONS.code(ERR_REASON)


def filter(state: CycleState) -> Codes | None:
    wanted = state.pod.node_name
    if not wanted:
        return None
    codes = np.full(state.size, _CODE, np.int32)
    slot = state.nodes.slot_of.get(wanted)
    if slot is not None:
        codes[slot] = 0
    return codes
