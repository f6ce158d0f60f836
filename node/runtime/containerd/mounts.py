"""Unmount whatever is still mounted under a directory before it is removed.

containerd mounts container root filesystems (overlay), sandbox /dev/shm and, with
``netns_mounts_under_state_dir``, the pods' network namespaces under its state dir. A
normal pod removal unmounts them; a containerd that was killed leaves them behind,
and ``rm -r`` on a mounted tree fails (or worse, descends into it). Mount points come
from /proc/self/mountinfo and are detached deepest first (``MNT_DETACH``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MNT_DETACH = 2


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(root: Path, mountinfo: str | None = None) -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    base = os.path.realpath(root)
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return []
    found = []
    for line in mountinfo.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        point = _unescape(parts[4])
        if point == base or point.startswith(base.rstrip("/") + "/"):
            found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))


def unmount_under(root: Path) -> list[str]:
    """Detach every mount under ``root``; returns the mount points it detached."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    done = []
    for point in mounts_under(root):
        if libc.umount2(point.encode(), MNT_DETACH) == 0:
            done.append(point)
        else:
            err = ctypes.get_errno()
            log.warning("umount %s: %s", point, os.strerror(err))
    if done:
        log.info("unmounted %d leftover mounts under %s", len(done), root)
    return done
