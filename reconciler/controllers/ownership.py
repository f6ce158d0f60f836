"""Claiming objects for a controller: adoption and release through ownerReferences.

A controller (a ReplicaSet over pods, a Deployment over ReplicaSets) owns the objects
whose controller reference names it. ``ControllerRefManager.ClaimObject`` of
kube-controller-manager decides, for each candidate in the owner's namespace:

* owned by another controller: not ours, leave it;
* owned by us and matching the selector: ours;
* owned by us but no longer matching: *release* it (remove our ownerReference), unless
  we are being deleted;
* an orphan that matches, is not being deleted, while we are not being deleted: *adopt*
  it (add our controller reference).

Both writes are strategic merge patches that also carry the child's ``metadata.uid``,
which makes them fail rather than touch a different object that took the same name.
Before the first adoption of a sync the owner is re-read from the API server (not the
cache): a controller that was just deleted, or replaced by a namesake, must not adopt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kctl.api import errors
from kctl.api.kinds import ResourceInfo
from kctl.api.meta import controller_of, controller_ref
from kctl.api.selectors import LabelSelector
from kctl.client.http import AsyncClient
from kctl.client.informer import Indexer

Obj = Mapping[str, Any]


class _Claim(enum.Enum):
    """The decision for one child: keep, ignore, or write first."""

    OURS = "ours"
    NOT_OURS = "not ours"
    ADOPT = "adopt"
    RELEASE = "release"


class AdoptionRefused(Exception):
    """The owner changed (deleted, or replaced) since the cached copy was read."""


def _md(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def adopt_patch(owner: Obj, child_uid: str) -> dict[str, Any]:
    """``ownerRefControllerPatch``: make ``owner`` the controller of the child."""
    return {"metadata": {"ownerReferences": [controller_ref(dict(owner))], "uid": child_uid}}


def release_patch(owner_uid: str, child_uid: str) -> dict[str, Any]:
    """``deleteOwnerRefStrategicMergePatch``: drop the reference to ``owner_uid``."""
    return {
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
            "uid": child_uid,
        }
    }


class ControllerRefManager:
    """Claims children of ``child_info`` for ``owner`` (of ``owner_info``), as
    ``ClaimPods``/``ClaimReplicaSets`` do. One manager per sync: the owner recheck
    happens at most once."""

    def __init__(
        self,
        client: AsyncClient,
        owner: Obj,
        owner_info: ResourceInfo,
        child_info: ResourceInfo,
        selector: LabelSelector,
    ) -> None:
        self.client = client
        self.owner = owner
        self.owner_info = owner_info
        self.child_info = child_info
        self.selector = selector
        self._uid = str(_md(owner).get("uid") or "")
        self._checked: Exception | None | bool = False  # False: not yet checked

    @property
    def owner_deleting(self) -> bool:
        return bool(_md(self.owner).get("deletionTimestamp"))

    async def claim(
        self, children: Iterable[dict[str, Any]], *filters: Callable[[Obj], bool]
    ) -> list[dict[str, Any]]:
        """The children that are ours after adopting and releasing as needed. Raises the
        first error once every child has been tried (a child gone meanwhile is skipped)."""
        claimed: list[dict[str, Any]] = []
        failures: list[Exception] = []
        for child in children:
            decision = self._decide(child, filters)
            if decision is _Claim.OURS:
                claimed.append(child)
            elif decision is not _Claim.NOT_OURS:
                # the rare case that needs a write: decided one by one, in order
                try:
                    if await self._act(child, decision):
                        claimed.append(child)
                except (errors.ApiError, AdoptionRefused) as exc:
                    failures.append(exc)
        if failures:
            raise failures[0]
        return claimed

    def _matches(self, child: Obj, filters: Iterable[Callable[[Obj], bool]]) -> bool:
        return self.selector.matches(_md(child).get("labels") or {}) and all(
            f(child) for f in filters
        )

    def _decide(self, child: Obj, filters: Iterable[Callable[[Obj], bool]]) -> _Claim:
        """What ``ClaimObject`` does with ``child``, without any request (a controller
        runs this for each of its children on every sync)."""
        ref = controller_of(dict(child) if not isinstance(child, dict) else child)
        matches = self._matches(child, filters)
        if ref is not None:
            if ref.get("uid") != self._uid:
                return _Claim.NOT_OURS
            if matches:
                return _Claim.OURS
            return _Claim.NOT_OURS if self.owner_deleting else _Claim.RELEASE
        if self.owner_deleting or not matches or _md(child).get("deletionTimestamp"):
            return _Claim.NOT_OURS
        owner_ns = _md(self.owner).get("namespace")
        if owner_ns and owner_ns != _md(child).get("namespace"):
            return _Claim.NOT_OURS
        return _Claim.ADOPT

    async def _act(self, child: Obj, decision: _Claim) -> bool:
        """Release or adopt ``child``; whether it is ours afterwards."""
        if decision is _Claim.RELEASE:
            await self.release(child)
            return False
        try:
            await self.adopt(child)
        except errors.NotFound:
            return False
        return True

    async def _can_adopt(self) -> None:
        if self._checked is False:
            self._checked = await self._recheck_owner()
        if isinstance(self._checked, Exception):
            raise self._checked

    async def _recheck_owner(self) -> Exception | None:
        md = _md(self.owner)
        try:
            fresh = await self.client.get(self.owner_info, str(md.get("name")), md.get("namespace"))
        except errors.ApiError as exc:
            return AdoptionRefused(f"can't recheck DeletionTimestamp: {exc}")
        fresh_md = _md(fresh)
        if fresh_md.get("uid") != self._uid:
            return AdoptionRefused(
                f"can't recheck DeletionTimestamp: original {self.owner_info.kind} "
                f"{md.get('namespace')}/{md.get('name')} is gone: got uid "
                f"{fresh_md.get('uid')}, wanted {self._uid}"
            )
        if fresh_md.get("deletionTimestamp"):
            return AdoptionRefused(
                f"{fresh_md.get('namespace')}/{fresh_md.get('name')} has just been deleted "
                f"at {fresh_md.get('deletionTimestamp')}"
            )
        return None

    async def adopt(self, child: Obj) -> None:
        await self._can_adopt()
        md = _md(child)
        await self.client.patch(
            self.child_info,
            str(md.get("name")),
            adopt_patch(self.owner, str(md.get("uid") or "")),
            md.get("namespace"),
            patch_type="strategic",
        )

    async def release(self, child: Obj) -> None:
        """Remove our reference; a child that is gone or no longer ours is fine."""
        md = _md(child)
        try:
            await self.client.patch(
                self.child_info,
                str(md.get("name")),
                release_patch(self._uid, str(md.get("uid") or "")),
                md.get("namespace"),
                patch_type="strategic",
            )
        except (errors.NotFound, errors.Invalid):
            return


# --- finding candidates in an informer cache -------------------------------------------

ORPHANS_BY_NAMESPACE = "orphans-by-namespace"


def index_orphans_by_namespace(obj: dict[str, Any]) -> Iterable[str]:
    """Index objects without a controller reference by namespace: with the owner-uid
    index, a controller finds its candidates without scanning its namespace."""
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    if not ns:
        return ()
    for ref in md.get("ownerReferences") or ():
        if ref.get("controller") is True:
            return ()
    return (ns,)


def claim_candidates(store: Indexer, owner: Obj, owner_uid_index: str) -> list[dict[str, Any]]:
    """The objects ``ClaimObject`` could keep or adopt for ``owner``: those controlled
    by it (from ``owner_uid_index``) and the orphans of its namespace (from
    :data:`ORPHANS_BY_NAMESPACE`). Objects controlled by others can never be claimed."""
    md = _md(owner)
    uid = str(md.get("uid") or "")
    owned = [
        child
        for child in store.by_index(owner_uid_index, uid)
        if (controller_of(child) or {}).get("uid") == uid
    ]
    orphans = store.by_index(ORPHANS_BY_NAMESPACE, str(md.get("namespace") or ""))
    return owned + orphans
