"""CRI log files rendered as ``pods/log`` answers: parsing, options, following."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from node.logs import LogOptions, parse_line, parse_time_ns, read_log, tail_offset

T0 = "2024-05-01T10:00:00"


def rec(second: int, text: str, stream: str = "stdout", tag: str = "F", frac: str = "") -> str:
    return f"{T0[:-2]}{second:02d}{frac}Z {stream} {tag} {text}\n"


# Two long lines split in fragments, stderr in between, one line per second.
LOG = "".join(
    [
        rec(0, "one"),
        rec(1, "tw", tag="P"),
        rec(1, "o", tag="F"),
        rec(2, "oops", stream="stderr"),
        rec(3, "th", tag="P"),
        rec(3, "re", tag="P"),
        rec(3, "e"),
        rec(4, "four"),
    ]
)


def since(second: int) -> int:
    return parse_time_ns(f"{T0[:-2]}{second:02d}Z")


async def collect(path: Path, opts: LogOptions, **kw: object) -> bytes:
    return b"".join([chunk async for chunk in read_log(path, opts, **kw)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", 1714557600_000_000_000),
        ("2024-05-01T10:00:00.5Z", 1714557600_500_000_000),
        ("2024-05-01T10:00:00.123456789Z", 1714557600_123_456_789),
        ("2024-05-01T12:00:00.000000001+02:00", 1714557600_000_000_001),
    ],
)
def test_parse_time_ns(text: str, expected: int) -> None:
    assert parse_time_ns(text) == expected


@pytest.mark.parametrize("text", ["2024-05-01 10:00:00Z", "yesterday", "2024-05-01T10:00:00"])
def test_parse_time_ns_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time_ns(text)


@pytest.mark.parametrize(
    ("line", "stream", "partial", "text"),
    [
        (b"2024-05-01T10:00:00Z stdout F hello world", "stdout", False, b"hello world"),
        (b"2024-05-01T10:00:00Z stderr P part", "stderr", True, b"part"),
        (b"2024-05-01T10:00:00Z stdout F ", "stdout", False, b""),
        (b"2024-05-01T10:00:00Z stdout F", "stdout", False, b""),
        (b"2024-05-01T10:00:00Z stdout F  two  spaces ", "stdout", False, b" two  spaces "),
    ],
)
def test_parse_line(line: bytes, stream: str, partial: bool, text: bytes) -> None:
    record = parse_line(line)
    assert record is not None
    assert (record.stream, record.partial, record.text) == (stream, partial, text)


@pytest.mark.parametrize(
    "line", [b"", b"garbage", b"2024-05-01T10:00:00Z stdin F x", b"notatime stdout F x"]
)
def test_parse_line_skips_what_is_not_a_record(line: bytes) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        (LogOptions(), "one\ntwo\noops\nthree\nfour\n"),
        (LogOptions(tail_lines=0), ""),
        (LogOptions(tail_lines=1), "four\n"),
        (LogOptions(tail_lines=2), "three\nfour\n"),  # a split line counts once
        (LogOptions(tail_lines=4), "two\noops\nthree\nfour\n"),
        (LogOptions(tail_lines=99), "one\ntwo\noops\nthree\nfour\n"),
        (LogOptions(since_ns=since(2)), "oops\nthree\nfour\n"),
        (LogOptions(since_ns=since(9)), ""),
        (LogOptions(tail_lines=4, since_ns=since(3)), "three\nfour\n"),  # tail, then since
        (LogOptions(limit_bytes=6), "one\ntw"),
        (LogOptions(limit_bytes=1000), "one\ntwo\noops\nthree\nfour\n"),
        (
            LogOptions(timestamps=True, tail_lines=2),
            f"{T0[:-2]}03Z three\n{T0[:-2]}04Z four\n",  # the first fragment's time
        ),
        (LogOptions(timestamps=True, limit_bytes=29), f"{T0[:-2]}00Z one\n2024"),
    ],
)
def test_render(tmp_path: Path, opts: LogOptions, expected: str) -> None:
    path = tmp_path / "0.log"
    path.write_text(LOG)
    assert asyncio.run(collect(path, opts)).decode() == expected


def test_tail_with_an_unfinished_last_line_and_long_files(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    lines = [rec(i % 60, f"line {i} " + "x" * 200) for i in range(2000)]  # > several blocks
    path.write_text("".join(lines) + rec(0, "unfinish", tag="P"))
    with open(path, "rb") as f:
        start = tail_offset(f, 3)
        assert f.seek(start) == start and f.read().decode().startswith(lines[-2])
    out = asyncio.run(collect(path, LogOptions(tail_lines=3))).decode()
    assert out.splitlines()[0].startswith("line 1998 ")
    assert out.endswith("x\nunfinish")


def test_a_line_longer_than_a_read_block(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    long = "y" * 200_000
    path.write_text(rec(0, long) + rec(1, "after"))
    assert asyncio.run(collect(path, LogOptions())).decode() == f"{long}\nafter\n"
    assert asyncio.run(collect(path, LogOptions(tail_lines=1))).decode() == "after\n"


def test_a_line_being_written_is_held_back(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(rec(0, "done") + rec(1, "half")[:-5])
    assert asyncio.run(collect(path, LogOptions())) == b"done\n"


class Follower:
    """Reads a followed log in the background; the test writes and checks."""

    def __init__(self, path: Path, opts: LogOptions) -> None:
        self.path = path
        self.opts = opts
        self.out = b""
        self.alive = True

    async def run(self) -> None:
        async for chunk in read_log(self.path, self.opts, alive=lambda: self.alive, poll=0.01):
            self.out += chunk

    async def until(self, text: str, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text.encode() not in self.out:
            assert loop.time() < deadline, f"never saw {text!r} in {self.out!r}"
            await asyncio.sleep(0.01)


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def test_follow_appended_rotated_and_restarted(tmp_path: Path) -> None:
    first = tmp_path / "0.log"
    first.write_text(rec(0, "old") + rec(1, "start"))

    async def scenario() -> bytes:
        follower = Follower(first, LogOptions(follow=True, tail_lines=1))
        task = asyncio.create_task(follower.run())
        await follower.until("start\n")
        append(first, rec(2, "gro", tag="P"))
        await asyncio.sleep(0.05)
        append(first, rec(2, "wing"))
        await follower.until("growing\n")
        # Rotation: the file is renamed away and a new one appears at the same path;
        # what was written to the old file just before is not lost.
        append(first, rec(3, "last before rotation"))
        os.rename(first, tmp_path / "0.log.20240501-100003")
        first.write_text(rec(4, "after rotation"))
        await follower.until("after rotation\n")
        # The container restarts: the next instance writes 1.log.
        (tmp_path / "1.log").write_text(rec(5, "second instance"))
        await follower.until("second instance\n")
        follower.alive = False  # the pod is gone: the stream ends
        await asyncio.wait_for(task, 5)
        return follower.out

    assert asyncio.run(scenario()).decode() == (
        "start\ngrowing\nlast before rotation\nafter rotation\nsecond instance\n"
    )


def test_follow_stops_at_the_byte_limit(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(rec(0, "abc"))

    async def scenario() -> bytes:
        follower = Follower(path, LogOptions(follow=True, limit_bytes=6))
        task = asyncio.create_task(follower.run())
        await follower.until("abc\n")
        append(path, rec(1, "defgh"))
        await asyncio.wait_for(task, 5)  # ends by itself once 6 bytes went out
        return follower.out

    assert asyncio.run(scenario()) == b"abc\nde"
