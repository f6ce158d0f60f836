"""The machine-wide registry of the kctl nodes set up on this machine.

Some things a node agent changes are shared by every node of the machine: the
service-CIDR guard chain, the machine-wide sysctls (and, for the node proxy, its
chains). They are installed when the first node comes up and removed only when the
last one is cleaned up. The reference count is a directory of files, one per node
(``<dir>/nodes/<key>.json``), under ``/run/kctl`` by default: tmpfs, so it empties on a
reboot exactly when iptables rules and sysctls reset too. An exclusive ``flock`` on
``<dir>/lock`` makes "join and install" / "leave and maybe remove" atomic across
processes. Other components can hold :meth:`MachineRegistry.locked` to read the same
records.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class MachineRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes_dir = root / "nodes"

    @contextlib.contextmanager
    def locked(self) -> Iterator[MachineRegistry]:
        """Hold the machine-wide lock (blocking) for a read-modify-write of shared state."""
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self
        finally:
            os.close(fd)  # closing releases the lock

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad registry key {key!r}")
        return self.nodes_dir / f"{key}.json"

    def register(self, key: str, record: dict[str, Any]) -> bool:
        """Add or refresh a node's record; True if it was not registered before."""
        path = self._path(key)
        new = not path.exists()
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, sort_keys=True))
        os.replace(tmp, path)
        return new

    def unregister(self, key: str) -> bool:
        """Remove a node's record; True if it was registered."""
        try:
            self._path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if not self.nodes_dir.is_dir():
            return out
        for path in sorted(self.nodes_dir.glob("*.json")):
            try:
                out[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a record half-written by a crashed process: ignore it
        return out

    def file(self, name: str) -> Path:
        """A machine-wide state file (e.g. the sysctls' previous values)."""
        return self.root / name
