"""The Endpoints controller: one Endpoints object per Service with a selector.

kube-controller-manager's endpoints controller on kctl's informers. Services are the
unit of work: a Service event enqueues it; a pod event enqueues every Service whose
selector matches the pod (before and after a label change) when something an
Endpoints shows changed -- readiness, IPs, deletion, labels, hostname. Readiness thus
reaches the Endpoints as fast as the watch delivers it, with no polling.

A sync reads the Service and its pods from the caches, builds the subsets
(:mod:`.subsets`) and writes the Endpoints only when subsets, labels or the capacity
annotation differ from the cached object. A deleted Service takes its Endpoints with
it; a Service without selector is left alone (its Endpoints are the user's); on start
every cached Endpoints is looked at once, so Endpoints whose Service went away while
the controller was down are removed (leader-election records excepted).

Option (``--controller-option``): ``endpoint.workers`` (5, like
``--concurrent-endpoint-syncs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.api import errors
from kctl.api.selectors import LabelSelector, from_set
from kctl.client.events import WARNING
from kctl.client.informer import BY_NAMESPACE, object_key, split_key
from kctl.client.resources import ENDPOINTS, PODS, SERVICES
from reconciler.controller import ControllerContext, QueueController
from reconciler.controllers import podstate
from reconciler.controllers.endpoints import subsets as subsets_mod
from reconciler.controllers.endpoints.triggertime import (
    ANNOTATION as TRIGGER_TIME,
)
from reconciler.controllers.endpoints.triggertime import (
    TriggerTimeTracker,
    format_trigger_time,
)

COMPONENT = "endpoint-controller"
DEFAULT_WORKERS = 5
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
HEADLESS_LABEL = "service.kubernetes.io/headless"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"

Obj = dict[str, Any]


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _pod_ips(pod: Mapping[str, Any]) -> list[str]:
    status = pod.get("status") or {}
    return [str(e.get("ip")) for e in status.get("podIPs") or ()] + [str(status.get("podIP") or "")]


def pod_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[bool, bool]:
    """``podEndpointsChanged``: (the pod's endpoint changed, its membership may have)."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    labels_changed = (
        _md(old).get("labels") != _md(new).get("labels")
        or old_spec.get("hostname") != new_spec.get("hostname")
        or old_spec.get("subdomain") != new_spec.get("subdomain")
    )
    changed = (
        _md(old).get("deletionTimestamp") != _md(new).get("deletionTimestamp")
        or podstate.is_ready(old) != podstate.is_ready(new)
        or _pod_ips(old) != _pod_ips(new)
    )
    return changed, labels_changed


def has_selector(service: Mapping[str, Any]) -> bool:
    return bool((service.get("spec") or {}).get("selector"))


def service_ip_set(service: Mapping[str, Any]) -> bool:
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    return bool(cluster_ip) and cluster_ip != "None"


class EndpointsController(QueueController):
    name = "endpoints"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = ctx.int_option("endpoint.workers", DEFAULT_WORKERS)
        self.recorder = ctx.recorder(COMPONENT)
        self.tracker = TriggerTimeTracker()
        self._selectors: dict[str, tuple[Any, LabelSelector]] = {}
        self.services = ctx.informers.informer(SERVICES)
        self.pods = ctx.informers.informer(PODS)
        self.endpoints = ctx.informers.informer(ENDPOINTS)
        self.services.add_handler(self.enqueue, lambda _old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_added)
        self.endpoints.add_handler(on_delete=self.enqueue)

    async def run(self) -> None:
        await self.ctx.informers.wait_synced()
        for endpoints in self.endpoints.store.list():
            if LEADER_ANNOTATION not in (_md(endpoints).get("annotations") or {}):
                self.enqueue(endpoints)
        await super().run()

    # --- pod -> services ----------------------------------------------------------------

    def _selector(self, service: Mapping[str, Any]) -> LabelSelector:
        """The Service's selector, parsed once per resourceVersion."""
        key, version = object_key(service), _md(service).get("resourceVersion")
        cached = self._selectors.get(key)
        if cached is None or cached[0] != version:
            cached = (version, from_set((service.get("spec") or {}).get("selector")))
            self._selectors[key] = cached
        return cached[1]

    def memberships(self, pod: Mapping[str, Any]) -> set[str]:
        """``GetPodServiceMemberships``: keys of the Services selecting ``pod``."""
        md = _md(pod)
        labels = md.get("labels") or {}
        return {
            object_key(service)
            for service in self.services.store.by_index(
                BY_NAMESPACE, str(md.get("namespace") or "")
            )
            if has_selector(service) and self._selector(service).matches(labels)
        }

    def _pod_added(self, pod: Obj) -> None:
        for key in self.memberships(pod):
            self.enqueue(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        """``GetServicesToUpdateOnPodChange``."""
        if _md(old).get("resourceVersion") == _md(new).get("resourceVersion"):
            return
        changed, labels_changed = pod_changes(old, new)
        if not changed and not labels_changed:
            return
        keys = self.memberships(new)
        if labels_changed:
            old_keys = self.memberships(old)
            keys = keys | old_keys if changed else keys ^ old_keys
        for key in keys:
            self.enqueue(key)

    # --- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        ns = namespace or ""
        service = self.services.store.get(key)
        if service is None:
            self._selectors.pop(key, None)
            try:
                await self.ctx.client.delete(ENDPOINTS, name, ns)
                self.log.info("endpoints %s: deleted with its service", key)
            except errors.NotFound:
                pass
            self.tracker.delete(ns, name)
            return
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName" or not has_selector(service):
            return
        selector = self._selector(service)
        pods = [
            p
            for p in self.pods.store.by_index(BY_NAMESPACE, ns)
            if selector.matches(_md(p).get("labels") or {})
        ]
        trigger = self.tracker.compute(ns, service, pods)
        subsets = subsets_mod.build_subsets(service, pods)
        current = self.endpoints.store.get(key)
        labels = dict(_md(service).get("labels") or {})
        if current is not None and self._unchanged(current, subsets, labels):
            return
        body = self._desired(service, current, subsets, labels, trigger)
        try:
            if current is None:
                await self.ctx.client.create(ENDPOINTS, body, ns)
            else:
                await self.ctx.client.replace(ENDPOINTS, body, ns)
        except errors.ApiError as exc:
            if current is None and isinstance(exc, errors.Forbidden):
                causes = (exc.details or {}).get("causes") or ()
                if any(c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes):
                    return
            self.recorder.event(
                body,
                WARNING,
                "FailedToUpdateEndpoint",
                f"Failed to update endpoint {ns}/{name}: {exc}",
            )
            raise

    @staticmethod
    def _unchanged(current: Mapping[str, Any], subsets: list[Obj], labels: dict[str, str]) -> bool:
        current_labels = dict(_md(current).get("labels") or {})
        current_labels.pop(HEADLESS_LABEL, None)
        current_subsets = current.get("subsets") or []
        annotations = _md(current).get("annotations") or {}
        capacity_ok = (
            subsets_mod.address_count(current_subsets) <= subsets_mod.MAX_CAPACITY
            and OVER_CAPACITY not in annotations
        )
        return (
            subsets_mod.subsets_equal(current_subsets, subsets)
            and current_labels == labels
            and capacity_ok
        )

    @staticmethod
    def _desired(
        service: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        subsets: list[Obj],
        labels: dict[str, str],
        trigger: float | None,
    ) -> Obj:
        md = _md(service)
        metadata: dict[str, Any] = (
            dict(_md(current))
            if current is not None
            else {
                "name": md.get("name"),
                "namespace": md.get("namespace"),
            }
        )
        annotations = dict(metadata.get("annotations") or {})
        if trigger is not None:
            annotations[TRIGGER_TIME] = format_trigger_time(trigger)
        else:
            annotations.pop(TRIGGER_TIME, None)
        if subsets_mod.truncate(subsets):
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        if service_ip_set(service):
            labels.pop(HEADLESS_LABEL, None)
        else:
            labels[HEADLESS_LABEL] = ""
        metadata["labels"] = labels
        metadata["annotations"] = annotations
        metadata.pop("managedFields", None)
        body: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata}
        if subsets:
            body["subsets"] = subsets
        return body
