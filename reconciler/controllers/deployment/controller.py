"""The Deployment controller: roll a Deployment's pod template out through ReplicaSets.

It is kube-controller-manager's ``DeploymentController`` on kctl's shared informers:

* **Events enqueue Deployments.** Deployment events enqueue themselves; a ReplicaSet
  event enqueues its controlling Deployment (resolved by uid) or, for an orphan, every
  Deployment of its namespace whose selector matches it (a candidate for adoption); a
  pod deletion enqueues the Recreate Deployment above the pod's ReplicaSet, which may
  have been waiting for its old pods to go.
* **A sync converges one Deployment** (``syncDeployment``): claim its ReplicaSets
  (adopt matching orphans, release owned ones that stopped matching); a Deployment
  being deleted only gets its status; the paused condition is kept; a paused
  Deployment or a scaling event is scaled proportionally; otherwise the strategy
  (:mod:`.rolling` or :mod:`.recreate`) takes one step and writes the status last.
* **Deadlines.** When the status is unchanged and the rollout is incomplete, the key is
  requeued for the moment its progress deadline runs out.

Options (``--controller-option``): ``deployment.workers`` (5, like
``--concurrent-deployment-syncs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kctl.api import errors
from kctl.api.meta import controller_of
from kctl.api.selectors import LabelSelector, from_label_selector
from kctl.client.events import WARNING
from kctl.client.informer import BY_NAMESPACE, BY_OWNER_UID, index_by_owner_uid
from kctl.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers import ownership
from reconciler.controllers.deployment.fenceposts import RECREATE, ROLLING_UPDATE, strategy_type
from reconciler.controllers.deployment.recreate import rollout_recreate
from reconciler.controllers.deployment.rolling import rollout_rolling
from reconciler.controllers.deployment.sync import SyncRun

COMPONENT = "deployment-controller"
DEFAULT_WORKERS = 5

Obj = dict[str, Any]


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _key(obj: Mapping[str, Any]) -> str:
    md = _md(obj)
    return f"{md.get('namespace')}/{md.get('name')}"


def selector_of(d: Mapping[str, Any]) -> LabelSelector | None:
    """The Deployment's parsed selector; None when invalid (validation prevents it)."""
    try:
        return from_label_selector((d.get("spec") or {}).get("selector"))
    except errors.BadRequest:
        return None


class DeploymentController(QueueController):
    name = "deployment"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = ctx.int_option("deployment.workers", DEFAULT_WORKERS)
        self.recorder = ctx.recorder(COMPONENT)
        self.deployments = ctx.informers.informer(DEPLOYMENTS)
        self.replicasets = ctx.informers.informer(
            REPLICASETS,
            indexers={
                BY_OWNER_UID: index_by_owner_uid,
                ownership.ORPHANS_BY_NAMESPACE: ownership.index_orphans_by_namespace,
            },
        )
        self.pods = ctx.informers.informer(PODS, indexers={BY_OWNER_UID: index_by_owner_uid})
        self.deployments.add_handler(
            self.enqueue, lambda _old, cur: self.enqueue(cur), self.enqueue
        )
        self.replicasets.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)

    # --- lookups ----------------------------------------------------------------------

    def _resolve(self, namespace: str, ref: Mapping[str, Any]) -> Obj | None:
        """The cached Deployment a controller reference names, if it is that one."""
        if ref.get("kind") != DEPLOYMENTS.kind:
            return None
        d = self.deployments.store.get(f"{namespace}/{ref.get('name')}")
        if d is None or _md(d).get("uid") != ref.get("uid"):
            return None
        return d

    def _deployments_for_rs(self, rs: Mapping[str, Any]) -> list[Obj]:
        """``GetDeploymentsForReplicaSet``: Deployments whose non-empty selector
        matches the ReplicaSet's labels."""
        md = _md(rs)
        labels = md.get("labels") or {}
        found = []
        for d in self.deployments.store.by_index(BY_NAMESPACE, str(md.get("namespace") or "")):
            selector = selector_of(d)
            if selector is not None and not selector.empty and selector.matches(labels):
                found.append(d)
        return found

    def _pod_map(self, rss: list[Obj], selector: LabelSelector) -> dict[str, list[Obj]]:
        """``getPodMapForDeployment``: ReplicaSet uid -> the selected pods it controls
        (terminal pods included: Recreate must see them)."""
        pod_map: dict[str, list[Obj]] = {}
        for rs in rss:
            uid = str(_md(rs).get("uid") or "")
            pod_map[uid] = [
                pod
                for pod in self.pods.store.by_index(BY_OWNER_UID, uid)
                if (controller_of(pod) or {}).get("uid") == uid
                and selector.matches(_md(pod).get("labels") or {})
            ]
        return pod_map

    # --- event handlers (cheap: enqueue) ----------------------------------------------

    def _rs_added(self, rs: Obj) -> None:
        if _md(rs).get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            d = self._resolve(str(_md(rs).get("namespace")), ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._deployments_for_rs(rs):
            self.enqueue(d)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if _md(old).get("resourceVersion") == _md(cur).get("resourceVersion"):
            return
        namespace = str(_md(cur).get("namespace"))
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        ref_changed = cur_ref != old_ref
        if ref_changed and old_ref is not None:
            previous = self._resolve(namespace, old_ref)
            if previous is not None:
                self.enqueue(previous)
        if cur_ref is not None:
            d = self._resolve(namespace, cur_ref)
            if d is not None:
                self.enqueue(d)
            return
        if ref_changed or _md(old).get("labels") != _md(cur).get("labels"):
            for d in self._deployments_for_rs(cur):
                self.enqueue(d)

    def _rs_deleted(self, rs: Obj) -> None:
        ref = controller_of(rs)
        if ref is None:
            return
        d = self._resolve(str(_md(rs).get("namespace")), ref)
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, pod: Obj) -> None:
        """A Recreate Deployment may be waiting for this pod to go."""
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != REPLICASETS.kind:
            return
        namespace = str(_md(pod).get("namespace"))
        rs = self.replicasets.store.get(f"{namespace}/{ref.get('name')}")
        if rs is None or _md(rs).get("uid") != ref.get("uid"):
            return
        rs_ref = controller_of(rs)
        d = self._resolve(namespace, rs_ref) if rs_ref is not None else None
        if d is not None and strategy_type(d) == RECREATE:
            self.enqueue(d)

    # --- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deployments.store.get(key)
        if cached is None:
            return
        spec = cached.get("spec") or {}
        if spec.get("selector") == {}:
            await self._selecting_all(cached)
            return
        selector = selector_of(cached)
        if selector is None:
            return
        candidates = ownership.claim_candidates(self.replicasets.store, cached, BY_OWNER_UID)
        manager = ownership.ControllerRefManager(
            self.ctx.client, cached, DEPLOYMENTS, REPLICASETS, selector
        )
        rs_list = await manager.claim(candidates)
        run = SyncRun(
            self.ctx.client,
            self.recorder,
            cached,
            rs_list,
            self.ctx.clock(),
            self.replicasets.store.get,
        )
        await self._converge(run, lambda: self._pod_map(rs_list, selector))
        if run.requeue_after is not None:
            if run.requeue_after <= 0:
                self.queue.add_rate_limited(key)
            else:
                self.enqueue_after(key, run.requeue_after)

    async def _converge(self, run: SyncRun, pod_map: Callable[[], dict[str, list[Obj]]]) -> None:
        """One step of the rollout; ``pod_map`` is built only for Recreate, the one
        strategy that looks at pods (walking every pod of a large Deployment on each
        sync would cost a RollingUpdate for nothing)."""
        d = run.d
        if _md(d).get("deletionTimestamp"):
            await run.sync_status_only()
            return
        await run.check_paused_conditions()
        if (d.get("spec") or {}).get("paused") or await run.is_scaling_event():
            await run.sync_scale()
            return
        kind = strategy_type(d)
        if kind == RECREATE:
            await rollout_recreate(run, pod_map())
        elif kind == ROLLING_UPDATE:
            await rollout_rolling(run)
        else:
            raise ValueError(f"unexpected deployment strategy type: {kind}")

    async def _selecting_all(self, d: Obj) -> None:
        """A Deployment selecting every pod is never acted on (validation should have
        refused it): one warning, and its generation marked as observed."""
        self.recorder.event(
            d,
            WARNING,
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
        generation = int(_md(d).get("generation") or 0)
        status = d.get("status") or {}
        if int(status.get("observedGeneration") or 0) < generation:
            body = {**d, "status": {**status, "observedGeneration": generation}}
            await self.ctx.client.replace(
                DEPLOYMENTS, body, str(_md(d).get("namespace")), subresource="status"
            )
