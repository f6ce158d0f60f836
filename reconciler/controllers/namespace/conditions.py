"""The status conditions a terminating namespace carries, as Kubernetes words them.

While it empties a namespace the namespace controller reports, on the namespace, one
condition of each of five types: ``True`` with a failure reason when something is
wrong or left (discovery failed, deletions failed, content or finalizers remain),
``False`` with the "all good" reason otherwise. ``kubectl describe namespace`` shows
them; users read them to learn why a namespace is stuck in Terminating, so reasons
and messages are Kubernetes' own. A condition's ``lastTransitionTime`` moves only
when its status changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

CONDITION_TYPES = (
    DISCOVERY_FAILURE,
    GV_PARSING_FAILURE,
    CONTENT_FAILURE,
    CONTENT_REMAINING,
    FINALIZERS_REMAINING,
)
# type -> (reason, message) of the "nothing wrong" variant (status False)
OK: dict[str, tuple[str, str]] = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GV_PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


@dataclass
class ContentTotals:
    """What is left in the namespace after a pass: ``"<plural>.<group>" -> count`` and
    ``finalizer -> count`` of objects still carrying it."""

    remaining: dict[str, int] = field(default_factory=dict)
    finalizers: dict[str, int] = field(default_factory=dict)

    def add(self, resource: str, count: int, finalizers: Mapping[str, int]) -> None:
        if count <= 0:
            return
        self.remaining[resource] = self.remaining.get(resource, 0) + count
        for name, n in finalizers.items():
            if n > 0:
                self.finalizers[name] = self.finalizers.get(name, 0) + n


def _failing(ctype: str, reason: str, message: str) -> dict[str, str]:
    return {"type": ctype, "status": "True", "reason": reason, "message": message}


class ConditionUpdater:
    """Collects what went wrong in one pass, then merges it into a namespace status."""

    def __init__(self) -> None:
        self.failing: list[dict[str, str]] = []
        self.delete_errors: list[str] = []

    def discovery_failed(self, message: str, failed_groups: int = 0) -> None:
        if failed_groups:
            message = f"Discovery failed for some groups, {failed_groups} failing: {message}"
        self.failing.append(_failing(DISCOVERY_FAILURE, "DiscoveryFailed", message))

    def delete_failed(self, message: str) -> None:
        self.delete_errors.append(message)

    def content_totals(self, totals: ContentTotals) -> None:
        if totals.remaining:
            items = sorted(f"{r} has {n} resource instances" for r, n in totals.remaining.items())
            self.failing.append(
                _failing(
                    CONTENT_REMAINING,
                    "SomeResourcesRemain",
                    f"Some resources are remaining: {', '.join(items)}",
                )
            )
        if totals.finalizers:
            items = sorted(f"{f} in {n} resource instances" for f, n in totals.finalizers.items())
            self.failing.append(
                _failing(
                    FINALIZERS_REMAINING,
                    "SomeFinalizersRemain",
                    f"Some content in the namespace has finalizers remaining: {', '.join(items)}",
                )
            )

    def _conditions(self) -> dict[str, dict[str, str]]:
        found = {c["type"]: c for c in self.failing}
        if CONTENT_FAILURE not in found and self.delete_errors:
            msgs = sorted(self.delete_errors)
            found[CONTENT_FAILURE] = _failing(
                CONTENT_FAILURE,
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(msgs)} remaining: {', '.join(msgs)}",
            )
        return found

    def update(self, status: dict[str, Any], now: str) -> bool:
        """Merge this pass's conditions into ``status`` (a copy the caller owns).
        Returns whether anything changed."""
        new = self._conditions()
        conditions: list[dict[str, Any]] = [dict(c) for c in status.get("conditions") or ()]
        changed = False
        for ctype in CONDITION_TYPES:
            want = new.get(ctype)
            if want is None:
                reason, message = OK[ctype]
                want = {"type": ctype, "status": "False", "reason": reason, "message": message}
            old = next((c for c in conditions if c.get("type") == ctype), None)
            if old is None:
                conditions.append({**want, "lastTransitionTime": now})
                changed = True
                continue
            if any(old.get(k) != want[k] for k in ("status", "reason", "message")):
                if old.get("status") != want["status"]:
                    old["lastTransitionTime"] = now
                old.update(want)
                changed = True
        status["conditions"] = conditions
        return changed
