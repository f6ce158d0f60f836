"""Helpers for tests that touch the real network stack: netns, commands inside them, ping.

Every name carries the ``kctl-test`` prefix and the test process's pid, so leftovers
of a crashed run are recognizable and never collide with another run's.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

NETNS_DIR = Path("/var/run/netns")
_counter = itertools.count()


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def in_netns(
    ns: str, *argv: str, check: bool = True, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv, check=check, timeout=timeout)


def unique(prefix: str) -> str:
    return f"kctl-test-{prefix}-{os.getpid()}-{next(_counter)}"


@contextlib.contextmanager
def netns(prefix: str) -> Iterator[str]:
    """A fresh network namespace (deleted on exit, even on failure)."""
    name = unique(prefix)
    sh("ip", "netns", "add", name)
    try:
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def netns_path(name: str) -> str:
    return str(NETNS_DIR / name)


def ping(ns: str, address: str, timeout: int = 2) -> bool:
    done = in_netns(ns, "busybox", "ping", "-c", "1", "-W", str(timeout), address, check=False)
    return done.returncode == 0


def python_in(ns: str, code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return in_netns(ns, sys.executable, "-c", code, timeout=timeout)


def links() -> set[str]:
    out = sh("ip", "-o", "link", "show").stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip()}


def netns_names() -> set[str]:
    out = sh("ip", "netns", "list").stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def subprocess_in(ns: str, code: str) -> subprocess.Popen[str]:
    """A Python program in a netns, stdout piped (the caller kills and waits for it)."""
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
