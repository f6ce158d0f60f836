"""Node state in columns, so a filter or score is one NumPy expression over all nodes.

kube-scheduler walks a list of NodeInfo structs and calls every plugin once per node;
in Python that is a loop of tens of thousands of calls per pod. Here each node is a
*slot* (a row index) and every fact a plugin reads is a column:

* resources: allocatable and requested milli-cpu, memory bytes and pod count (int64),
  plus the "non-zero" requested sums LeastAllocated scores with;
* ``unschedulable`` (bool);
* labels: one int32 column per label key holding an interned value id (-1: no label),
  so ``nodeSelector {zone: a}`` is ``col == id`` and ``In``/``NotIn`` are ``isin``;
* taints: interned (key, value, effect) ids and a (slot x taint) matrix of the taint's
  1-based position in the node's list (0: absent), so "the first untolerated taint" of
  every node is one ``argmin``.

Slots of deleted nodes are reused; ``live`` marks the slots in use. Arrays grow by
doubling. Requested sums are maintained by the scheduler cache, which knows the pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from reconciler.scheduler.podinfo import cpu_millis, memory_bytes

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]

HARD_EFFECTS = ("NoSchedule", "NoExecute")
PREFER_NO_SCHEDULE = "PreferNoSchedule"
_RESOURCE_COLUMNS = (
    "alloc_cpu",
    "alloc_mem",
    "alloc_pods",
    "req_cpu",
    "req_mem",
    "req_pods",
    "nz_cpu",
    "nz_mem",
)


class Interner:
    """Strings (or tuples) to dense ids, and back."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.items: list[Any] = []

    def __len__(self) -> int:
        return len(self.items)

    def id(self, item: Any) -> int:
        i = self.ids.get(item)
        if i is None:
            i = self.ids[item] = len(self.items)
            self.items.append(item)
        return i

    def get(self, item: Any) -> int:
        """The id, or -1 for an item never seen (matches no node)."""
        return self.ids.get(item, -1)


def _node_signature(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """What scheduling reads from a Node; a change elsewhere (heartbeats) is ignored."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    taints = tuple(
        (str(t.get("key", "")), str(t.get("value") or ""), str(t.get("effect", "")))
        for t in spec.get("taints") or ()
    )
    return (
        alloc.get("cpu"),
        alloc.get("memory"),
        alloc.get("pods"),
        tuple(sorted(labels.items())),
        taints,
        bool(spec.get("unschedulable")),
    )


class NodeTable:
    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.size = 0  # slots ever used (high-water mark); columns are read as [:size]
        self.count = 0  # live nodes
        self.names: list[str] = []
        self.slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self._signatures: list[tuple[Any, ...] | None] = []
        self.objects: list[Mapping[str, Any] | None] = []
        self.live: Bools = np.zeros(capacity, np.bool_)
        self.unschedulable: Bools = np.zeros(capacity, np.bool_)
        self.alloc_cpu: Int64s = np.zeros(capacity, np.int64)
        self.alloc_mem: Int64s = np.zeros(capacity, np.int64)
        self.alloc_pods: Int64s = np.zeros(capacity, np.int64)
        self.req_cpu: Int64s = np.zeros(capacity, np.int64)
        self.req_mem: Int64s = np.zeros(capacity, np.int64)
        self.req_pods: Int64s = np.zeros(capacity, np.int64)
        self.nz_cpu: Int64s = np.zeros(capacity, np.int64)
        self.nz_mem: Int64s = np.zeros(capacity, np.int64)
        self.values = Interner()  # label values
        self.label_cols: dict[str, Int32s] = {}
        self.taints = Interner()  # (key, value, effect)
        self.taint_pos = np.zeros((capacity, 4), np.int16)
        self.version = 0  # bumped on every node change (caches key on it)

    # --- growth ------------------------------------------------------------------------

    def _grow(self) -> None:
        old = self.capacity
        new = old * 2
        for name in ("live", "unschedulable", *_RESOURCE_COLUMNS):
            arr = getattr(self, name)
            grown = np.zeros(new, arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        for key, col in self.label_cols.items():
            grown32 = np.full(new, -1, np.int32)
            grown32[:old] = col
            self.label_cols[key] = grown32
        pos = np.zeros((new, self.taint_pos.shape[1]), np.int16)
        pos[:old] = self.taint_pos
        self.taint_pos = pos
        self.capacity = new

    def _taint_id(self, taint: tuple[str, str, str]) -> int:
        tid = self.taints.id(taint)
        if tid >= self.taint_pos.shape[1]:
            pos = np.zeros((self.capacity, self.taint_pos.shape[1] * 2), np.int16)
            pos[:, : self.taint_pos.shape[1]] = self.taint_pos
            self.taint_pos = pos
        return tid

    def label_col(self, key: str) -> Int32s:
        col = self.label_cols.get(key)
        if col is None:
            col = self.label_cols[key] = np.full(self.capacity, -1, np.int32)
        return col

    # --- nodes ----------------------------------------------------------------------------

    def set_node(self, obj: Mapping[str, Any]) -> tuple[int, bool]:
        """Add or update a node; returns its slot and whether anything the scheduler
        reads changed (a new node counts as changed)."""
        name = str((obj.get("metadata") or {}).get("name") or "")
        sig = _node_signature(obj)
        slot = self.slot_of.get(name)
        if slot is None:
            slot = self._allocate(name)
        else:
            self.objects[slot] = obj
            if self._signatures[slot] == sig:
                return slot, False
        self.objects[slot] = obj
        self._signatures[slot] = sig
        cpu, mem, pods, labels, taints, unschedulable = sig
        self.alloc_cpu[slot] = cpu_millis(cpu) if cpu is not None else 0
        self.alloc_mem[slot] = memory_bytes(mem) if mem is not None else 0
        self.alloc_pods[slot] = int(pods) if pods is not None else 0
        self.unschedulable[slot] = unschedulable
        for col in self.label_cols.values():
            col[slot] = -1
        for key, value in labels:
            self.label_col(key)[slot] = self.values.id(value)
        self.taint_pos[slot] = 0
        for i, taint in enumerate(taints):
            tid = self._taint_id(taint)
            if self.taint_pos[slot, tid] == 0:
                self.taint_pos[slot, tid] = i + 1
        self.version += 1
        return slot, True

    def _allocate(self, name: str) -> int:
        if self._free:
            slot = self._free.pop()
            self.names[slot] = name
        else:
            if self.size == self.capacity:
                self._grow()
            slot = self.size
            self.size += 1
            self.names.append(name)
            self._signatures.append(None)
            self.objects.append(None)
        self.slot_of[name] = slot
        self.live[slot] = True
        self.count += 1
        for col in _RESOURCE_COLUMNS[3:]:
            getattr(self, col)[slot] = 0
        return slot

    def remove_node(self, name: str) -> int | None:
        slot = self.slot_of.pop(name, None)
        if slot is None:
            return None
        self.live[slot] = False
        self.unschedulable[slot] = False
        for col in _RESOURCE_COLUMNS:
            getattr(self, col)[slot] = 0
        for lcol in self.label_cols.values():
            lcol[slot] = -1
        self.taint_pos[slot] = 0
        self.names[slot] = ""
        self._signatures[slot] = None
        self.objects[slot] = None
        self._free.append(slot)
        self.count -= 1
        self.version += 1
        return slot

    # --- reads ------------------------------------------------------------------------------

    def labels_of(self, slot: int) -> dict[str, str]:
        sig = self._signatures[slot]
        return dict(sig[3]) if sig is not None else {}

    def taint_ids(self, effects: tuple[str, ...]) -> list[int]:
        return [i for i, t in enumerate(self.taints.items) if t[2] in effects]
