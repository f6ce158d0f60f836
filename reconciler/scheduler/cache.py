"""The scheduler's view of where pods run, including pods it has only decided to place.

Binding goes over the network and many bindings are in flight at once, so the informer
learns about a placement tens of milliseconds after the decision. If the next pod were
scheduled against the informer's view, every in-flight pod would be invisible and the
node would be overcommitted. As kube-scheduler's cache does, a decision is *assumed*:
the pod counts on its node at once; when the informer shows the pod bound, the
assumption is *confirmed* (moved to the node the API says, if another binder won);
when the binding fails, it is *forgotten* and the node's sums drop back.

Besides the node columns' requested sums, the cache keeps what the pod-to-pod plugins
ask about, indexed so a query costs the number of matching pods, not all pods:
pods by (namespace, label, value), pods by node, pods with required anti-affinity
(the incoming pod must respect theirs), and host ports in use per node.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from kctl.api.selectors import EQUALS, IN, LabelSelector
from reconciler.scheduler.nodetable import NodeTable
from reconciler.scheduler.podinfo import PodInfo


class SchedulerCache:
    def __init__(self, nodes: NodeTable | None = None) -> None:
        self.nodes = nodes or NodeTable()
        self.pods: dict[str, tuple[PodInfo, str]] = {}  # key -> (pod, node name)
        self.assumed: set[str] = set()
        self.by_node: dict[str, dict[str, PodInfo]] = defaultdict(dict)
        self._by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self._by_namespace: dict[str, set[str]] = defaultdict(set)
        self.with_anti_affinity: dict[str, PodInfo] = {}
        # (protocol, port) -> node name -> host IPs (one entry per using container port)
        self.ports: dict[tuple[str, int], dict[str, list[str]]] = defaultdict(dict)

    def __len__(self) -> int:
        return len(self.pods)

    # --- nodes --------------------------------------------------------------------------

    def set_node(self, obj: Mapping[str, Any]) -> bool:
        """Add or update a node; True when a scheduling-relevant field changed."""
        name = str((obj.get("metadata") or {}).get("name") or "")
        fresh = name not in self.nodes.slot_of
        slot, changed = self.nodes.set_node(obj)
        if fresh:  # pods may already be bound to it (a node deleted and re-created)
            for pod in self.by_node.get(name, {}).values():
                self._count(slot, pod, 1)
        return changed

    def remove_node(self, name: str) -> None:
        self.nodes.remove_node(name)

    # --- pods ---------------------------------------------------------------------------

    def assume(self, pod: PodInfo, node: str) -> None:
        self._place(pod, node)
        self.assumed.add(pod.key)

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def forget(self, key: str) -> None:
        """Drop an assumption whose binding failed (no-op once confirmed or removed)."""
        if key in self.assumed:
            self.assumed.discard(key)
            self._unplace(key)

    def add_pod(self, pod: PodInfo) -> None:
        """The informer shows ``pod`` bound to ``pod.node_name``: confirm or record it."""
        current = self.pods.get(pod.key)
        self.assumed.discard(pod.key)
        if current is not None:
            old, node = current
            if node == pod.node_name and old.uid == pod.uid and _same_footprint(old, pod):
                self._refresh(pod, node)
                return
            self._unplace(pod.key)
        self._place(pod, pod.node_name)

    def _refresh(self, pod: PodInfo, node: str) -> None:
        """Hold the newest PodInfo of a pod whose footprint did not change: the old one
        keeps its (older) pod object alive, a second copy of every running pod."""
        self.pods[pod.key] = (pod, node)
        on_node = self.by_node.get(node)
        if on_node is not None and pod.key in on_node:
            on_node[pod.key] = pod
        if pod.key in self.with_anti_affinity:
            self.with_anti_affinity[pod.key] = pod

    def remove_pod(self, key: str) -> bool:
        self.assumed.discard(key)
        return self._unplace(key)

    def node_of(self, key: str) -> str | None:
        entry = self.pods.get(key)
        return entry[1] if entry is not None else None

    def _count(self, slot: int, pod: PodInfo, sign: int) -> None:
        n = self.nodes
        n.req_cpu[slot] += sign * pod.cpu
        n.req_mem[slot] += sign * pod.memory
        n.req_pods[slot] += sign
        n.nz_cpu[slot] += sign * pod.nonzero_cpu
        n.nz_mem[slot] += sign * pod.nonzero_memory

    def _place(self, pod: PodInfo, node: str) -> None:
        self.pods[pod.key] = (pod, node)
        self.by_node[node][pod.key] = pod
        slot = self.nodes.slot_of.get(node)
        if slot is not None:
            self._count(slot, pod, 1)
        for label in pod.labels.items():
            self._by_label[(pod.namespace, *label)].add(pod.key)
        self._by_namespace[pod.namespace].add(pod.key)
        if pod.anti_affinity:
            self.with_anti_affinity[pod.key] = pod
        for proto, ip, port in pod.host_ports:
            self.ports[(proto, port)].setdefault(node, []).append(ip)

    def _unplace(self, key: str) -> bool:
        entry = self.pods.pop(key, None)
        if entry is None:
            return False
        pod, node = entry
        on_node = self.by_node.get(node)
        if on_node is not None:
            on_node.pop(key, None)
            if not on_node:
                del self.by_node[node]
        slot = self.nodes.slot_of.get(node)
        if slot is not None:
            self._count(slot, pod, -1)
        for label in pod.labels.items():
            keys = self._by_label.get((pod.namespace, *label))
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_label[(pod.namespace, *label)]
        ns_keys = self._by_namespace.get(pod.namespace)
        if ns_keys is not None:
            ns_keys.discard(key)
        self.with_anti_affinity.pop(key, None)
        for proto, ip, port in pod.host_ports:
            users = self.ports.get((proto, port))
            if users and node in users:
                ips = users[node]
                ips.remove(ip)
                if not ips:
                    del users[node]
                if not users:
                    del self.ports[(proto, port)]
        return True

    # --- queries ------------------------------------------------------------------------

    def matching(
        self, selector: LabelSelector, namespaces: frozenset[str] | None
    ) -> Iterator[tuple[PodInfo, str]]:
        """(pod, node) for every counted pod the selector matches in ``namespaces``
        (None: all). Uses the narrowest equality requirement to avoid a scan."""
        if selector.nothing:
            return
        spaces = namespaces if namespaces is not None else list(self._by_namespace)
        for ns in spaces:
            candidates: set[str] | None = self._by_namespace.get(ns)
            for req in selector.requirements:
                if req.operator in (EQUALS, "==", IN) and len(req.values) == 1:
                    keys = self._by_label.get((ns, req.key, req.values[0]))
                    if keys is None:
                        candidates = None
                        break
                    if candidates is None or len(keys) < len(candidates):
                        candidates = keys
            for key in candidates or ():
                pod, node = self.pods[key]
                if selector.matches(pod.labels):
                    yield pod, node


def _same_footprint(a: PodInfo, b: PodInfo) -> bool:
    return (
        a.cpu == b.cpu
        and a.memory == b.memory
        and a.labels == b.labels
        and a.host_ports == b.host_ports
        and a.anti_affinity == b.anti_affinity
        and a.deleting == b.deleting
    )
