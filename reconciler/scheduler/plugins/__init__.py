"""The plugins, one module each, in kube-scheduler's default order.

``FILTERS`` run in this order (a node's reason is the first rejecting plugin's);
``SCORES`` are weighted by the configuration (plugin NAME -> weight)."""

from __future__ import annotations

from reconciler.scheduler.plugins import (
    balanced_allocation,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    taint_toleration,
)

FILTERS = (
    node_unschedulable,
    node_name,
    taint_toleration,
    node_affinity,
    node_ports,
    node_resources_fit,
    pod_topology_spread,
    inter_pod_affinity,
)

SCORES = (
    taint_toleration,
    node_affinity,
    node_resources_fit,
    pod_topology_spread,
    inter_pod_affinity,
    balanced_allocation,
)
