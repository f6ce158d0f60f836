"""One sync of one Deployment: the API writes of the deployment controller.

:class:`SyncRun` holds what a sync works on -- a private copy of the Deployment (its
status and revision annotation are edited, then written), the ReplicaSets it owns,
and the newest version of each ReplicaSet this sync has written -- and performs the
writes that the pure planners (:mod:`.rolling`, :mod:`.recreate`, :mod:`.proportional`,
:mod:`.history`) ask for, as ``sync.go`` and ``progress.go`` do:

* finding or creating the new ReplicaSet and keeping the revision annotations in step
  (``getNewReplicaSet``), hash collisions included (``status.collisionCount`` + 1);
* resizing ReplicaSets with an update carrying their resourceVersion (a stale cache
  gets a 409 and the key is retried), recording ``ScalingReplicaSet`` events;
* writing the status last through the status subresource, and asking for a requeue
  when the progress deadline must be checked later.

The Deployment's revision annotation is metadata, which kctl's status subresource does
not write (Kubernetes' Deployment status strategy does): it goes in a merge patch
pinned to the Deployment's resourceVersion just before the status write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kctl.api import errors
from kctl.api.meta import controller_of, controller_ref
from kctl.client.events import NORMAL, WARNING, AsyncEventRecorder
from kctl.client.http import AsyncClient
from kctl.client.resources import DEPLOYMENTS, REPLICASETS
from reconciler.controllers.deployment import conditions as cond
from reconciler.controllers.deployment import history, proportional
from reconciler.controllers.deployment import replicasets as rsutil
from reconciler.controllers.deployment import rs_annotations as ann
from reconciler.controllers.deployment import status as st
from reconciler.controllers.deployment.fenceposts import max_surge
from reconciler.controllers.deployment.hashing import HASH_LABEL, compute_hash, equal_ignore_hash
from reconciler.controllers.deployment.rolling import new_rs_new_replicas
from reconciler.controllers.deployment.steps import Scale

Obj = Mapping[str, Any]
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"
SCALING_REPLICA_SET = "ScalingReplicaSet"


def find_new_replica_set(d: Obj, rss: Sequence[Obj]) -> Obj | None:
    """``FindNewReplicaSet``: the oldest ReplicaSet whose template is the Deployment's."""
    template = (d.get("spec") or {}).get("template")
    for rs in rsutil.by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def _annotations(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _with_annotations(obj: Obj, annotations: Mapping[str, str]) -> dict[str, Any]:
    return {**obj, "metadata": {**(obj.get("metadata") or {}), "annotations": dict(annotations)}}


def _namespace_terminating(exc: errors.ApiError) -> bool:
    causes = (exc.details or {}).get("causes") or ()
    return any(c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes)


def new_replica_set_body(d: Obj, collision_count: int | None) -> dict[str, Any]:
    """The ReplicaSet ``getNewReplicaSet`` creates (replicas and annotations unset):
    named ``<deployment>-<hash>``, the hash label added to its labels, selector and
    template, controlled by the Deployment."""
    spec = d.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    pod_hash = compute_hash(template, collision_count)
    template_md = template.setdefault("metadata", {})
    labels = {**(template_md.get("labels") or {}), HASH_LABEL: pod_hash}
    template_md["labels"] = labels
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    md = d.get("metadata") or {}
    rs_spec: dict[str, Any] = {"replicas": 0, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    return {
        "apiVersion": REPLICASETS.api_version,
        "kind": REPLICASETS.kind,
        "metadata": {
            "name": f"{md.get('name')}-{pod_hash}",
            "namespace": md.get("namespace"),
            "ownerReferences": [controller_ref(dict(d))],
            "labels": dict(labels),
        },
        "spec": rs_spec,
    }


class SyncRun:
    """The state and the writes of one sync of one Deployment."""

    def __init__(
        self,
        client: AsyncClient,
        recorder: AsyncEventRecorder,
        deployment: Obj,
        replica_sets: Sequence[Obj],
        now: float,
        cached_rs: Callable[[str], Obj | None],
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.d: dict[str, Any] = copy.deepcopy(dict(deployment))
        self.rs_list: list[Obj] = list(replica_sets)
        self.now = now
        self.cached_rs = cached_rs
        self.requeue_after: float | None = None
        self._stored_revision = _annotations(self.d).get(rsutil.REVISION)

    # --- bookkeeping ------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        return str((self.d.get("metadata") or {}).get("namespace") or "")

    def latest(self, rs: Obj) -> Obj:
        uid = rsutil.uid_of(rs)
        return next((r for r in self.rs_list if rsutil.uid_of(r) == uid), rs)

    def _remember(self, rs: Obj) -> None:
        uid = rsutil.uid_of(rs)
        self.rs_list = [rs if rsutil.uid_of(r) == uid else r for r in self.rs_list]
        if not any(rsutil.uid_of(r) == uid for r in self.rs_list):
            self.rs_list.append(rs)

    def _event(self, kind: str, reason: str, message: str) -> None:
        self.recorder.event(self.d, kind, reason, message)

    # --- the Deployment ---------------------------------------------------------------

    def set_revision(self, revision: str) -> bool:
        """``SetDeploymentRevision`` on the private copy."""
        md = self.d.setdefault("metadata", {})
        annotations = md.setdefault("annotations", {})
        if annotations.get(rsutil.REVISION) == revision:
            return False
        annotations[rsutil.REVISION] = revision
        return True

    async def update_status(self) -> None:
        """Write the private copy: the revision annotation if it changed, then status."""
        md = self.d["metadata"]
        revision = (md.get("annotations") or {}).get(rsutil.REVISION)
        if revision is not None and revision != self._stored_revision:
            patch = {
                "metadata": {
                    "resourceVersion": md.get("resourceVersion"),
                    "annotations": {rsutil.REVISION: revision},
                }
            }
            written = await self.client.patch(
                DEPLOYMENTS, str(md.get("name")), patch, self.namespace
            )
            md["resourceVersion"] = written["metadata"]["resourceVersion"]
            self._stored_revision = revision
        written = await self.client.replace(
            DEPLOYMENTS, self.d, self.namespace, subresource="status"
        )
        md["resourceVersion"] = written["metadata"]["resourceVersion"]

    async def check_paused_conditions(self) -> None:
        """``checkPausedConditions``: a Progressing condition of Unknown status while
        paused (and on resume), so the time spent paused never counts as no progress."""
        if not cond.has_progress_deadline(self.d):
            return
        status = self.d.setdefault("status", {})
        current = cond.get_condition(status, cond.PROGRESSING)
        if current is not None and current.get("reason") == cond.TIMED_OUT_REASON:
            return
        paused_cond = current is not None and current.get("reason") == cond.PAUSED_REASON
        paused = bool((self.d.get("spec") or {}).get("paused"))
        if paused and not paused_cond:
            condition = cond.new_condition(
                cond.PROGRESSING, "Unknown", cond.PAUSED_REASON, "Deployment is paused", self.now
            )
        elif not paused and paused_cond:
            condition = cond.new_condition(
                cond.PROGRESSING, "Unknown", cond.RESUMED_REASON, "Deployment is resumed", self.now
            )
        else:
            return
        cond.set_condition(status, condition)
        await self.update_status()

    async def _write_status(self, new_status: dict[str, Any]) -> None:
        self.d["status"] = new_status
        await self.update_status()

    async def sync_deployment_status(
        self, all_rss: Sequence[Obj | None], new_rs: Obj | None
    ) -> None:
        """``syncDeploymentStatus``: counts and Available, written when changed."""
        new_status = st.calculate_status(all_rss, new_rs, self.d, self.now)
        if not st.status_equal(self.d.get("status") or {}, new_status):
            await self._write_status(new_status)

    async def sync_rollout_status(self, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        """``syncRolloutStatus``: also the Progressing condition and the deadline."""
        new_status = st.rollout_status(all_rss, new_rs, self.d, self.now)
        if st.status_equal(self.d.get("status") or {}, new_status):
            self.requeue_after = st.progress_check_in(self.d, new_status, self.now)
            return
        await self._write_status(new_status)

    # --- ReplicaSets ------------------------------------------------------------------

    async def get_all_replica_sets_and_sync_revision(
        self, create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: (new ReplicaSet or None, all old ones)."""
        existing = find_new_replica_set(self.d, self.rs_list)
        old_rss = [
            rs
            for rs in self.rs_list
            if existing is None or rsutil.uid_of(rs) != rsutil.uid_of(existing)
        ]
        new_rs = await self._get_new_replica_set(existing, old_rss, create)
        return new_rs, old_rss

    def _replicas_bounds(self) -> tuple[int, int]:
        replicas = rsutil.spec_replicas(self.d)
        return replicas, replicas + max_surge(self.d)

    async def _get_new_replica_set(
        self, existing: Obj | None, old_rss: list[Obj], create: bool
    ) -> Obj | None:
        new_revision = rsutil.max_revision(old_rss) + 1
        d_annotations = _annotations(self.d)
        desired, maximum = self._replicas_bounds()
        if existing is not None:
            annotations = _annotations(existing)
            changed = ann.set_new_rs_annotations(
                d_annotations, annotations, new_revision, True, desired, maximum
            )
            min_ready = int((self.d.get("spec") or {}).get("minReadySeconds") or 0)
            if (
                changed
                or int((existing.get("spec") or {}).get("minReadySeconds") or 0) != min_ready
            ):
                body = _with_annotations(existing, annotations)
                spec = {
                    k: v for k, v in (existing.get("spec") or {}).items() if k != "minReadySeconds"
                }
                if min_ready:
                    spec["minReadySeconds"] = min_ready
                updated = await self.client.replace(
                    REPLICASETS, {**body, "spec": spec}, self.namespace
                )
                self._remember(updated)
                return updated
            needs_update = self.set_revision(annotations.get(rsutil.REVISION, ""))
            status = self.d.setdefault("status", {})
            if (
                cond.has_progress_deadline(self.d)
                and cond.get_condition(status, cond.PROGRESSING) is None
            ):
                message = f'Found new replica set "{rsutil.name_of(existing)}"'
                cond.set_condition(
                    status,
                    cond.new_condition(
                        cond.PROGRESSING, "True", cond.FOUND_NEW_RS_REASON, message, self.now
                    ),
                )
                needs_update = True
            if needs_update:
                await self.update_status()
            return existing
        if not create:
            return None
        return await self._create_new_replica_set(old_rss, new_revision, d_annotations)

    async def _create_new_replica_set(
        self, old_rss: list[Obj], new_revision: int, d_annotations: Mapping[str, str]
    ) -> Obj:
        status = self.d.setdefault("status", {})
        body = new_replica_set_body(self.d, status.get("collisionCount"))
        replicas = new_rs_new_replicas(self.d, [*old_rss, body], body)
        body["spec"]["replicas"] = replicas
        annotations: dict[str, str] = {}
        desired, maximum = self._replicas_bounds()
        ann.set_new_rs_annotations(
            d_annotations, annotations, new_revision, False, desired, maximum
        )
        body["metadata"]["annotations"] = annotations
        name = body["metadata"]["name"]
        already_exists = False
        try:
            created: Obj = await self.client.create(REPLICASETS, body, self.namespace)
        except errors.AlreadyExists:
            found = self.cached_rs(f"{self.namespace}/{name}")
            if found is None:
                raise
            ref = controller_of(dict(found)) or {}
            template = (self.d.get("spec") or {}).get("template")
            if ref.get("uid") != rsutil.uid_of(self.d) or not equal_ignore_hash(
                template, (found.get("spec") or {}).get("template")
            ):
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                await self.update_status()
                raise
            created, already_exists = found, True
        except errors.ApiError as exc:
            if _namespace_terminating(exc):
                raise
            message = f'Failed to create new replica set "{name}": {exc}'
            if cond.has_progress_deadline(self.d):
                cond.set_condition(
                    status,
                    cond.new_condition(
                        cond.PROGRESSING, "False", cond.FAILED_RS_CREATE_REASON, message, self.now
                    ),
                )
                try:
                    await self.update_status()
                except errors.ApiError:
                    pass  # the creation failure is the error to report
            self._event(WARNING, cond.FAILED_RS_CREATE_REASON, message)
            raise
        self._remember(created)
        if not already_exists and replicas > 0:
            self._event(
                NORMAL, SCALING_REPLICA_SET, f"Scaled up replica set {name} from 0 to {replicas}"
            )
        needs_update = self.set_revision(str(new_revision))
        if not already_exists and cond.has_progress_deadline(self.d):
            message = f'Created new replica set "{name}"'
            cond.set_condition(
                status,
                cond.new_condition(cond.PROGRESSING, "True", cond.NEW_RS_REASON, message, self.now),
            )
            needs_update = True
        if needs_update:
            await self.update_status()
        return created

    async def scale(self, step: Scale) -> bool:
        """``scaleReplicaSet``/``scaleReplicaSetAndRecordEvent``: True when resized."""
        rs = self.latest(step.rs)
        current = rsutil.spec_replicas(rs)
        resize = current != step.to
        if not resize and not step.refresh:
            return False
        desired, maximum = self._replicas_bounds()
        annotations = _annotations(rs)
        if not resize and not ann.replicas_annotations_need_update(annotations, desired, maximum):
            return False
        ann.set_replicas_annotations(annotations, desired, maximum)
        body = _with_annotations(rs, annotations)
        body["spec"] = {**(rs.get("spec") or {}), "replicas": step.to}
        updated = await self.client.replace(REPLICASETS, body, self.namespace)
        self._remember(updated)
        if resize:
            direction = "up" if current < step.to else "down"
            self._event(
                NORMAL,
                SCALING_REPLICA_SET,
                f"Scaled {direction} replica set {rsutil.name_of(rs)} from {current} to {step.to}",
            )
        return resize

    async def apply(self, steps: Sequence[Scale]) -> bool:
        """Apply ``steps`` in order (the first failure raises); True if any resized."""
        scaled = False
        for step in steps:
            scaled = await self.scale(step) or scaled
        return scaled

    async def cleanup_deployment(self, old_rss: Sequence[Obj]) -> None:
        """``cleanupDeployment``: delete old ReplicaSets beyond revisionHistoryLimit."""
        for rs in history.replica_sets_to_delete(self.d, [self.latest(rs) for rs in old_rss]):
            try:
                await self.client.delete(REPLICASETS, rsutil.name_of(rs), self.namespace)
            except errors.NotFound:
                continue

    # --- the non-rollout paths --------------------------------------------------------

    async def is_scaling_event(self) -> bool:
        """``isScalingEvent``."""
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(create=False)
        return proportional.is_scaling_event(self.d, [*old_rss, new_rs])

    async def sync_scale(self) -> None:
        """``sync``: proportional scaling (and history cleanup while paused)."""
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(create=False)
        await self.apply(proportional.proportional_steps(self.d, new_rs, old_rss))
        if (self.d.get("spec") or {}).get("paused"):
            await self.cleanup_deployment(old_rss)
        await self.sync_deployment_status([*old_rss, new_rs], new_rs)

    async def sync_status_only(self) -> None:
        """``syncStatusOnly``: a Deployment being deleted only reports."""
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(create=False)
        await self.sync_deployment_status([*old_rss, new_rs], new_rs)
