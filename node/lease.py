"""A node's heartbeat: its Lease in ``kube-node-lease``, renewed as the kubelet does.

The node lifecycle controller reads ``spec.renewTime`` to decide whether a node is
alive (grace 50 s by default, against a renewal every 10 s), so renewals must be
cheap: one ``PUT`` of the Lease last written, with its resourceVersion. Only this agent
writes the Lease, so the cached copy is normally current; a Conflict (someone else
wrote it) or NotFound (someone deleted it) is repaired by reading or creating it again.

The Lease is owned by its Node (an ownerReference), so deleting the Node garbage-
collects it, as with the kubelet's ``setNodeOwnerFunc``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kctl.api import errors
from kctl.client.resources import LEASES
from node.apilimit import ApiCalls

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
RENEW_INTERVAL_SECONDS = 10.0  # 0.25 of the duration, kubelet's renewIntervalFraction


@dataclass
class NodeLease:
    """The lease of one node and the last copy written."""

    node_name: str
    node_uid: str = ""
    duration_seconds: int = LEASE_DURATION_SECONDS
    cached: dict[str, Any] | None = None

    def owner_references(self) -> list[dict[str, Any]]:
        if not self.node_uid:
            return []
        return [{"apiVersion": "v1", "kind": "Node", "name": self.node_name, "uid": self.node_uid}]

    def desired(self, now_micro: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """``base`` (or a new Lease) holding this node's lease, renewed at ``now_micro``."""
        lease: dict[str, Any] = (
            copy.deepcopy(base)
            if base
            else {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.node_name, "namespace": LEASE_NAMESPACE},
            }
        )
        lease.setdefault("apiVersion", "coordination.k8s.io/v1")
        lease.setdefault("kind", "Lease")
        md = lease.setdefault("metadata", {})
        owners = self.owner_references()
        if owners and not md.get("ownerReferences"):
            md["ownerReferences"] = owners
        spec = lease.setdefault("spec", {})
        spec["holderIdentity"] = self.node_name
        spec["leaseDurationSeconds"] = self.duration_seconds
        spec["renewTime"] = now_micro
        return lease

    async def renew(self, client: ApiCalls, now_micro: str) -> dict[str, Any]:
        """Write a renewed lease (update the cached copy, else read or create it)."""
        if self.cached is not None:
            try:
                self.cached = await client.replace(
                    LEASES, self.desired(now_micro, self.cached), LEASE_NAMESPACE
                )
                return self.cached
            except (errors.Conflict, errors.NotFound):
                self.cached = None
        try:
            current = await client.get(LEASES, self.node_name, LEASE_NAMESPACE)
        except errors.NotFound:
            try:
                self.cached = await client.create(LEASES, self.desired(now_micro), LEASE_NAMESPACE)
                return self.cached
            except errors.AlreadyExists:
                current = await client.get(LEASES, self.node_name, LEASE_NAMESPACE)
        self.cached = await client.replace(
            LEASES, self.desired(now_micro, current), LEASE_NAMESPACE
        )
        return self.cached
