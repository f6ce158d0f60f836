"""TaintNodesByCondition: NoSchedule taints that mirror a node's conditions.

The scheduler reads taints, not conditions, so every condition that should keep new
pods away (not ready, unreachable, memory/disk/PID pressure, network unavailable,
cordoned) is turned into its ``node.kubernetes.io/...:NoSchedule`` taint as soon as a
node update shows it, and removed when it clears. Event-driven and not rate-limited:
keeping pods off a sick node is always safe, unlike evicting them.
"""

from __future__ import annotations

from kctl.client.informer import Informer
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers.nodelifecycle import writes
from reconciler.controllers.nodelifecycle.taints import condition_taint_diff


class ConditionTaints(QueueController):
    name = "nodelifecycle-noschedule"
    workers = 2

    def __init__(self, ctx: ControllerContext, nodes: Informer) -> None:
        super().__init__(ctx)
        self.nodes = nodes
        nodes.add_handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new))

    async def sync(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            return
        add, remove = condition_taint_diff(node)
        if add or remove:
            await writes.update_taints(self.ctx.client, node, add, remove, self.ctx.clock)
