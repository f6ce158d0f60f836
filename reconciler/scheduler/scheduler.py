"""The scheduler: informer events in, placement decisions out, bindings in flight.

One coroutine runs scheduling cycles back to back: pop a pod, run the framework over
the cached cluster (synchronous, no awaits: the cache cannot change under a decision),
assume the pod on the chosen node, and hand the binding to a task. Up to
``bind_concurrency`` bindings (and unschedulable-status writes) are in flight; when all
slots are taken the loop waits, so a slow API server slows scheduling instead of piling
up work. A binding that fails forgets the assumption and sends the pod to backoff.

Informer handlers only update the cache and the queue (cheap, synchronous):

* pods: an unbound pod for this scheduler goes to the queue; a bound pod goes to the
  cache (confirming an assumption); a deleted pod leaves both and, if it held
  resources, wakes the unschedulable pods. Pods with another ``schedulerName``,
  terminal pods and pods being deleted are not scheduled.
* nodes: a new node, or a change to what scheduling reads (allocatable, labels,
  taints, unschedulable), wakes the unschedulable pods; heartbeats do not.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from kctl.api import errors
from kctl.client.http import AsyncClient, ConnectionFailed
from kctl.client.resources import PODS
from kctl.client.workqueue import ShutDown
from reconciler.scheduler import plugins
from reconciler.scheduler.cache import SchedulerCache
from reconciler.scheduler.config import SchedulerConfig
from reconciler.scheduler.framework import CycleState, Framework, ScheduleResult
from reconciler.scheduler.messages import fit_error_message
from reconciler.scheduler.podinfo import PodInfo, parse_pod
from reconciler.scheduler.queue import QueuedPod, SchedulingQueue

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]


class Recorder(Protocol):
    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...


def build_framework(config: SchedulerConfig, rng: random.Random | None = None) -> Framework:
    scores = [(p, config.weights.get(p.NAME, 0)) for p in plugins.SCORES]
    return Framework(plugins.FILTERS, scores, config.percentage_of_nodes_to_score, rng)


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Scheduler:
    def __init__(
        self,
        client: AsyncClient,
        recorder: Recorder,
        config: SchedulerConfig | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.config = config or SchedulerConfig()
        self.cache = SchedulerCache()
        queue_args: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.queue = SchedulingQueue(
            self.config.pod_initial_backoff_seconds,
            self.config.pod_max_backoff_seconds,
            self.config.max_unschedulable_seconds,
            **queue_args,
        )
        self.framework = build_framework(self.config, rng)
        self._slots = asyncio.Semaphore(self.config.bind_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.bound = 0
        self.failed = 0

    # --- informer handlers ----------------------------------------------------------------

    def _responsible(self, pod: PodInfo) -> bool:
        return (
            pod.scheduler_name == self.config.scheduler_name
            and not pod.deleting
            and not pod.terminal
        )

    def on_pod_add(self, obj: Obj) -> None:
        self._pod_seen(obj)

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        self._pod_seen(new)

    def _pod_seen(self, obj: Obj) -> None:
        key = _key(obj)
        spec = obj.get("spec") or {}
        if spec.get("nodeName"):
            self.queue.delete(key)
            pod = self._parse(obj)
            if pod is None:
                return
            if pod.terminal:
                if self.cache.remove_pod(key):
                    self.queue.move_all_to_active_or_backoff("AssignedPodDelete")
            else:
                self.cache.add_pod(pod)
            return
        if self.cache.is_assumed(key):
            return  # being bound; the binding's outcome decides
        pod = self._parse(obj)
        if pod is None:
            return
        if self._responsible(pod):
            self.queue.update(pod)
        else:
            self.queue.delete(key)

    def on_pod_delete(self, obj: Obj) -> None:
        key = _key(obj)
        self.queue.delete(key)
        if self.cache.remove_pod(key):
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")

    def on_node_add(self, obj: Obj) -> None:
        self.cache.set_node(obj)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def on_node_update(self, old: Obj, new: Obj) -> None:
        if self.cache.set_node(new):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")

    def on_node_delete(self, obj: Obj) -> None:
        self.cache.remove_node(str((obj.get("metadata") or {}).get("name") or ""))

    @staticmethod
    def _parse(obj: Obj) -> PodInfo | None:
        try:
            return parse_pod(obj)
        except (errors.ApiError, ValueError) as exc:  # a selector the API let through
            log.warning("cannot schedule pod %s: %s", _key(obj), exc)
            return None

    # --- the scheduling loop --------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                await self._slots.acquire()
                try:
                    qp = await self.queue.pop()
                except BaseException:
                    self._slots.release()
                    raise
                try:
                    self.schedule_one(qp)
                except Exception:
                    self._slots.release()
                    log.exception("scheduling %s failed", qp.key)
                    self.queue.add_backoff(qp)
                await asyncio.sleep(0)  # let informer events and binding answers in
        except ShutDown:
            return
        finally:
            await self.drain()

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def schedule_one(self, qp: QueuedPod) -> ScheduleResult:
        """One scheduling cycle; owns one concurrency slot, released by the task it
        starts (binding or status write) or before returning."""
        pod = qp.pod
        cycle = self.queue.scheduling_cycle
        result = self.framework.schedule(CycleState(pod, self.cache))
        if result.node is not None:
            self.cache.assume(pod, result.node)
            self._spawn(self._bind(qp, result.node))
            return result
        message = fit_error_message(result.evaluated, result.diagnosis, pod.preemption_policy)
        self.queue.add_unschedulable(qp, cycle)
        self.failed += 1
        self.recorder.event(pod.obj, "Warning", "FailedScheduling", message)
        self._spawn(self._mark_unschedulable(pod, message))
        return result

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler task failed", exc_info=task.exception())

    async def _bind(self, qp: QueuedPod, node: str) -> None:
        pod = qp.pod
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        try:
            await self.client.create(
                PODS, body, pod.namespace, name=pod.name, subresource="binding"
            )
        except errors.NotFound:
            self.cache.forget(pod.key)  # the pod is gone
        except (errors.ApiError, ConnectionFailed) as exc:
            self.cache.forget(pod.key)
            if isinstance(exc, errors.Conflict) and "already assigned" in str(exc):
                return  # bound elsewhere; the informer brings the truth
            log.info("binding %s to %s failed: %s", pod.key, node, exc)
            self.recorder.event(pod.obj, "Warning", "FailedScheduling", f"Binding rejected: {exc}")
            self.queue.add_backoff(qp)
        else:
            self.bound += 1
            self.recorder.event(
                pod.obj, "Normal", "Scheduled", f"Successfully assigned {pod.key} to {node}"
            )

    async def _mark_unschedulable(self, pod: PodInfo, message: str) -> None:
        """PodScheduled=False/Unschedulable through the status subresource (skipped when
        the pod already says exactly that)."""
        for cond in (pod.obj.get("status") or {}).get("conditions") or ():
            if (
                cond.get("type") == "PodScheduled"
                and cond.get("status") == "False"
                and cond.get("reason") == "Unschedulable"
                and cond.get("message") == message
            ):
                return
        patch = {
            "status": {
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "lastProbeTime": None,
                        "lastTransitionTime": _now_rfc3339(),
                        "reason": "Unschedulable",
                        "message": message,
                    }
                ]
            }
        }
        try:
            await self.client.patch(
                PODS, pod.name, patch, pod.namespace, patch_type="strategic", subresource="status"
            )
        except (errors.ApiError, ConnectionFailed) as exc:
            log.info("could not update the status of pod %s: %s", pod.key, exc)


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"
