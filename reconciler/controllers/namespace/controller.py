"""The namespace controller: empties terminating namespaces, then lets them go.

Only namespaces with a ``deletionTimestamp`` are queued; the work of one pass is
:class:`~.deleter.NamespacedResourcesDeleter`'s. When content is still terminating
the namespace is synced again after the deleter's estimate (half of it, plus a
second, as kube-controller-manager waits); failures back off per namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.client import resources
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers.namespace.deleter import (
    FINALIZER_ESTIMATE_SECONDS,
    ContentRemaining,
    NamespacedResourcesDeleter,
)

DEFAULT_WORKERS = 10  # --concurrent-namespace-syncs


def terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


class NamespaceController(QueueController):
    name = "namespace"

    def __init__(self, ctx: ControllerContext) -> None:
        self.workers = ctx.int_option("namespace-workers", DEFAULT_WORKERS)
        super().__init__(ctx)
        self.deleter = NamespacedResourcesDeleter(
            ctx.client,
            finalizer_estimate=ctx.int_option(
                "namespace-finalizer-estimate-seconds", FINALIZER_ESTIMATE_SECONDS
            ),
        )
        self.namespaces = ctx.informers.informer(resources.NAMESPACES)
        self.namespaces.add_handler(
            on_add=self._changed,
            on_update=lambda _old, new: self._changed(new),
        )

    def _changed(self, obj: Mapping[str, Any]) -> None:
        if terminating(obj):
            self.enqueue(obj)

    async def sync(self, key: str) -> None:
        cached = self.namespaces.store.get(key)
        if cached is None or not terminating(cached):
            return
        try:
            await self.deleter.delete(key)
        except ContentRemaining as remaining:
            wait = remaining.estimate // 2 + 1
            self.log.info("namespace %s: content remaining, waiting %d seconds", key, wait)
            self.queue.add_after(key, wait)
