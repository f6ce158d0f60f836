"""Reading Node objects the way the node lifecycle controller needs them.

Small pure helpers shared by the health monitor, the taint passes and the eviction
controller: condition lookup, the zone a node belongs to, and the conversion between
the controller's clock (float seconds) and the API's RFC 3339 timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kctl.api import meta

Obj = Mapping[str, Any]

READY = "Ready"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE_BETA = "failure-domain.beta.kubernetes.io/zone"
LABEL_REGION_BETA = "failure-domain.beta.kubernetes.io/region"
# Nodes with this label are left out of the zone disruption counts (Kubernetes' label).
LABEL_EXCLUDE_DISRUPTION = "node.kubernetes.io/exclude-disruption"


def rfc3339(ts: float) -> str:
    """``metav1.Time`` for a clock reading."""
    return meta.format_time(datetime.fromtimestamp(ts, UTC))


def epoch(value: Any) -> float | None:
    """A clock reading for an RFC 3339 timestamp; None when unset or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return meta.parse_time(value).timestamp()
    except ValueError:
        return None


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def conditions(node: Obj) -> list[dict[str, Any]]:
    found = (node.get("status") or {}).get("conditions") or []
    return [c for c in found if isinstance(c, dict)]


def condition(node: Obj, kind: str) -> dict[str, Any] | None:
    """The node's condition of type ``kind`` (``GetNodeCondition``)."""
    for cond in conditions(node):
        if cond.get("type") == kind:
            return cond
    return None


def ready_status(node: Obj) -> str | None:
    """"True" / "False" / "Unknown", or None when the node never reported Ready."""
    cond = condition(node, READY)
    return None if cond is None else str(cond.get("status") or "")


def zone_key(node: Obj) -> str:
    """``GetZoneKey``: region and zone joined so neither can be confused; "" for none."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = labels.get(LABEL_REGION) or labels.get(LABEL_REGION_BETA) or ""
    zone = labels.get(LABEL_ZONE) or labels.get(LABEL_ZONE_BETA) or ""
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


def excluded_from_disruption(node: Obj) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return LABEL_EXCLUDE_DISRUPTION in labels
