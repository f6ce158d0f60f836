"""The node lifecycle controller: notice lost nodes, taint them, move their pods away.

Three cooperating parts, as in kube-controller-manager (node-lifecycle-controller with
taint-based eviction, and taint-eviction-controller):

* :mod:`.monitor` -- polls node health (Lease renewals, Ready heartbeats), sets the
  conditions of silent nodes to Unknown and adds the NoExecute taints, rate-limited per
  zone (:mod:`.zones`);
* :mod:`.noschedule` -- mirrors conditions into NoSchedule taints for the scheduler;
* :mod:`.eviction` -- deletes the pods that do not tolerate a node's NoExecute taints
  (at once, or when their ``tolerationSeconds`` run out) and force-deletes pods whose
  node no longer exists.

Settings: :mod:`.settings` (``--controller-option nodelifecycle.<flag>=<value>``).
"""

from __future__ import annotations

import asyncio

from kctl.client.informer import BY_NODE_NAME, index_by_node_name
from kctl.client.resources import LEASES, NODES, PODS
from reconciler.controller import Controller, ControllerContext
from reconciler.controllers.nodelifecycle.eviction import TaintEviction
from reconciler.controllers.nodelifecycle.monitor import LEASE_NAMESPACE, NodeMonitor
from reconciler.controllers.nodelifecycle.noschedule import ConditionTaints
from reconciler.controllers.nodelifecycle.settings import LifecycleSettings


class NodeLifecycle:
    """The three parts run as one controller (one name, one task)."""

    name = "nodelifecycle"

    def __init__(self, parts: list[Controller]) -> None:
        self.parts = parts

    async def run(self) -> None:
        await asyncio.gather(*(part.run() for part in self.parts))


def new(ctx: ControllerContext) -> NodeLifecycle:
    settings = LifecycleSettings.from_context(ctx)
    nodes = ctx.informers.informer(NODES)
    leases = ctx.informers.informer(LEASES, namespace=LEASE_NAMESPACE)
    pods = ctx.informers.informer(PODS, indexers={BY_NODE_NAME: index_by_node_name})
    return NodeLifecycle(
        [
            NodeMonitor(ctx, settings, nodes, leases, pods),
            ConditionTaints(ctx, nodes),
            TaintEviction(ctx, nodes, pods),
        ]
    )
