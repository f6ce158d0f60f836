"""What the garbage collector does with one object, decided without I/O.

These are the rules of kube-controller-manager's ``attemptToDeleteItem``, written as
pure functions so that a table of cases can test them:

* **As a dependent**, an object's owners are *solid* (they exist), *dangling* (the API
  says they are gone, or a different object now has the name) or *waiting* (they exist
  and are in foreground deletion, waiting for their dependents). With a solid owner
  left, the object stays, minus its references to dangling and waiting owners. With
  none, it is garbage: deleted with the propagation its own finalizers ask for
  (orphan, foreground) or in the background; but when it waits on a foreground owner
  and has dependents of its own, it is deleted in the foreground too; if one of those
  dependents is itself in foreground deletion (maybe a cycle of owners), its
  ``blockOwnerDeletion`` references are cleared first, so that the owners do not wait
  on each other forever.
* **As an owner being deleted**, the ``orphan`` finalizer means "release every
  dependent, then drop the finalizer", and ``foregroundDeletion`` means "delete the
  dependents; drop the finalizer once no dependent with ``blockOwnerDeletion: true``
  remains".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.controllers.garbagecollector.graph import FOREGROUND, ORPHAN, OwnerRef

BACKGROUND_POLICY = "Background"
FOREGROUND_POLICY = "Foreground"
ORPHAN_POLICY = "Orphan"


class OwnerState(enum.Enum):
    SOLID = "solid"
    DANGLING = "dangling"
    WAITING = "waiting"  # exists, in foreground deletion


def owner_state(owner: Mapping[str, Any] | None, ref: OwnerRef) -> OwnerState:
    """The state of the owner ``ref`` names, given the owner as the API returned it
    (``None``: not found). A different uid under the name means the owner is gone."""
    if owner is None:
        return OwnerState.DANGLING
    md = owner.get("metadata") or {}
    if md.get("uid") != ref.uid:
        return OwnerState.DANGLING
    if md.get("deletionTimestamp") and FOREGROUND in (md.get("finalizers") or ()):
        return OwnerState.WAITING
    return OwnerState.SOLID


@dataclass(frozen=True)
class Classified:
    solid: tuple[OwnerRef, ...] = ()
    dangling: tuple[OwnerRef, ...] = ()
    waiting: tuple[OwnerRef, ...] = ()

    @classmethod
    def of(cls, states: Iterable[tuple[OwnerRef, OwnerState]]) -> Classified:
        groups: dict[OwnerState, list[OwnerRef]] = {s: [] for s in OwnerState}
        for ref, state in states:
            groups[state].append(ref)
        return cls(
            tuple(groups[OwnerState.SOLID]),
            tuple(groups[OwnerState.DANGLING]),
            tuple(groups[OwnerState.WAITING]),
        )


@dataclass(frozen=True)
class Keep:
    """Nothing to do: every owner is there."""


@dataclass(frozen=True)
class RemoveReferences:
    """Keep the object (a solid owner is left) but drop these owner references."""

    uids: tuple[str, ...]


@dataclass(frozen=True)
class Delete:
    """Delete the object with ``policy``, after clearing ``blockOwnerDeletion`` on the
    references to ``unblock`` (uids)."""

    policy: str
    unblock: tuple[str, ...] = ()


Decision = Keep | RemoveReferences | Delete


def decide_dependent(
    owners: Classified,
    finalizers: Iterable[str],
    has_dependents: bool,
    dependent_deleting_dependents: bool = False,
) -> Decision:
    """What to do with an object whose owners are classified as ``owners``, given its
    own finalizers and whether it has dependents (and whether one of them is itself in
    foreground deletion, which may be a cycle)."""
    if owners.solid:
        if not owners.dangling and not owners.waiting:
            return Keep()
        return RemoveReferences(tuple(r.uid for r in (*owners.dangling, *owners.waiting)))
    if owners.waiting and has_dependents:
        unblock: tuple[str, ...] = ()
        if dependent_deleting_dependents:
            refs = (*owners.dangling, *owners.waiting)
            unblock = tuple(r.uid for r in refs if r.block_owner_deletion)
        return Delete(FOREGROUND_POLICY, unblock)
    if not owners.dangling and not owners.waiting:
        return Keep()  # no owner references at all
    own = set(finalizers)
    if ORPHAN in own:
        return Delete(ORPHAN_POLICY)
    if FOREGROUND in own:
        return Delete(FOREGROUND_POLICY)
    return Delete(BACKGROUND_POLICY)


def without_references(
    refs: Iterable[Mapping[str, Any]], uids: Iterable[str]
) -> list[dict[str, Any]]:
    """``refs`` minus the references to ``uids``."""
    drop = set(uids)
    return [dict(r) for r in refs if r.get("uid") not in drop]


def unblocked_references(
    refs: Iterable[Mapping[str, Any]], uids: Iterable[str]
) -> list[dict[str, Any]]:
    """``refs`` with ``blockOwnerDeletion: false`` on the references to ``uids``."""
    clear = set(uids)
    return [{**r, "blockOwnerDeletion": False} if r.get("uid") in clear else dict(r) for r in refs]
