"""The owner/dependent graph of the garbage collector, kept current from watch events.

Every object of every watched kind is a :class:`Node`, keyed by uid (ownerReferences
name owners by uid, so that is the only safe identity). A node lists its owners (its
ownerReferences) and the uids of its dependents (the nodes whose ownerReferences name
it). An ownerReference to a uid that no informer has shown is a *virtual* node: a
placeholder whose existence the collector must check against the API server; when the
API confirms it absent, its dependents are garbage.

The graph is pure bookkeeping: :meth:`Graph.observe` (an add or update) and
:meth:`Graph.forget` (a delete) change it in time proportional to the object's own
references and dependents, and return the uids whose state may now call for action
(kube-controller-manager's ``processGraphChanges``). The controller puts those uids
on its work queue; deciding and acting is the controller's job. Nothing here recurses
over the graph, so cycles of ownership cannot make it loop.

The graph holds a node for every object of every watched kind (10,000 pods, their
Events excluded), so its records use ``__slots__``: about a third of the memory of
records with a ``__dict__`` each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """One ``metadata.ownerReferences`` entry."""

    api_version: str
    kind: str
    name: str
    uid: str
    block_owner_deletion: bool = False
    controller: bool = False

    @classmethod
    def from_dict(cls, ref: Mapping[str, Any]) -> OwnerRef:
        return cls(
            api_version=str(ref.get("apiVersion") or ""),
            kind=str(ref.get("kind") or ""),
            name=str(ref.get("name") or ""),
            uid=str(ref.get("uid") or ""),
            block_owner_deletion=bool(ref.get("blockOwnerDeletion")),
            controller=bool(ref.get("controller")),
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """What names an object in the API: its type, namespace ("" if none), name, uid."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where} (uid {self.uid})"


def owner_refs(obj: Mapping[str, Any]) -> tuple[OwnerRef, ...]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return tuple(OwnerRef.from_dict(r) for r in refs if r.get("uid"))


def identity_of(obj: Mapping[str, Any]) -> Identity:
    md = obj.get("metadata") or {}
    return Identity(
        api_version=str(obj.get("apiVersion") or ""),
        kind=str(obj.get("kind") or ""),
        namespace=str(md.get("namespace") or ""),
        name=str(md.get("name") or ""),
        uid=str(md.get("uid") or ""),
    )


@dataclass(slots=True)
class Node:
    identity: Identity
    owners: tuple[OwnerRef, ...] = ()
    dependents: set[str] = field(default_factory=set)
    virtual: bool = False
    being_deleted: bool = False
    finalizers: frozenset[str] = frozenset()

    @property
    def uid(self) -> str:
        return self.identity.uid

    @property
    def deleting_dependents(self) -> bool:
        """Foreground deletion in progress: waiting for blocking dependents to go."""
        return self.being_deleted and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        """Orphan deletion in progress: dependents are to be released."""
        return self.being_deleted and ORPHAN in self.finalizers

    def owner(self, uid: str) -> OwnerRef | None:
        for ref in self.owners:
            if ref.uid == uid:
                return ref
        return None


class Graph:
    """uid -> :class:`Node`, with the dependents of each node as a set of uids."""

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, uid: str) -> Node | None:
        return self._nodes.get(uid)

    def dependents(self, uid: str) -> list[Node]:
        node = self._nodes.get(uid)
        if node is None:
            return []
        return [d for d in (self._nodes.get(u) for u in node.dependents) if d is not None]

    def blocking_dependents(self, uid: str) -> list[Node]:
        """Dependents whose reference to ``uid`` has ``blockOwnerDeletion: true``."""
        out = []
        for dep in self.dependents(uid):
            ref = dep.owner(uid)
            if ref is not None and ref.block_owner_deletion:
                out.append(dep)
        return out

    # --- changes ---------------------------------------------------------------------

    def observe(self, obj: Mapping[str, Any]) -> set[str]:
        """An object was added or updated: update its node; return the uids to sync."""
        ident = identity_of(obj)
        if not ident.uid:
            return set()
        md = obj.get("metadata") or {}
        owners = owner_refs(obj)
        being_deleted = bool(md.get("deletionTimestamp"))
        finalizers = frozenset(md.get("finalizers") or ())
        node = self._nodes.get(ident.uid)
        todo: set[str] = set()
        if node is None:
            node = self._nodes[ident.uid] = Node(ident)
            old_owners: tuple[OwnerRef, ...] = ()
            was_deleting_dependents = False
        else:
            old_owners = () if node.virtual else node.owners
            was_deleting_dependents = node.deleting_dependents
            node.identity, node.virtual = ident, False
        node.owners, node.being_deleted, node.finalizers = owners, being_deleted, finalizers

        old_by_uid = {r.uid: r for r in old_owners}
        new_by_uid = {r.uid: r for r in owners}
        for uid, ref in old_by_uid.items():
            if new_by_uid.get(uid) == ref:
                continue
            owner = self._nodes.get(uid)
            if owner is None:
                continue
            if uid not in new_by_uid:
                owner.dependents.discard(ident.uid)
            if owner.deleting_dependents:
                todo.add(uid)  # a blocking dependent may have let go of it
        for uid, ref in new_by_uid.items():
            if uid not in old_by_uid:
                self._add_dependent(ref, ident, todo)

        if node.orphaning or node.deleting_dependents:
            todo.add(ident.uid)
        if node.deleting_dependents and not was_deleting_dependents:
            todo.update(node.dependents)
        if self.has_unsettled_owner(node):
            todo.add(ident.uid)
        return todo

    def forget(self, obj: Mapping[str, Any]) -> set[str]:
        """An object was deleted: drop its node; return the uids to sync (its
        dependents, and owners waiting in foreground deletion)."""
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        node = self._nodes.get(uid)
        if node is None or node.virtual:
            return set()
        return self._remove(node)

    def forget_virtual(self, uid: str) -> set[str]:
        """The API confirmed a virtual node's object absent: drop it; its dependents
        are to be synced (their owner is gone)."""
        node = self._nodes.get(uid)
        if node is None or not node.virtual:
            return set()
        return self._remove(node)

    def _remove(self, node: Node) -> set[str]:
        del self._nodes[node.uid]
        todo = set(node.dependents)
        for ref in node.owners:
            owner = self._nodes.get(ref.uid)
            if owner is None:
                continue
            owner.dependents.discard(node.uid)
            if owner.deleting_dependents:
                todo.add(owner.uid)
        todo.discard(node.uid)
        return todo

    def _add_dependent(self, ref: OwnerRef, dependent: Identity, todo: set[str]) -> None:
        owner = self._nodes.get(ref.uid)
        if owner is None:
            # Owners live in the dependent's namespace, or are cluster-scoped; the
            # controller knows which from the owner's kind.
            ident = Identity(ref.api_version, ref.kind, dependent.namespace, ref.name, ref.uid)
            owner = self._nodes[ref.uid] = Node(ident, virtual=True)
            todo.add(ref.uid)
        owner.dependents.add(dependent.uid)

    def has_unsettled_owner(self, node: Node) -> bool:
        """A dependent with an owner that is unknown, virtual or in foreground deletion."""
        for ref in node.owners:
            owner = self._nodes.get(ref.uid)
            if owner is None or owner.virtual or owner.deleting_dependents:
                return True
        return False
