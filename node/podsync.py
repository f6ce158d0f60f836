"""The pod sync loop: every pod bound to this agent's nodes, converged by the runtime.

One agent process may serve a thousand hollow nodes, so nothing here is per node:

* **One informer.** All pods bound to any node (``spec.nodeName!=``) come from one
  list+watch; handlers keep only pods whose node is ours and enqueue their uid.
* **Keyed by uid.** The work queue holds pod uids, not names: a pod deleted and
  recreated under the same name is a new pod, and the old one's cleanup (runtime
  removal, IP release) still runs. A key is never synced by two workers at once.
* **Level-triggered.** A sync reads the pod from the cache and does whatever is due:
  run it and report status, or, once it carries a ``deletionTimestamp``, stop its
  containers within the grace period and confirm the deletion with
  ``gracePeriodSeconds=0`` and a uid precondition, as the kubelet does. Container
  stops run in their own tasks so a long grace period does not hold a worker.
* **Writes only on change.** Status goes to ``pods/status`` as a strategic-merge
  patch of the fields that changed (:func:`node.podstatus.status_patch`); the number
  of workers caps concurrent writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kctl.api import errors
from kctl.api.meta import now_rfc3339
from kctl.client.http import ConnectionFailed
from kctl.client.informer import BY_NODE_NAME, Informer, index_by_node_name, object_key
from kctl.client.resources import PODS
from kctl.client.workqueue import RateLimitingQueue, ShutDown
from node.apilimit import ApiCalls
from node.podstatus import TERMINAL_PHASES, compute_status, status_patch
from node.runtime.base import Pod, PodRuntimeStatus, Runtime, RuntimeFailure

log = logging.getLogger(__name__)

FIELD_SELECTOR = "spec.nodeName!="  # every bound pod: one watch for all our nodes


@dataclass
class NodeRuntime:
    """What the pod sync needs of one node: its name, host address and runtime."""

    name: str
    host_ip: str
    runtime: Runtime


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _node_name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


class PodSyncer:
    """Runs the pods bound to ``nodes`` through their runtimes and reports their status."""

    def __init__(
        self,
        client: ApiCalls,
        informer: Informer,
        nodes: Mapping[str, NodeRuntime],
        *,
        workers: int = 32,
        clock: Callable[[], str] = now_rfc3339,
    ) -> None:
        self.client = client
        self.informer = informer
        self.nodes = nodes
        self.workers = workers
        self.clock = clock
        self.queue: RateLimitingQueue[str] = RateLimitingQueue()
        self._keys: dict[str, str] = {}  # uid -> informer key of the pod
        self._node_of: dict[str, str] = {}  # uid -> node name
        self._terminating: dict[str, asyncio.Task[None]] = {}
        self._killed: dict[str, PodRuntimeStatus] = {}
        self._deleted: set[str] = set()  # final DELETE sent; waiting for the watch to say so
        self._finished: set[str] = set()  # terminal pods whose sandbox is already stopped
        informer.add_indexers({BY_NODE_NAME: index_by_node_name})
        informer.add_handler(
            on_add=self._on_pod, on_update=self._on_update, on_delete=self._on_delete
        )

    # --- event handlers: cheap, enqueue only ----------------------------------------------

    def _on_pod(self, pod: Pod) -> None:
        node = _node_name(pod)
        if node not in self.nodes:
            return
        uid = _uid(pod)
        self._keys[uid] = object_key(pod)
        self._node_of[uid] = node
        self.queue.add(uid)

    def _on_update(self, old: Pod, new: Pod) -> None:
        self._on_pod(new)

    def poke(self, uid: str) -> None:
        """Sync a pod again: its runtime saw a change (a container exited, a probe)."""
        if uid in self._node_of:
            self.queue.add(uid)

    def _on_delete(self, pod: Pod) -> None:
        uid = _uid(pod)
        if uid in self._node_of:
            self.queue.add(uid)

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Sync pods until cancelled (the informer must be running)."""
        await self.informer.wait_synced()
        await self._remove_orphans()
        tasks = [
            asyncio.create_task(self._worker(), name=f"podsync-{i}") for i in range(self.workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shutdown()
            for task in (*tasks, *self._terminating.values()):
                task.cancel()
            await asyncio.gather(*tasks, *self._terminating.values(), return_exceptions=True)

    async def _remove_orphans(self) -> None:
        """Drop what a runtime still holds for pods deleted while the agent was away."""
        live = {_uid(p) for p in self.informer.store.list()}
        for node in self.nodes.values():
            for held in await node.runtime.list_pods():
                if held.uid not in live:
                    await node.runtime.remove_pod(held.uid)

    async def _worker(self) -> None:
        while True:
            try:
                uid = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.sync(uid)
            except asyncio.CancelledError:
                raise
            except errors.Conflict:
                self.queue.add_rate_limited(uid)
            except (ConnectionFailed, errors.ApiError, RuntimeFailure) as exc:
                log.warning("pod %s: %s; retrying", self._keys.get(uid, uid), exc)
                self.queue.add_rate_limited(uid)
            except Exception:
                log.exception("pod %s: sync failed", self._keys.get(uid, uid))
                self.queue.add_rate_limited(uid)
            else:
                self.queue.forget(uid)
            finally:
                self.queue.done(uid)

    # --- one pod -----------------------------------------------------------------------------

    def _cached(self, uid: str) -> Pod | None:
        key = self._keys.get(uid)
        pod = self.informer.store.get(key) if key is not None else None
        if pod is None or _uid(pod) != uid or _node_name(pod) != self._node_of.get(uid):
            return None
        return pod

    async def sync(self, uid: str) -> None:
        node_name = self._node_of.get(uid)
        node = self.nodes.get(node_name or "")
        if node is None:
            return
        pod = self._cached(uid)
        if pod is None:
            await self._forget(uid, node)
            return
        metadata = pod.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            await self._sync_terminating(uid, pod, node)
            return
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            # Finished: stop the sandbox (its IP goes back) but keep the dead containers and
            # their logs until the pod is deleted, as the kubelet does (`kubectl logs` of a
            # completed Job's pod).
            if uid not in self._finished:
                await node.runtime.kill_pod(pod, 0)
                self._finished.add(uid)
            return
        observed = await node.runtime.sync_pod(pod)
        await self._write_status(
            pod, compute_status(pod, observed, host_ip=node.host_ip, now=self.clock())
        )
        if observed.resync_after is not None:
            self.queue.add_after(uid, observed.resync_after)

    async def _sync_terminating(self, uid: str, pod: Pod, node: NodeRuntime) -> None:
        killed = self._killed.get(uid)
        if killed is None:
            if uid not in self._terminating:
                grace = float((pod.get("metadata") or {}).get("deletionGracePeriodSeconds") or 0)
                self._terminating[uid] = asyncio.create_task(
                    self._terminate(uid, pod, node, grace), name=f"terminate-{uid}"
                )
            return
        if uid in self._deleted:
            return
        status = compute_status(pod, killed, host_ip=node.host_ip, now=self.clock(), terminal=True)
        await self._write_status(pod, status)
        metadata = pod.get("metadata") or {}
        try:
            await self.client.delete(
                PODS,
                str(metadata.get("name")),
                str(metadata.get("namespace")),
                grace_period_seconds=0,
                preconditions={"uid": uid},
            )
        except (errors.NotFound, errors.Conflict):
            pass  # already gone, or the name now belongs to another pod
        self._deleted.add(uid)
        log.debug("pod %s: deleted", object_key(pod))

    async def _terminate(self, uid: str, pod: Pod, node: NodeRuntime, grace: float) -> None:
        try:
            self._killed[uid] = await node.runtime.kill_pod(pod, grace)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s: stopping its containers failed", object_key(pod))
            self._terminating.pop(uid, None)
            self.queue.add_rate_limited(uid)
            return
        self._terminating.pop(uid, None)
        self.queue.add(uid)

    async def _forget(self, uid: str, node: NodeRuntime) -> None:
        task = self._terminating.pop(uid, None)
        if task is not None:
            task.cancel()
        await node.runtime.remove_pod(uid)
        self._killed.pop(uid, None)
        self._deleted.discard(uid)
        self._finished.discard(uid)
        self._keys.pop(uid, None)
        self._node_of.pop(uid, None)

    async def _write_status(self, pod: Pod, status: dict[str, Any]) -> None:
        patch = status_patch(pod, status)
        if patch is None:
            return
        metadata = pod.get("metadata") or {}
        try:
            await self.client.patch(
                PODS,
                str(metadata.get("name")),
                patch,
                str(metadata.get("namespace")),
                patch_type="strategic",
                subresource="status",
            )
        except errors.NotFound:
            return  # deleted meanwhile: the delete event cleans up
