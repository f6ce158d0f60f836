"""One proxy per network namespace: an flock named after the namespace's inode.

Several node agents on one machine may share the host's network namespace. iptables
is per namespace, so if each of them ran its proxy they would rewrite each other's
chains (and their partial restores would rest on a state someone else changed). So the
proxy first takes an exclusive ``flock`` on ``/run/kctl/proxy-net-<inode>.lock``,
where ``<inode>`` identifies the network namespace (``readlink /proc/self/ns/net`` is
``net:[<inode>]``). Agents in their own namespaces get different files and each runs
its proxy; agents sharing one wait, polling, and the first to get the lock after the
holder dies (the kernel releases an flock with its last descriptor) takes over with a
full sync. ``/run`` is tmpfs: the files go at reboot, with the rules they guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

DEFAULT_LOCK_DIR = Path("/run/kctl")
POLL_SECONDS = 1.0


def netns_id(pid: str = "self") -> str:
    """The network namespace's inode number (``net:[4026531840]`` -> ``4026531840``)."""
    link = os.readlink(f"/proc/{pid}/ns/net")
    return link.split("[", 1)[1].rstrip("]") if "[" in link else link


def lock_path(lock_dir: Path = DEFAULT_LOCK_DIR, ns: str | None = None) -> Path:
    return lock_dir / f"proxy-net-{ns or netns_id()}.lock"


class NetnsLock:
    """An exclusive, non-blocking-polled flock; held until :meth:`release` or exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, holder: str = "") -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)  # the holder, for people looking at the file
        os.write(fd, f"{os.getpid()} {holder}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    async def acquire(self, holder: str = "", poll: float = POLL_SECONDS) -> None:
        while not self.try_acquire(holder):
            await asyncio.sleep(poll)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextlib.asynccontextmanager
async def held(
    lock: NetnsLock, holder: str = "", poll: float = POLL_SECONDS
) -> AsyncIterator[NetnsLock]:
    await lock.acquire(holder, poll)
    try:
        yield lock
    finally:
        lock.release()
