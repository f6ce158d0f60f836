"""The garbage collector (kube-controller-manager's ``garbagecollector``): cascading
deletion through ownerReferences. :mod:`.graph` keeps who owns whom, :mod:`.propagation`
decides, :mod:`.controller` watches, queues and writes."""

from __future__ import annotations

from reconciler.controller import ControllerContext
from reconciler.controllers.garbagecollector.controller import GarbageCollector


def new(ctx: ControllerContext) -> GarbageCollector:
    return GarbageCollector(ctx)


__all__ = ["GarbageCollector", "new"]
