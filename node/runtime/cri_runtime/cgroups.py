"""Pod-level cgroups under the node's own parent (cgroupfs driver).

Every pod gets ``/kctl/<node-id>/pod<uid>`` as its CRI ``cgroup_parent``; runc creates the
containers' cgroups below it, in every hierarchy, but never removes the parents it
created, so the runtime owns them: it creates the pod directory with the pod's limits
before the sandbox starts and removes it (deepest first, in every hierarchy) once the
pod's sandbox is gone. Works on cgroup v1 (one directory per hierarchy, as on these
hybrid machines) and v2 (one unified tree).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

from node.runtime.cri_runtime.resources import LinuxResources

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
KCTL_PARENT = "kctl"


def node_parent(node_name: str, data_dir: Path) -> str:
    """The node's cgroup parent: unique per node and data dir on the machine."""
    digest = hashlib.sha256(f"{node_name}\0{os.path.realpath(data_dir)}".encode()).hexdigest()
    return f"/{KCTL_PARENT}/{node_name[:40]}-{digest[:8]}"


def pod_parent(node_parent_: str, uid: str) -> str:
    return f"{node_parent_}/pod{uid}"


def _unified(root: Path) -> bool:
    return (root / "cgroup.controllers").exists()


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """The mounted hierarchies: the root itself on v2, else each directory below it."""
    if _unified(root):
        return [root]
    if not root.is_dir():
        return []
    return [p for p in sorted(root.iterdir()) if p.is_dir() and not p.is_symlink()]


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        log.debug("cgroup %s = %s: %s", path, value, exc)


def create(parent: str, limits: LinuxResources, root: Path = CGROUP_ROOT) -> None:
    """Make the pod's cgroup in every hierarchy and set its limits."""
    rel = parent.strip("/")
    if _unified(root):
        path = root / rel
        path.mkdir(parents=True, exist_ok=True)
        _write(path / "cpu.weight", str(1 + ((limits.cpu_shares - 2) * 9999) // 262142))
        if limits.cpu_quota:
            _write(path / "cpu.max", f"{limits.cpu_quota} {limits.cpu_period}")
        if limits.memory_limit:
            _write(path / "memory.max", str(limits.memory_limit))
        return
    for hierarchy in hierarchies(root):
        path = hierarchy / rel
        path.mkdir(parents=True, exist_ok=True)
        if (path / "cpu.shares").exists():
            _write(path / "cpu.shares", str(limits.cpu_shares))
            if limits.cpu_quota:
                _write(path / "cpu.cfs_period_us", str(limits.cpu_period))
                _write(path / "cpu.cfs_quota_us", str(limits.cpu_quota))
        if limits.memory_limit and (path / "memory.limit_in_bytes").exists():
            _write(path / "memory.limit_in_bytes", str(limits.memory_limit))


def existing(parent: str, root: Path = CGROUP_ROOT) -> list[Path]:
    rel = parent.strip("/")
    return [h / rel for h in hierarchies(root) if (h / rel).is_dir()]


def remove(parent: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """rmdir the cgroup and everything below it, deepest first; returns what is left
    (a cgroup that still has processes cannot be removed)."""
    left = []
    for top in existing(parent, root):
        below = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for directory in [*below, top]:
            with contextlib.suppress(FileNotFoundError):
                try:
                    directory.rmdir()
                except OSError as exc:
                    log.warning("cannot remove cgroup %s: %s", directory, exc)
                    left.append(directory)
    return left


def remove_if_empty(parent: str, root: Path = CGROUP_ROOT) -> None:
    """Remove a parent cgroup (the node's) if no pod cgroup is left below it."""
    for top in existing(parent, root):
        with contextlib.suppress(OSError):
            top.rmdir()
