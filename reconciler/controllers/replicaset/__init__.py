"""The ReplicaSet controller (see :mod:`.controller`); ``new()`` is its entry point."""

from __future__ import annotations

from reconciler.controller import ControllerContext
from reconciler.controllers.replicaset.controller import ReplicaSetController


def new(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx)
