"""The namespace controller (kube-controller-manager's ``namespace``): deletes the
content of terminating namespaces and finalizes them. :mod:`.deleter` does one pass,
:mod:`.conditions` words the status, :mod:`.controller` queues."""

from __future__ import annotations

from reconciler.controller import ControllerContext
from reconciler.controllers.namespace.controller import NamespaceController


def new(ctx: ControllerContext) -> NamespaceController:
    return NamespaceController(ctx)


__all__ = ["NamespaceController", "new"]
