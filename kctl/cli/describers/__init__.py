"""``kctl describe``'s describers: one module per kind family, all writing through the
tabwriter of :mod:`.writer` so their output lines up exactly as kubectl 1.32's.

A describer is a function ``(DescribeContext, object) -> str``. The verb fetches the
object; the describer makes the follow-up requests kubectl makes (events, owned
ReplicaSets, the pods of a Node...) through the context. Kinds are looked up by API
group and kind, as kubectl's describer map is; every other kind (Event, Lease,
kctl's own kinds) gets the generic describer, as in kubectl.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from kctl.cli.describers.context import DescribeContext

Describer = Callable[[DescribeContext, Mapping[str, Any]], str]

# (group, kind) -> "module:function", imported on first use.
_DESCRIBERS = {
    ("", "Pod"): "pods:describe_pod",
    ("apps", "Deployment"): "workloads:describe_deployment",
    ("apps", "ReplicaSet"): "workloads:describe_replicaset",
    ("", "Service"): "networking:describe_service",
    ("", "Endpoints"): "networking:describe_endpoints",
    ("", "Node"): "nodes:describe_node",
    ("", "Namespace"): "namespaces:describe_namespace",
    ("", "ConfigMap"): "config:describe_configmap",
    ("", "Secret"): "config:describe_secret",
    ("", "ServiceAccount"): "config:describe_serviceaccount",
}
_GENERIC = "generic:describe_generic"


def describer_for(group: str, kind: str) -> Describer:
    module, _, function = _DESCRIBERS.get((group, kind), _GENERIC).partition(":")
    found: Describer = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return found


def describe(ctx: DescribeContext, group: str, obj: Mapping[str, Any]) -> str:
    return describer_for(group, str(obj.get("kind") or ""))(ctx, obj)


__all__ = ["DescribeContext", "Describer", "describe", "describer_for"]
