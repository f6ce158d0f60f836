"""Node IPAM: a distinct pod CIDR for every Node (see :mod:`.controller`, :mod:`.cidrset`)."""

from __future__ import annotations

from kctl.client.resources import NODES
from reconciler.controller import ControllerContext
from reconciler.controllers.nodeipam.controller import NodeIpam


def new(ctx: ControllerContext) -> NodeIpam:
    return NodeIpam(ctx, ctx.informers.informer(NODES))
