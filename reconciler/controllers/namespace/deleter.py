"""Emptying a terminating namespace, then releasing it (``NamespacedResourcesDeleter``).

A namespace marked for deletion keeps the ``kubernetes`` entry of ``spec.finalizers``
until everything in it is gone. One pass:

1. read the namespace from the API (not the cache: it may be finished already);
2. discover every namespaced kind the server serves that can be deleted, and for each
   one delete the whole collection (``deletecollection``, propagation Background) or,
   if the kind lacks that verb, each listed object;
3. list each kind again and count what is left: objects still within their grace
   period (pods) or held by finalizers are expected to take a while; anything else
   left is an error;
4. record the outcome as the namespace's deletion conditions;
5. if anything is left, :class:`ContentRemaining` tells the controller how long to
   wait (half the longest pod grace period plus one second, or 15 s for finalizers);
   otherwise remove ``kubernetes`` from ``spec.finalizers`` through the ``finalize``
   subresource, and the API server removes the namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kctl.api import errors, meta
from kctl.api.kinds import ResourceInfo
from kctl.client import resources
from kctl.client.discovery import Discovered, discover
from kctl.client.http import AsyncClient, ConnectionFailed
from reconciler.controller import SyncError
from reconciler.controllers.namespace.conditions import ConditionUpdater, ContentTotals

log = logging.getLogger(__name__)

FINALIZER_TOKEN = "kubernetes"
FINALIZER_ESTIMATE_SECONDS = 15  # assumed time for finalizers to finish
CONFLICT_RETRIES = 5

Obj = Mapping[str, Any]


class ContentRemaining(Exception):
    """Content is still going away; sync again in about ``estimate`` seconds."""

    def __init__(self, estimate: int) -> None:
        super().__init__(
            f"some content remains in the namespace, estimate {estimate} seconds before it is removed"
        )
        self.estimate = estimate


class DeletionFailed(SyncError):
    """Some content could not be deleted or discovered (the conditions say which)."""


@dataclass
class KindResult:
    """What one pass left of one kind."""

    estimate: int = 0
    remaining: int = 0
    finalizers: dict[str, int] = field(default_factory=dict)
    error: str = ""


def gvr_string(info: ResourceInfo) -> str:
    """``schema.GroupVersionResource``'s ``String()``: ``/v1, Resource=pods``."""
    return f"{info.group}/{info.version}, Resource={info.plural}"


def pod_grace_estimate(pods: Sequence[Obj]) -> int:
    """The longest grace period among pods that have not finished."""
    estimate = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        if grace is not None:
            estimate = max(estimate, int(grace))
    return estimate


def judge_remaining(
    namespace: str,
    info: ResourceInfo,
    items: Sequence[Obj],
    estimate: int,
    finalizer_estimate: int = FINALIZER_ESTIMATE_SECONDS,
) -> KindResult:
    """Whether what is left of a kind after deletion is expected (still terminating,
    held by finalizers) or an error."""
    if not items:
        return KindResult()
    finalizers: dict[str, int] = {}
    for item in items:
        for name in (item.get("metadata") or {}).get("finalizers") or ():
            finalizers[name] = finalizers.get(name, 0) + 1
    if estimate:
        return KindResult(estimate, len(items), finalizers)
    if finalizers:
        return KindResult(finalizer_estimate, len(items), finalizers)
    return KindResult(
        0,
        len(items),
        error=f"unexpected items still remain in namespace: {namespace} for gvr: {gvr_string(info)}",
    )


def finalize_body(namespace: Obj) -> dict[str, Any]:
    """The namespace with ``kubernetes`` removed from ``spec.finalizers``."""
    spec = dict(namespace.get("spec") or {})
    spec["finalizers"] = sorted({f for f in spec.get("finalizers") or () if f != FINALIZER_TOKEN})
    return {**namespace, "spec": spec}


class NamespacedResourcesDeleter:
    def __init__(
        self,
        client: AsyncClient,
        discover_fn: Callable[[AsyncClient], Any] = discover,
        now: Callable[[], str] = meta.now_rfc3339,
        finalizer_estimate: int = FINALIZER_ESTIMATE_SECONDS,
    ) -> None:
        self.client = client
        self.discover_fn = discover_fn
        self.now = now
        self.finalizer_estimate = finalizer_estimate

    async def delete(self, name: str) -> None:
        """One pass over namespace ``name``. Raises :class:`ContentRemaining` to be
        called again later, :class:`DeletionFailed` (or an API error) to be retried."""
        namespace = await self._get(name)
        if namespace is None or not _md(namespace).get("deletionTimestamp"):
            return
        namespace = await self._ensure_terminating(namespace)
        if FINALIZER_TOKEN not in ((namespace.get("spec") or {}).get("finalizers") or ()):
            return  # finalized already; other finalizers are someone else's
        estimate, namespace = await self._delete_all_content(namespace)
        if estimate > 0:
            raise ContentRemaining(estimate)
        await self._finalize(namespace)

    # --- namespace writes ------------------------------------------------------------------

    async def _get(self, name: str) -> dict[str, Any] | None:
        try:
            ns: dict[str, Any] = await self.client.get(resources.NAMESPACES, name)
        except errors.NotFound:
            return None
        return ns

    async def _ensure_terminating(self, namespace: dict[str, Any]) -> dict[str, Any]:
        if (namespace.get("status") or {}).get("phase") == "Terminating":
            return namespace
        body = {**namespace, "status": {**(namespace.get("status") or {}), "phase": "Terminating"}}
        updated: dict[str, Any] = await self.client.replace(
            resources.NAMESPACES, body, subresource="status"
        )
        return updated

    async def _finalize(self, namespace: dict[str, Any]) -> None:
        uid = _md(namespace).get("uid")
        for _ in range(CONFLICT_RETRIES):
            try:
                await self.client.replace(
                    resources.NAMESPACES, finalize_body(namespace), subresource="finalize"
                )
                log.info("namespace %s: content removed, finalized", _md(namespace).get("name"))
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                fresh = await self._get(str(_md(namespace).get("name")))
                if fresh is None:
                    return
                if _md(fresh).get("uid") != uid:
                    raise DeletionFailed("namespace uid has changed across retries") from None
                namespace = fresh
        raise errors.conflict("namespaces", "", str(_md(namespace).get("name")))

    # --- content -------------------------------------------------------------------------------

    async def _delete_all_content(self, namespace: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Delete what is in the namespace; the estimate of seconds until what is left
        is gone, and the namespace as the condition write left it."""
        name = str(_md(namespace).get("name"))
        updater = ConditionUpdater()
        problems: list[str] = []
        try:
            found: Discovered = await self.discover_fn(self.client)
        except (errors.ApiError, ConnectionFailed) as exc:
            found = Discovered()
            updater.discovery_failed(str(exc))
            problems.append(str(exc))
        if found.failed:
            updater.discovery_failed(found.error(), len(found.failed))
            problems.append(found.error())
        kinds = [i for i in found.supporting("delete") if i.namespaced]
        results = await asyncio.gather(*(self._delete_kind(name, info) for info in kinds))
        totals = ContentTotals()
        estimate = 0
        for info, result in zip(kinds, results, strict=True):
            if result.error:
                updater.delete_failed(result.error)
                problems.append(result.error)
            estimate = max(estimate, result.estimate)
            totals.add(f"{info.plural}.{info.group}", result.remaining, result.finalizers)
        updater.content_totals(totals)
        namespace = await self._write_conditions(namespace, updater)
        if problems:
            raise DeletionFailed("; ".join(problems))
        return estimate, namespace

    async def _delete_kind(self, namespace: str, info: ResourceInfo) -> KindResult:
        estimate = 0
        try:
            if info.resource == "pods":
                estimate = pod_grace_estimate(await self._items(info, namespace))
            if "deletecollection" in info.verbs:
                await self.client.delete_collection(
                    info, namespace, propagation_policy="Background"
                )
            elif "list" in info.verbs:
                await self._delete_each(info, namespace)
            if "list" not in info.verbs:
                return KindResult(estimate)
            items = await self._items(info, namespace)
            return judge_remaining(namespace, info, items, estimate, self.finalizer_estimate)
        except (errors.ApiError, ConnectionFailed) as exc:
            return KindResult(estimate, error=str(exc))

    async def _delete_each(self, info: ResourceInfo, namespace: str) -> None:
        for item in await self._items(info, namespace):
            try:
                await self.client.delete(
                    info, str(_md(item).get("name")), namespace, propagation_policy="Background"
                )
            except errors.NotFound:
                continue

    async def _items(self, info: ResourceInfo, namespace: str) -> list[Obj]:
        answer = await self.client.list(info, namespace)
        return list(answer.get("items") or ())

    async def _write_conditions(
        self, namespace: dict[str, Any], updater: ConditionUpdater
    ) -> dict[str, Any]:
        status = dict(namespace.get("status") or {})
        if not updater.update(status, self.now()):
            return namespace
        try:
            updated: dict[str, Any] = await self.client.replace(
                resources.NAMESPACES, {**namespace, "status": status}, subresource="status"
            )
        except (errors.ApiError, ConnectionFailed) as exc:
            # As upstream: a failed condition write is logged, not fatal.
            log.warning("namespace %s: updating conditions: %s", _md(namespace).get("name"), exc)
            return namespace
        return updated


def _md(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}
