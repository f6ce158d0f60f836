"""The ReplicaSet controller: keep ``spec.replicas`` pods running for each ReplicaSet.

It is kube-controller-manager's ``ReplicaSetController`` on kctl's informers:

* **Events enqueue ReplicaSets.** A pod event names its controller (resolved by uid, so
  a namesake replacement is not confused with the owner) or, for an orphan, every
  ReplicaSet of its namespace whose selector matches it (a candidate for adoption).
  Pod events also feed the expectations (creations and deletions observed).
* **A sync converges one ReplicaSet.** Read it from the cache; claim its pods (adopt
  matching orphans, release owned pods that stopped matching); if its expectations are
  met and it is not being deleted, create or delete the difference -- creations in
  slow-start batches capped by ``burst-replicas``, deletions in the Kubernetes
  scale-down order; then write the status subresource if it changed.
* **Large ReplicaSets batch their pod updates.** Counting 10,000 pods takes tens of
  milliseconds in Python, and a rollout of that size changes pods hundreds of times a
  second. A pod change that can only move the status (a readiness flip, or a creation or
  deletion the expectations are still waiting on more of) therefore enqueues the
  ReplicaSet after a delay proportional to what its last sync spent counting
  (``replicaset.status-batch-factor`` times it, 3 by default, at most 1 s), so one
  sync takes in many changes and the scheduler and the other controllers keep most of
  the process. A small ReplicaSet's delay rounds to nothing: it syncs at once.
* **Failures.** A failed create or delete sets the ``ReplicaFailure`` condition and
  raises, so the key is retried with backoff; events record every pod created or
  deleted (``SuccessfulCreate``/``SuccessfulDelete``) and every failure.

Options (``--controller-option``): ``replicaset.workers`` (5, like
``--concurrent-replicaset-syncs``), ``replicaset.burst-replicas`` (500), ``replicaset.status-batch-factor`` (3; 0 turns
batching off).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.api.meta import controller_of
from kctl.api.selectors import LabelSelector, from_label_selector
from kctl.client.events import NORMAL, WARNING
from kctl.client.informer import BY_NAMESPACE, BY_OWNER_UID, index_by_owner_uid
from kctl.client.resources import PODS, REPLICASETS
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers import ownership, podstate
from reconciler.controllers.replicaset import ranking, status
from reconciler.controllers.replicaset.batch import slow_start_batch
from reconciler.controllers.replicaset.expectations import Expectations
from reconciler.controllers.replicaset.template import pod_from_template

COMPONENT = "replicaset-controller"
DEFAULT_WORKERS = 5
DEFAULT_BURST_REPLICAS = 500
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"
STATUS_UPDATE_RETRIES = 1
DEFAULT_STATUS_BATCH_FACTOR = 3.0
MAX_STATUS_BATCH_DELAY = 1.0  # seconds
MIN_STATUS_BATCH_DELAY = 0.002  # below this a delay is not worth a timer

Obj = dict[str, Any]


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def namespace_terminating(exc: errors.ApiError) -> bool:
    """``HasStatusCause(err, NamespaceTerminatingCause)``."""
    causes = (exc.details or {}).get("causes") or ()
    return any(c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes)


class ReplicaSetController(QueueController):
    name = "replicaset"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = ctx.int_option("replicaset.workers", DEFAULT_WORKERS)
        self.burst_replicas = ctx.int_option("replicaset.burst-replicas", DEFAULT_BURST_REPLICAS)
        self.status_batch_factor = ctx.float_option(
            "replicaset.status-batch-factor", DEFAULT_STATUS_BATCH_FACTOR
        )
        self.expectations = Expectations()
        self._counting_cost: dict[str, float] = {}  # key -> seconds its last sync counted
        self.recorder = ctx.recorder(COMPONENT)
        self._selectors: dict[str, tuple[Any, LabelSelector | None]] = {}
        self.replicasets = ctx.informers.informer(
            REPLICASETS, indexers={BY_OWNER_UID: index_by_owner_uid}
        )
        self.pods = ctx.informers.informer(
            PODS,
            indexers={
                BY_OWNER_UID: index_by_owner_uid,
                ownership.ORPHANS_BY_NAMESPACE: ownership.index_orphans_by_namespace,
            },
        )
        self.replicasets.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    # --- lookups ----------------------------------------------------------------------

    def selector(self, rs: Mapping[str, Any]) -> LabelSelector | None:
        """The parsed ``spec.selector`` (None when invalid), cached per generation."""
        md = _md(rs)
        uid, generation = str(md.get("uid") or ""), md.get("generation")
        cached = self._selectors.get(uid)
        if cached is not None and cached[0] == generation:
            return cached[1]
        try:
            parsed: LabelSelector | None = from_label_selector(
                (rs.get("spec") or {}).get("selector")
            )
        except errors.BadRequest as exc:
            self.log.warning("replicaset %s: invalid selector: %s", _key(rs), exc)
            parsed = None
        self._selectors[uid] = (generation, parsed)
        return parsed

    def _resolve(self, namespace: str, ref: Mapping[str, Any]) -> Obj | None:
        """The cached ReplicaSet a controller reference names, if it is that one."""
        if ref.get("kind") != REPLICASETS.kind:
            return None
        rs = self.replicasets.store.get(f"{namespace}/{ref.get('name')}")
        if rs is None or _md(rs).get("uid") != ref.get("uid"):
            return None
        return rs

    def _matching_replicasets(self, pod: Mapping[str, Any]) -> list[Obj]:
        """``GetPodReplicaSets``: ReplicaSets whose (non-empty) selector matches ``pod``."""
        md = _md(pod)
        labels = md.get("labels") or {}
        found = []
        for rs in self.replicasets.store.by_index(BY_NAMESPACE, str(md.get("namespace") or "")):
            selector = self.selector(rs)
            if selector is not None and not selector.empty and selector.matches(labels):
                found.append(rs)
        return found

    def _related_pods(self, rs: Mapping[str, Any]) -> list[Obj]:
        """``getIndirectlyRelatedPods``: pods selected by any ReplicaSet sharing ``rs``'s
        controller (a Deployment's old and new ReplicaSets); none without a controller."""
        ref = controller_of(dict(rs))
        if ref is None:
            return []
        ref_uid = ref.get("uid")
        siblings = [
            r
            for r in self.replicasets.store.by_index(BY_OWNER_UID, str(ref_uid))
            if (controller_of(r) or {}).get("uid") == ref_uid
        ]
        seen: set[str] = set()
        related: list[Obj] = []
        for sibling in siblings:
            selector = self.selector(sibling)
            if selector is None:
                continue
            for pod in self.pods.store.by_index(BY_NAMESPACE, str(_md(sibling).get("namespace"))):
                uid = str(_md(pod).get("uid"))
                if uid not in seen and selector.matches(_md(pod).get("labels") or {}):
                    seen.add(uid)
                    related.append(pod)
        return related

    # --- event handlers (cheap: expectations and enqueue) -----------------------------

    def _rs_added(self, rs: Obj) -> None:
        self.enqueue(rs)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if _md(old).get("uid") != _md(cur).get("uid"):
            self._rs_deleted(old)
        self.enqueue(cur)

    def _rs_deleted(self, rs: Obj) -> None:
        key = _key(rs)
        self.expectations.delete(key)
        self._counting_cost.pop(key, None)
        self._selectors.pop(str(_md(rs).get("uid") or ""), None)
        self.enqueue(key)

    def _pod_added(self, pod: Obj) -> None:
        if podstate.is_terminating(pod):
            # a pod created by an API server restore or a quick delete: already going
            self._pod_deleted(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            rs = self._resolve(str(_md(pod).get("namespace")), ref)
            if rs is not None:
                key = _key(rs)
                self.expectations.creation_observed(key)
                self._enqueue_observation(key)
            return
        for rs in self._matching_replicasets(pod):
            self.enqueue(rs)

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if _md(old).get("resourceVersion") == _md(cur).get("resourceVersion"):
            return  # a resync: nothing changed
        labels_changed = _md(old).get("labels") != _md(cur).get("labels")
        if podstate.is_terminating(cur):
            # a graceful delete: the pod is going, count the deletion now
            self._pod_deleted(cur)
            if labels_changed:
                self._pod_deleted(old)
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        ref_changed = cur_ref != old_ref
        namespace = str(_md(cur).get("namespace"))
        if ref_changed and old_ref is not None:
            previous = self._resolve(namespace, old_ref)
            if previous is not None:
                self.enqueue(previous)
        if cur_ref is not None:
            rs = self._resolve(namespace, cur_ref)
            if rs is None:
                return
            if labels_changed or ref_changed:
                self.enqueue(rs)
            else:
                self.enqueue_batched(_key(rs))
            min_ready = status.min_ready_seconds(rs)
            if min_ready > 0 and not podstate.is_ready(old) and podstate.is_ready(cur):
                self.enqueue_after(rs, min_ready + 1.0)
            return
        if labels_changed or ref_changed:
            for rs in self._matching_replicasets(cur):
                self.enqueue(rs)

    def _pod_deleted(self, pod: Obj) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        rs = self._resolve(str(_md(pod).get("namespace")), ref)
        if rs is None:
            return
        key = _key(rs)
        self.expectations.deletion_observed(key, podstate.pod_key(pod))
        self._enqueue_observation(key)

    def _enqueue_observation(self, key: str) -> None:
        """After a creation or deletion was observed: at once when that was the last
        one expected (the sync may act), batched while more are on their way."""
        if self.expectations.satisfied(key):
            self.enqueue(key)
        else:
            self.enqueue_batched(key)

    def enqueue_batched(self, key: str) -> None:
        """Enqueue ``key`` for a change that only moves its status: after a delay that
        grows with what counting its pods costs (see the module docstring)."""
        delay = min(
            MAX_STATUS_BATCH_DELAY, self.status_batch_factor * self._counting_cost.get(key, 0.0)
        )
        if delay < MIN_STATUS_BATCH_DELAY:
            self.enqueue(key)
        else:
            self.enqueue_after(key, delay)

    # --- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        rs = self.replicasets.store.get(key)
        if rs is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = self.selector(rs)
        if selector is None:
            return  # an invalid selector never selects; validation should prevent it
        started = time.perf_counter()
        candidates = [
            p
            for p in ownership.claim_candidates(self.pods.store, rs, BY_OWNER_UID)
            if podstate.is_active(p)
        ]
        manager = ownership.ControllerRefManager(self.ctx.client, rs, REPLICASETS, PODS, selector)
        pods = await manager.claim(candidates)
        counting = time.perf_counter() - started

        failure: Exception | None = None
        if needs_sync and not podstate.is_terminating(rs):
            failure = await self.manage_replicas(key, rs, pods)

        now = self.ctx.clock()
        started = time.perf_counter()
        new_status = status.calculate_status(
            rs, pods, None if failure is None else str(failure), now
        )
        self._counting_cost[key] = counting + time.perf_counter() - started
        updated = await self.update_status(rs, new_status)
        if failure is not None:
            raise failure
        wait = status.next_available_in(updated, pods, now)
        if wait is not None:
            self.enqueue_after(key, wait)

    async def manage_replicas(self, key: str, rs: Obj, pods: list[Obj]) -> Exception | None:
        """Create or delete pods toward ``spec.replicas``; the first failure, if any."""
        diff = len(pods) - status.spec_replicas(rs)
        if diff < 0:
            return await self._create_pods(key, rs, min(-diff, self.burst_replicas))
        if diff > 0:
            return await self._delete_pods(key, rs, pods, min(diff, self.burst_replicas))
        return None

    async def _create_pods(self, key: str, rs: Obj, count: int) -> Exception | None:
        self.log.info("replicaset %s: too few replicas, creating %d", key, count)
        self.expectations.expect_creations(key, count)
        namespace = str(_md(rs).get("namespace"))

        async def create() -> None:
            body = pod_from_template(rs)
            if not body["metadata"].get("labels"):
                raise ValueError("unable to create pods, no labels")
            try:
                pod = await self.ctx.client.create(PODS, body, namespace)
            except Exception as exc:
                if isinstance(exc, errors.ApiError) and namespace_terminating(exc):
                    return  # the namespace is going away: nothing more to do
                self.recorder.event(rs, WARNING, status.FAILED_CREATE, f"Error creating: {exc}")
                raise
            self.recorder.event(
                rs, NORMAL, "SuccessfulCreate", f"Created pod: {_md(pod).get('name')}"
            )

        successes, failure = await slow_start_batch(count, create)
        for _ in range(count - successes):
            # never created: do not wait for them
            self.expectations.creation_observed(key)
        return failure

    async def _delete_pods(
        self, key: str, rs: Obj, pods: list[Obj], count: int
    ) -> Exception | None:
        self.log.info("replicaset %s: too many replicas, deleting %d", key, count)
        related = self._related_pods(rs)
        victims = ranking.pods_to_delete(pods, related, count, self.ctx.clock())
        self.expectations.expect_deletions(key, [podstate.pod_key(p) for p in victims])

        async def delete(pod: Mapping[str, Any]) -> Exception | None:
            md = _md(pod)
            name = str(md.get("name"))
            try:
                await self.ctx.client.delete(PODS, name, str(md.get("namespace")))
            except errors.ApiError as exc:
                self.expectations.deletion_observed(key, podstate.pod_key(pod))
                if isinstance(exc, errors.NotFound):
                    return None
                self.recorder.event(rs, WARNING, status.FAILED_DELETE, f"Error deleting: {exc}")
                return type(exc)(f"unable to delete pods: {exc}", exc.details)
            self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
            return None

        results = await asyncio.gather(*(delete(p) for p in victims))
        return next((r for r in results if r is not None), None)

    async def update_status(self, rs: Obj, new_status: dict[str, Any]) -> Obj:
        """``updateReplicaSetStatus``: write when changed, one retry after a conflict."""
        if not status.needs_update(rs, new_status):
            return rs
        new_status = {**new_status, "observedGeneration": _md(rs).get("generation") or 0}
        md = _md(rs)
        current: Obj = rs
        for attempt in range(STATUS_UPDATE_RETRIES + 1):
            try:
                return dict(
                    await self.ctx.client.replace(
                        REPLICASETS,
                        {**current, "status": new_status},
                        str(md.get("namespace")),
                        subresource="status",
                    )
                )
            except errors.Conflict:
                if attempt >= STATUS_UPDATE_RETRIES:
                    raise
                current = await self.ctx.client.get(
                    REPLICASETS, str(md.get("name")), str(md.get("namespace"))
                )
        return current


def _key(obj: Mapping[str, Any]) -> str:
    md = _md(obj)
    return f"{md.get('namespace')}/{md.get('name')}"
