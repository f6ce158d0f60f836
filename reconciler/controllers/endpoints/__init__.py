"""The Endpoints controller (see :mod:`.controller`); ``new()`` is its entry point."""

from __future__ import annotations

from reconciler.controller import ControllerContext
from reconciler.controllers.endpoints.controller import EndpointsController


def new(ctx: ControllerContext) -> EndpointsController:
    return EndpointsController(ctx)
