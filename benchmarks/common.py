"""What every benchmark shares: the peers it starts, the load drivers and the statistics.

Why it looks like this:

* Peers are real processes started the way a user starts them (``etcd`` from Debian's
  etcd-server, ``kctl apiserver`` through its command line), each on a free loopback port
  with a fresh data directory on the same disk, and stopped by PID with the directory
  removed in a ``finally``, so a failed run leaves nothing behind and no measurement
  depends on an earlier one. Nothing is ever stopped by name.
* The machine has two cores, and a Python load generator can itself be the bottleneck.
  Blocking clients run one per thread (the storage notes measured a shared asyncio HTTP
  client collapsing to ~350 req/s at 50 clients); every op is timed around the call only,
  and throughput is measured from a barrier that releases all clients at once to the
  moment the last one finishes.
* A benchmark's outcome is a :class:`Report` (tables, goals, notes) that prints as a text
  table and serialises to JSON, so ``benchmarks.run`` can run each benchmark in its own
  process and assemble RESULTS.md without parsing text.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
VALUE_SIZE = 256  # bytes of payload per write, as the issue asks

# --- statistics ----------------------------------------------------------------------


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of already sorted samples, linearly interpolated."""
    if not sorted_samples:
        return math.nan
    if len(sorted_samples) == 1:
        return float(sorted_samples[0])
    pos = (len(sorted_samples) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    frac = pos - lo
    return float(sorted_samples[lo] * (1 - frac) + sorted_samples[hi] * frac)


@dataclass(frozen=True)
class Summary:
    """Latencies (milliseconds) and throughput of one measured run."""

    count: int
    elapsed_s: float
    rate: float  # ops per second over the whole run
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


def summarize(latencies_s: Sequence[float], elapsed_s: float | None = None) -> Summary:
    """Summarise per-op latencies in seconds; ``elapsed_s`` gives the run's wall time."""
    s = sorted(latencies_s)
    n = len(s)
    elapsed = elapsed_s if elapsed_s is not None else sum(s)
    return Summary(
        count=n,
        elapsed_s=elapsed,
        rate=n / elapsed if elapsed > 0 else math.nan,
        p50_ms=percentile(s, 50) * 1e3,
        p90_ms=percentile(s, 90) * 1e3,
        p99_ms=percentile(s, 99) * 1e3,
        max_ms=(s[-1] * 1e3) if s else math.nan,
        mean_ms=(sum(s) / n * 1e3) if n else math.nan,
    )


# --- load drivers --------------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float]  # seconds, one per successful op
    elapsed: float  # wall seconds from the start barrier to the last op

    def summary(self) -> Summary:
        return summarize(self.latencies, self.elapsed)


class LoadError(RuntimeError):
    """An op failed during a measured run: figures from a failing run are not reported."""


Op = Callable[[int], object]


def threaded_load(
    clients: int,
    ops_per_client: int,
    setup: Callable[[int], Op],
    teardown: Callable[[int], None] | None = None,
) -> LoadResult:
    """Run ``clients`` threads, each calling its own op ``ops_per_client`` times.

    ``setup(i)`` runs in thread i before the barrier (connect, warm up) and returns the op;
    ``op(j)`` is then timed for j in 0..ops_per_client-1. Any exception aborts the run.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))

    def worker(i: int) -> None:
        lat = latencies[i]
        try:
            op = setup(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            clock = time.perf_counter
            for j in range(ops_per_client):
                t0 = clock()
                op(j)
                lat.append(clock() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            if teardown is not None:
                with contextlib.suppress(Exception):
                    teardown(i)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.perf_counter()
    if errors:
        raise LoadError(f"{len(errors)} client(s) failed; first: {errors[0]!r}") from errors[0]
    return LoadResult([x for lat in latencies for x in lat], end - started[0])


# --- ports, directories, processes ---------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback (released before use; the peer binds it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_tmp_root() -> Path:
    """Where data directories go: ``$KCTL_BENCH_DIR`` or the system temp dir.

    Both peers' data live under the same root so they share one disk and filesystem.
    """
    root = Path(os.environ.get("KCTL_BENCH_DIR") or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=bench_tmp_root()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0
) -> None:
    """Stop one process we started, by its PID: ``sig``, then SIGKILL after ``timeout``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU seconds all processors have spent busy since boot, from /proc/stat: with
    :func:`proc_cpu_seconds` it tells how much CPU processes other than ours took."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def component(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``kctl ARGS`` as a process logging to ``log``; its log tail is shown if the body
    fails, and it is stopped by PID afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kctl.cli.main", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    except BaseException:
        sys.stderr.write(f"--- {log.name} (tail) ---\n{log.read_text(errors='replace')[-4000:]}\n")
        raise
    finally:
        stop_process(proc, timeout=30)


def wait(what: str, probe: Callable[[], bool], timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


@dataclass
class Etcd:
    """A single-member etcd on loopback; ``url`` is its client URL (gRPC and JSON)."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.port}"


def etcd_version() -> str:
    out = subprocess.run(["etcd", "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].removeprefix("etcd Version: ").strip() if first else "unknown"


@contextlib.contextmanager
def run_etcd(timeout: float = 30.0) -> Iterator[Etcd]:
    """Start etcd (Debian's etcd-server) with a fresh data dir; stop it and remove the dir.

    Default settings: a single member commits a put after one fdatasync of its WAL, the
    durability kctl's store is compared against.
    """
    if shutil.which("etcd") is None:
        raise RuntimeError("etcd not found: apt-get install -y etcd-server (or make setup)")
    with temp_dir("kctl-bench-etcd-") as base:
        data_dir = base / "data"
        log_path = base / "etcd.log"
        client, peer = free_port(), free_port()
        cmd = [
            "etcd",
            "--name",
            "s1",
            "--data-dir",
            str(data_dir),
            "--listen-client-urls",
            f"http://127.0.0.1:{client}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{client}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"s1=http://127.0.0.1:{peer}",
            "--initial-cluster-state",
            "new",
            "--log-level",
            "warn",
            "--logger",
            "zap",
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        etcd = Etcd(proc, data_dir, client, log_path)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"etcd exited with {proc.returncode}:\n{_tail(log_path)}")
                try:
                    r = httpx.get(f"{etcd.url}/health", timeout=1)
                    if r.status_code == 200 and r.json().get("health") == "true":
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"etcd not healthy in {timeout}s:\n{_tail(log_path)}")
                time.sleep(0.05)
            yield etcd
        finally:
            stop_process(proc)


@dataclass
class ApiServer:
    """A ``kctl apiserver`` process serving HTTPS on loopback, and how to reach it."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    log_path: Path
    token: str = ""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.data_dir / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    def client(self, timeout: float = 60.0, **kwargs: Any) -> httpx.Client:
        """A new keep-alive HTTP/1.1 client authenticated as the cluster admin."""
        return httpx.Client(
            base_url=self.url,
            verify=str(self.ca),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
            **kwargs,
        )

    def logs(self) -> str:
        return _tail(self.log_path)


def _admin_token(kubeconfig: Path) -> str:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(kubeconfig.read_text())
    return str(doc["users"][0]["user"]["token"])


def apiserver_available() -> str | None:
    """None when ``kctl apiserver`` can start here, else the reason it cannot."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "kctl.cli.main", "apiserver", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"kctl apiserver --help failed: {exc}"
    if out.returncode != 0:
        return f"kctl apiserver --help exited {out.returncode}: {(out.stderr or out.stdout)[-500:]}"
    probe = subprocess.run(
        [sys.executable, "-c", "import kctl.server.main"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        return f"kctl.server.main does not import: {probe.stderr.strip().splitlines()[-1:]}"
    return None


@contextlib.contextmanager
def run_apiserver(extra_args: Sequence[str] = (), timeout: float = 90.0) -> Iterator[ApiServer]:
    """Start ``kctl apiserver`` on a fresh data dir; wait for ``/readyz``; stop it by PID."""
    with temp_dir("kctl-bench-api-") as base:
        data_dir = base / "data"
        data_dir.mkdir()
        log_path = base / "apiserver.log"
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "kctl.cli.main",
            "apiserver",
            "--data-dir",
            str(data_dir),
            "--listen",
            f"127.0.0.1:{port}",
            *extra_args,
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=base
            )
        server = ApiServer(proc, data_dir, port, log_path)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"kctl apiserver exited with {proc.returncode}:\n{server.logs()}"
                    )
                if server.ca.exists() and server.kubeconfig.exists():
                    try:
                        r = httpx.get(f"{server.url}/readyz", verify=str(server.ca), timeout=2)
                        if r.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kctl apiserver not ready in {timeout}s:\n{server.logs()}")
                time.sleep(0.05)
            server.token = _admin_token(server.kubeconfig)
            yield server
        except BaseException:
            # The log goes with the data dir: show its end, so a failed run explains itself.
            sys.stderr.write(f"--- kctl apiserver log (tail) ---\n{server.logs()}\n---\n")
            raise
        finally:
            stop_process(proc)


def ensure_namespace(client: httpx.Client, name: str) -> None:
    """Create a namespace unless it exists (a namespaced create needs it)."""
    r = client.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    if r.status_code not in (200, 201, 409):
        raise RuntimeError(f"creating namespace {name}: {r.status_code} {r.text[:300]}")


def check(r: httpx.Response, *expected: int) -> httpx.Response:
    """Fail the run on an unexpected status (a benchmark must not time errors)."""
    if r.status_code not in (expected or (200,)):
        raise LoadError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return r


# --- reports -------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Goal:
    what: str
    target: str
    measured: str
    met: bool


@dataclass
class Report:
    """One benchmark's outcome, printable and serialisable."""

    name: str  # module name, e.g. bench_store_writes
    title: str
    command: str
    tables: list[Table] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> Report:
        d = json.loads(text)
        return cls(
            name=d["name"],
            title=d["title"],
            command=d["command"],
            tables=[Table(**t) for t in d["tables"]],
            goals=[Goal(**g) for g in d["goals"]],
            notes=list(d["notes"]),
            machine=dict(d.get("machine", {})),
        )

    def text(self) -> str:
        out = [f"== {self.title}", f"   command: {self.command}"]
        for t in self.tables:
            out += ["", f"-- {t.title}", *_text_table(t.columns, t.rows)]
        if self.goals:
            out += ["", "-- goals"]
            out += _text_table(
                ["goal", "target", "measured", "met"],
                [[g.what, g.target, g.measured, "yes" if g.met else "NO"] for g in self.goals],
            )
        if self.notes:
            out += ["", *[f"* {n}" for n in self.notes]]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"## {self.title}", "", f"Command: `{self.command}`", ""]
        for t in self.tables:
            out += [f"**{t.title}**", "", *_md_table(t.columns, t.rows), ""]
        if self.goals:
            out += ["**Goals**", ""]
            out += _md_table(
                ["goal", "target", "measured", "met"],
                [[g.what, g.target, g.measured, "yes" if g.met else "**no**"] for g in self.goals],
            )
            out.append("")
        out += [f"- {n}" for n in self.notes]
        if self.notes:
            out.append("")
        return "\n".join(out)


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _text_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [columns] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for k, r in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if k and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _md_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
    ]
    lines += ["| " + " | ".join(fmt(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return lines


def machine_info() -> dict[str, str]:
    """What the figures were measured on (they only compare within one run)."""
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "data dir filesystem": _fs_type(bench_tmp_root()),
    }


def _fs_type(path: Path) -> str:
    best, fstype = "", "unknown"
    with contextlib.suppress(OSError):
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and target.startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], f"{parts[2]} ({parts[0]})"
    return fstype


# --- command line --------------------------------------------------------------------


def arg_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small, fast run (smoke tests)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    return p


def command_for(module: str, argv: Sequence[str]) -> str:
    """The exact command that reproduces this run (without the --json output path)."""
    args: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--json":
            skip = True
            continue
        if a.startswith("--json="):
            continue
        args.append(a)
    return " ".join(["python", "-m", f"benchmarks.{module}", *args])


def emit(report: Report, json_path: str | None) -> None:
    report.machine = report.machine or machine_info()
    print(report.text(), flush=True)
    if json_path:
        Path(json_path).write_text(report.to_json())


def publish(
    name: str,
    title: str,
    argv: Sequence[str],
    results: tuple[list[Table], list[Goal], list[str]],
    json_path: str | None,
) -> Report:
    """The end of every benchmark's ``main``: its report, printed (and written as JSON)."""
    tables, goals, notes = results
    report = Report(
        name=name,
        title=title,
        command=command_for(name, argv),
        tables=tables,
        goals=goals,
        notes=notes,
    )
    emit(report, json_path)
    return report
