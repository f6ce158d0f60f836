"""The scheduler as a reconciler component: ``new(ctx)`` wires it to the process's
shared pod and node informers and to an event recorder named ``default-scheduler``.

It is not a :class:`QueueController`: its queue orders pods by priority and parks the
ones that fit nowhere until the cluster changes, which a key work queue cannot express.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kctl.client.informer import Informer
from kctl.client.resources import NODES, PODS
from reconciler.scheduler.config import SchedulerConfig
from reconciler.scheduler.scheduler import Scheduler

if TYPE_CHECKING:
    from reconciler.controller import ControllerContext

log = logging.getLogger(__name__)

NAME = "scheduler"


class SchedulerController:
    name = NAME

    def __init__(self, scheduler: Scheduler, pods: Informer, nodes: Informer) -> None:
        self.scheduler = scheduler
        self.pods = pods
        self.nodes = nodes
        nodes.add_handler(scheduler.on_node_add, scheduler.on_node_update, scheduler.on_node_delete)
        pods.add_handler(scheduler.on_pod_add, scheduler.on_pod_update, scheduler.on_pod_delete)

    async def run(self) -> None:
        # Nodes first: pods listed before their nodes would be scheduled against an
        # empty cluster and parked as unschedulable for nothing.
        await self.nodes.wait_synced()
        await self.pods.wait_synced()
        log.info(
            "scheduler started: %d nodes, %d pods cached, %d pending",
            self.scheduler.cache.nodes.count,
            len(self.scheduler.cache),
            len(self.scheduler.queue),
        )
        await self.scheduler.run()


def new(ctx: ControllerContext) -> SchedulerController:
    config = SchedulerConfig.from_options(ctx.options)
    scheduler = Scheduler(ctx.client, ctx.recorder(config.scheduler_name), config)
    return SchedulerController(
        scheduler, ctx.informers.informer(PODS), ctx.informers.informer(NODES)
    )
