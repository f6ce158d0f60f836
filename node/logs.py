"""A container's log, read from its CRI log files and rendered as ``pods/log`` answers.

containerd writes each container's output to
``DATA_DIR/pods/<namespace>_<name>_<uid>/<container>/<restartCount>.log``, one record
per line: ``<RFC3339Nano> stdout|stderr F|P <text>``. ``P`` marks a fragment of a long
line (the runtime splits lines at 16 KiB) that the next records continue until an
``F``. The kubelet answers ``GET /containerLogs/...`` by reading these files, and so do
we; everything here is plain file reading with no HTTP and no runtime, so it is tested
with files written by the tests.

How the options combine is the kubelet's (``kuberuntime/logs``): ``tailLines`` picks the
starting point first, then records older than ``sinceSeconds``/``sinceTime`` are
skipped, then the bytes are written (with ``timestamps``, each line starts with its
first record's timestamp) until ``limitBytes`` is reached, mid-line if need be. stdout
and stderr come out interleaved in the order they were written. Two deliberate
differences: ``tailLines`` counts whole lines (``P`` fragments joined), where the
kubelet counts file lines, so a tail never starts in the middle of a line; and a
followed log goes on past a container restart: when the runtime starts the next
instance (``<n+1>.log`` appears beside ``<n>.log``) the stream continues there, until
the caller says the pod is gone (``alive``) or the client leaves. Log rotation (the
file renamed away and a new one created at the same path) is followed by re-opening
the path once the old file is drained.

Which instance has a log at all is read from the pod's status as the agent reported it
(:func:`log_problem`, :func:`exec_problem`, :func:`runs_again`), with the kubelet's
messages (``container "c" in pod "p" is waiting to start: ContainerCreating``), which
kubectl prints as they are.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

READ_BLOCK = 64 * 1024
POLL_INTERVAL = 0.1  # seconds between looks at a followed file that has not grown
_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)$"
)
_RESTART_FILE = re.compile(r"^(\d+)\.log$")


@dataclass(frozen=True)
class LogOptions:
    """What the caller asked for (``PodLogOptions`` in agent terms)."""

    follow: bool = False
    tail_lines: int | None = None  # None: every line
    since_ns: int | None = None  # skip records written before this (epoch nanoseconds)
    timestamps: bool = False
    limit_bytes: int | None = None  # None: no limit


@dataclass(frozen=True)
class LogRecord:
    """One line of a CRI log file."""

    timestamp: str  # as written
    time_ns: int
    stream: str  # "stdout" | "stderr"
    partial: bool  # a "P" fragment: the line goes on in the next record
    text: bytes  # without the line's newline


def parse_time_ns(text: str) -> int:
    """An RFC 3339 time with up to nanosecond precision, as epoch nanoseconds."""
    m = _TIMESTAMP.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    date, clock, fraction, zone = m.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    base = dt.datetime.fromisoformat(f"{date}T{clock}{offset}")
    return int(base.timestamp()) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def parse_line(line: bytes) -> LogRecord | None:
    """One CRI record (without its newline); None for a line that is not one (skipped,
    as the kubelet skips them)."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    stamp, stream, tag = parts[0].decode("ascii", "replace"), parts[1], parts[2]
    if stream not in (b"stdout", b"stderr"):
        return None
    try:
        time_ns = parse_time_ns(stamp)
    except ValueError:
        return None
    partial = tag.split(b":", 1)[0] == b"P"  # tags may carry more after a ':'
    text = parts[3] if len(parts) == 4 else b""
    return LogRecord(stamp, time_ns, stream.decode(), partial, text)


# --- where to start ------------------------------------------------------------------------


def _lines_backwards(f: BinaryIO, size: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of every complete line before ``size``, last first."""
    pos, rest = size, b""
    first = True
    while pos > 0:
        step = min(READ_BLOCK, pos)
        pos -= step
        f.seek(pos)
        chunk = f.read(step) + rest
        pieces = chunk.split(b"\n")
        if first:
            pieces.pop()  # after the last newline: empty, or a line still being written
            first = False
        rest = pieces[0]
        offset = pos + len(rest) + 1
        found = []
        for piece in pieces[1:]:
            found.append((offset, piece))
            offset += len(piece) + 1
        yield from reversed(found)
    if rest and not first:
        yield 0, rest


def tail_offset(f: BinaryIO, lines: int) -> int:
    """The byte offset where the last ``lines`` whole lines of the file start."""
    size = os.fstat(f.fileno()).st_size
    if lines <= 0:
        return size
    count = 0
    seen_last = False
    for offset, line in _lines_backwards(f, size):
        record = parse_line(line)
        if record is None:
            continue
        if not seen_last:
            seen_last = True
            if record.partial:  # an unfinished last line counts as one
                count = 1
        if not record.partial:
            if count == lines:
                return offset + len(line) + 1
            count += 1
    return 0


# --- rendering -------------------------------------------------------------------------------


class _Renderer:
    """Records to the bytes of the answer: since filter, timestamps, byte limit."""

    def __init__(self, opts: LogOptions) -> None:
        self.opts = opts
        self.line_start = True
        self.remaining = opts.limit_bytes

    @property
    def done(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def render(self, record: LogRecord) -> bytes:
        if self.opts.since_ns is not None and record.time_ns < self.opts.since_ns:
            return b""
        out = record.text if record.partial else record.text + b"\n"
        if self.opts.timestamps and self.line_start:
            out = record.timestamp.encode() + b" " + out
        self.line_start = not record.partial
        if self.remaining is not None:
            out = out[: self.remaining]
            self.remaining -= len(out)
        return out


class _LogFile:
    """An open log file read forward in complete lines."""

    def __init__(self, path: Path, start: int | None = None, tail: int | None = None) -> None:
        self.path = path
        self.f: BinaryIO = open(path, "rb")  # closed by close()
        self.ino = os.fstat(self.f.fileno()).st_ino
        if tail is not None:
            start = tail_offset(self.f, tail)
        self.f.seek(start or 0)
        self.pending = b""

    def read_lines(self) -> list[bytes]:
        """The complete lines written since the last call (at least one block's worth,
        more when a line is longer than a block); [] at the end of what is written."""
        while True:
            data = self.f.read(READ_BLOCK)
            if not data:
                return []
            data = self.pending + data
            cut = data.rfind(b"\n")
            if cut >= 0:
                self.pending = data[cut + 1 :]
                return data[:cut].split(b"\n")
            self.pending = data

    def replaced(self) -> bool:
        """The path now names another file (rotated) or this one shrank (truncated)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False  # rotated away, the new file not created yet
        return st.st_ino != self.ino or st.st_size < self.f.tell()

    def next_instance(self) -> Path | None:
        """``<m>.log`` beside ``<n>.log`` with the smallest m > n (the restarted container)."""
        mine = _RESTART_FILE.match(self.path.name)
        if mine is None:
            return None
        later = []
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return None
        for name in names:
            m = _RESTART_FILE.match(name)
            if m is not None and int(m.group(1)) > int(mine.group(1)):
                later.append(int(m.group(1)))
        return self.path.parent / f"{min(later)}.log" if later else None

    def close(self) -> None:
        self.f.close()


async def read_log(
    path: Path,
    opts: LogOptions,
    *,
    alive: Callable[[], bool] = lambda: False,
    poll: float = POLL_INTERVAL,
) -> AsyncIterator[bytes]:
    """The answer to a log request, in chunks. Without ``follow`` it ends at the end of
    the file as it was; with ``follow`` it goes on while ``alive()`` (checked when the
    file is idle) and stops only after draining what was written."""
    renderer = _Renderer(opts)
    log = _LogFile(path, tail=opts.tail_lines)
    end = os.fstat(log.f.fileno()).st_size

    def render(lines: list[bytes]) -> bytes:
        return b"".join(renderer.render(r) for r in map(parse_line, lines) if r is not None)

    try:
        while True:
            lines = log.read_lines()
            if lines:
                chunk = render(lines)
                if chunk:
                    yield chunk
                if renderer.done or (not opts.follow and log.f.tell() >= end):
                    return
                await asyncio.sleep(0)
                continue
            if not opts.follow:
                return
            successor = path if log.replaced() else log.next_instance()
            if successor is not None:
                chunk = render(log.read_lines())  # written between the last read and now
                if chunk:
                    yield chunk
                log.close()
                if renderer.done:
                    return
                path = successor
                log = _LogFile(path, start=0)
                continue
            if not alive():
                return
            await asyncio.sleep(poll)
    finally:
        log.close()


# --- which instance, per the pod's status ------------------------------------------------------


def _container_status(pod: Mapping[str, Any], container: str) -> Mapping[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return cast(Mapping[str, Any], entry)
    return None


def log_problem(pod: Mapping[str, Any], container: str, previous: bool) -> str | None:
    """Why the container has no log to show yet (the kubelet's messages, from the
    status it reported), or None when it has one."""
    name = str((pod.get("metadata") or {}).get("name") or "")
    status = _container_status(pod, container)
    c, p = f'"{container}"', f'"{name}"'
    if status is None:
        return f"container {c} in pod {p} is not available"
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    if previous:
        if not last or not last.get("containerID"):
            return f"previous terminated container {c} in pod {p} not found"
        return None
    if "running" in state:
        return None
    if "terminated" in state:
        if state["terminated"].get("containerID") or (last and last.get("containerID")):
            return None
        return f"container {c} in pod {p} is terminated"
    if last:
        return None if last.get("containerID") else f"container {c} in pod {p} is terminated"
    if "waiting" in state:
        reason = str(state["waiting"].get("reason") or "")
        why = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        return f"container {c} in pod {p} is waiting to start: {why}"
    return f"container {c} in pod {p} is waiting to start - no logs yet"


def exec_problem(pod: Mapping[str, Any], container: str) -> str | None:
    """Why a command cannot run in the container now, or None when it is running."""
    status = _container_status(pod, container)
    if status is not None and "running" in (status.get("state") or {}):
        return None
    if status is not None and "terminated" in (status.get("state") or {}):
        name = str((pod.get("metadata") or {}).get("name") or "")
        return f'container "{container}" in pod "{name}" is terminated'
    return log_problem(pod, container, False) or f'container not found ("{container}")'


def runs_again(pod: Mapping[str, Any], container: str) -> bool:
    """Whether a followed log may still grow: the pod is not finished and the container
    is running, waiting, or will be restarted under the pod's restartPolicy."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    status = _container_status(pod, container)
    terminated = ((status or {}).get("state") or {}).get("terminated")
    if terminated is None:
        return True
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    init = any(
        c.get("name") == container for c in (pod.get("spec") or {}).get("initContainers") or []
    )
    if policy == "Never" or (init and terminated.get("exitCode") == 0):
        return False
    return policy == "Always" or terminated.get("exitCode") != 0
