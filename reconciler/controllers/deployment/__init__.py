"""The Deployment controller (see :mod:`.controller`); ``new()`` is its entry point."""

from __future__ import annotations

from reconciler.controller import ControllerContext
from reconciler.controllers.deployment.controller import DeploymentController


def new(ctx: ControllerContext) -> DeploymentController:
    return DeploymentController(ctx)
