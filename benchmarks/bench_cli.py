"""The CLI: ``kctl apply -f DIR`` and ``kctl get pods`` against kubectl, and kctl's start-up.

The issue's goals: applying a directory of 1,000 ConfigMaps, and a 300-object app, >= 10x
faster than ``kubectl apply -f DIR`` (client-side apply, kubectl's default: a GET and a
write per object, one at a time); ``kctl get pods`` with 10,000 pods stored in <= 1 s for
the whole command; and ``kctl version --client`` (import and start-up) in <= 150 ms.

How it is measured, against one ``kctl apiserver`` started in the run, with the real
kubectl on this machine as the baseline (both use the server's admin kubeconfig):

* Every figure is the wall time of a whole command run as a subprocess, the way a user
  runs it: start-up, reading the files, every request and the printed output (captured
  through a pipe and checked: one line per object, one row per pod).
* Applies go into a fresh namespace per tool and repetition, so each first apply creates
  every object; the same directory is then applied again (everything unchanged). The
  tools alternate which goes first in each repetition; the median is reported.
* Before timing, each tool runs once (a tiny apply, a ``get``): kubectl fills its
  discovery cache (in a temporary ``--cache-dir``) and kctl writes its modules' bytecode.
  ``PYTHONDONTWRITEBYTECODE`` is removed from kctl's environment, since an installed
  package always has its ``.pyc`` files; ``python -c pass`` is timed in the same run as
  the floor of any Python command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_api_pods import NAMESPACE as PODS_NAMESPACE
from benchmarks.bench_api_pods import fill as fill_pods
from benchmarks.common import (
    ApiServer,
    Goal,
    Report,
    Table,
    arg_parser,
    check,
    ensure_namespace,
    percentile,
    publish,
    run_apiserver,
    temp_dir,
)

APPLY_GOAL_RATIO = 10.0
GET_GOAL_S = 1.0
STARTUP_GOAL_MS = 150.0
OBJECTS_PER_APP = 5  # Deployment, Service, ConfigMap, Secret, ServiceAccount
APP_COLLECTIONS = (
    ("/api/v1", "serviceaccounts"),
    ("/api/v1", "configmaps"),
    ("/api/v1", "secrets"),
    ("/api/v1", "services"),
    ("/apis/apps/v1", "deployments"),
)


@dataclass(frozen=True)
class Sizes:
    configmaps: int
    apps: int  # each OBJECTS_PER_APP objects
    pods: int
    fill_clients: int
    applies: int  # repetitions of each apply, per tool
    gets: int
    startups: int


FULL = Sizes(configmaps=1000, apps=60, pods=10_000, fill_clients=10, applies=5, gets=5, startups=10)
QUICK = Sizes(configmaps=50, apps=6, pods=200, fill_clients=4, applies=3, gets=3, startups=3)


# --- the manifests -------------------------------------------------------------------


def configmap_yaml(i: int) -> str:
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        f"  name: cm-{i:04d}\n  labels:\n    bench: cli\n"
        f'data:\n  index: "{i}"\n  greeting: hello from configmap {i}\n'
    )


def app_yaml(i: int) -> str:
    """One app as a multi-document file: what a small service's manifests look like."""
    name = f"app-{i:03d}"
    return f"""apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  labels: {{app: {name}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  labels: {{app: {name}}}
data:
  LOG_LEVEL: info
  LISTEN: ":8080"
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-secret
  labels: {{app: {name}}}
type: Opaque
stringData:
  password: secret-{i}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  selector: {{app: {name}}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      serviceAccountName: {name}
      containers:
      - name: app
        image: registry.local/bench/{name}:1.0
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef: {{name: {name}-config}}
        - secretRef: {{name: {name}-secret}}
        resources:
          requests: {{cpu: 50m, memory: 32Mi}}
"""


@dataclass(frozen=True)
class Workload:
    key: str  # namespace prefix
    what: str
    directory: Path
    objects: int
    # where the applied objects are listed (API prefix, plural) and the label they all have:
    # after each apply, these lists must hold exactly ``objects`` items
    collections: tuple[tuple[str, str], ...] = ()
    selector: str = ""


def write_workloads(base: Path, sizes: Sizes) -> tuple[Workload, Workload, Workload]:
    """The two measured directories and a tiny warm-up one (no namespace in any file)."""
    cms, app, warm = base / "configmaps", base / "app", base / "warmup"
    for d in (cms, app, warm):
        d.mkdir()
    for i in range(sizes.configmaps):
        (cms / f"cm-{i:04d}.yaml").write_text(configmap_yaml(i))
    for i in range(sizes.apps):
        (app / f"app-{i:03d}.yaml").write_text(app_yaml(i))
    (warm / "cm.yaml").write_text(configmap_yaml(0))
    (warm / "app.yaml").write_text(app_yaml(0))
    return (
        Workload(
            "cm",
            f"{sizes.configmaps:,} ConfigMaps, one per file",
            cms,
            sizes.configmaps,
            (("/api/v1", "configmaps"),),
            "bench=cli",
        ),
        Workload(
            "app",
            f"{sizes.apps * OBJECTS_PER_APP:,}-object app ({sizes.apps} x "
            f"{OBJECTS_PER_APP} in {sizes.apps} files)",
            app,
            sizes.apps * OBJECTS_PER_APP,
            APP_COLLECTIONS,
            "app",
        ),
        Workload("warm", "warm-up", warm, 1 + OBJECTS_PER_APP),
    )


# --- running the tools ---------------------------------------------------------------


def kctl_script() -> tuple[str, str]:
    """The installed console script and a note on which one is run.

    ``shutil.which`` may find a pyenv shim (a bash script that adds ~100 ms before Python
    starts); the script installed next to this interpreter is what the package put there.
    """
    beside = Path(sys.executable).parent / "kctl"
    if beside.exists():
        return str(beside), f"kctl is the console script next to the interpreter ({beside})."
    found = shutil.which("kctl")
    if found is None:
        raise RuntimeError("kctl is not installed (pip install -e .)")
    return found, f"kctl is {found} from PATH (no script next to {sys.executable})."


def bytecode_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE: Python reads (and writes) .pyc."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Cli:
    """One command-line tool bound to the server: its program and global flags."""

    name: str
    prefix: tuple[str, ...]
    env: dict[str, str]

    def run(self, *args: str) -> tuple[float, list[str]]:
        """Run one command to completion: its wall time and its non-empty output lines.

        A failing command fails the benchmark (an error must not be timed as a result).
        """
        argv = [*self.prefix, *args]
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL
        )
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {proc.returncode}:\n"
                f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
            )
        return elapsed, [line for line in proc.stdout.splitlines() if line.strip()]


def tools(server: ApiServer, kctl: str, cache_dir: Path) -> tuple[Cli, Cli]:
    kc = str(server.kubeconfig)
    return (
        Cli("kctl", (kctl, "--kubeconfig", kc), bytecode_env()),
        Cli(
            "kubectl",
            ("kubectl", "--kubeconfig", kc, "--cache-dir", str(cache_dir)),
            dict(os.environ),
        ),
    )


def in_turn(clis: Sequence[Cli], rep: int) -> Sequence[Cli]:
    """The tools in the order of repetition ``rep``: each goes first every other time."""
    return clis if rep % 2 == 0 else list(reversed(clis))


def median(xs: Sequence[float]) -> float:
    return percentile(sorted(xs), 50)


# --- apply ---------------------------------------------------------------------------


@dataclass
class ApplyTimes:
    first: list[float] = field(default_factory=list)
    second: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # "2nd unchanged secret": n


def apply_once(cli: Cli, work: Workload, namespace: str, label: str, into: ApplyTimes) -> float:
    elapsed, lines = cli.run("apply", "-f", str(work.directory), "-n", namespace)
    if len(lines) != work.objects:
        raise RuntimeError(
            f"{cli.name} apply printed {len(lines)} lines for {work.objects} objects: {lines[:5]}"
        )
    # "configmap/cm-0001 created" -> "1st created configmap"
    into.outcomes.update(
        f"{label} {line.rsplit(' ', 1)[-1]} {line.split('/', 1)[0]}" for line in lines
    )
    return elapsed


def measure_apply(
    client: httpx.Client, clis: Sequence[Cli], work: Workload, reps: int
) -> dict[str, ApplyTimes]:
    times = {cli.name: ApplyTimes() for cli in clis}
    for rep in range(reps):
        for cli in in_turn(clis, rep):
            ns = f"{work.key}-{cli.name}-{rep}"
            ensure_namespace(client, ns)
            t = times[cli.name]
            t.first.append(apply_once(cli, work, ns, "1st", t))
            check_stored(client, work, ns)
            t.second.append(apply_once(cli, work, ns, "2nd", t))
    return times


def check_stored(client: httpx.Client, work: Workload, namespace: str) -> None:
    """The server holds every object the apply reported (not only the printed lines)."""
    found = sum(
        len(
            check(
                client.get(
                    f"{prefix}/namespaces/{namespace}/{plural}",
                    params={"labelSelector": work.selector},
                )
            ).json()["items"]
        )
        for prefix, plural in work.collections
    )
    if found != work.objects:
        raise RuntimeError(f"{namespace}: {found} objects stored, {work.objects} applied")


def apply_tables(
    results: Sequence[tuple[Workload, dict[str, ApplyTimes]]],
) -> tuple[list[Table], list[Goal], list[str]]:
    rows: list[list[Any]] = []
    ratio_rows: list[list[Any]] = []
    goals: list[Goal] = []
    notes: list[str] = []
    for work, times in results:
        for name, t in times.items():
            first = median(t.first)
            rows.append(
                [
                    work.what,
                    name,
                    len(t.first),
                    first,
                    min(t.first),
                    max(t.first),
                    work.objects / first,
                    median(t.second),
                ]
            )
            unusual = {
                k: v
                for k, v in t.outcomes.items()
                if not k.startswith(("1st created ", "2nd unchanged "))
            }
            if unusual:
                notes.append(
                    f"{name} apply of {work.what} printed: {dict(sorted(unusual.items()))}."
                )
        kctl, kubectl = times["kctl"], times["kubectl"]
        r1 = median(kubectl.first) / median(kctl.first)
        r2 = median(kubectl.second) / median(kctl.second)
        ratio_rows.append([work.what, r1, r2])
        goals.append(
            Goal(
                f"kctl apply -f DIR, {work.what}, vs kubectl apply (client-side)",
                f">= {APPLY_GOAL_RATIO:.0f}x faster",
                f"{r1:.2f}x ({median(kctl.first):.2f} s vs {median(kubectl.first):.2f} s)",
                r1 >= APPLY_GOAL_RATIO,
            )
        )
    tables = [
        Table(
            "apply -f DIR into an empty namespace, then again (all unchanged); whole command",
            [
                "directory",
                "tool",
                "runs",
                "1st apply p50 s",
                "min s",
                "max s",
                "objects/s",
                "2nd apply p50 s",
            ],
            rows,
        ),
        Table(
            "kubectl time / kctl time (medians)",
            ["directory", "1st apply", "2nd apply (unchanged)"],
            ratio_rows,
        ),
    ]
    return tables, goals, notes


# --- get pods and start-up -----------------------------------------------------------


def measure_get(
    clis: Sequence[Cli], namespace: str, pods: int, reps: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {cli.name: [] for cli in clis}
    for rep in range(reps):
        for cli in in_turn(clis, rep):
            elapsed, lines = cli.run("get", "pods", "-n", namespace)
            if len(lines) != pods + 1:
                raise RuntimeError(
                    f"{cli.name} get pods printed {len(lines)} lines for {pods} pods + header"
                )
            times[cli.name].append(elapsed)
    return times


def measure_startup(kctl: str, reps: int) -> dict[str, list[float]]:
    """``kctl version --client`` beside its floor (``python -c pass``) and kubectl's."""
    env = bytecode_env()
    commands = {
        "python -c pass": Cli("python", (sys.executable, "-c", "pass"), env),
        "kctl version --client": Cli("kctl", (kctl, "version", "--client"), env),
        "kubectl version --client": Cli("kubectl", ("kubectl", "version", "--client"), env),
    }
    for cli in commands.values():
        cli.run()  # writes any missing bytecode; warms the page cache
    times: dict[str, list[float]] = {what: [] for what in commands}
    for _ in range(reps):
        for what, cli in commands.items():
            times[what].append(cli.run()[0])
    return times


def ms_row(what: str, samples: Sequence[float]) -> list[Any]:
    return [what, len(samples), median(samples) * 1e3, min(samples) * 1e3, max(samples) * 1e3]


MS_COLUMNS = ["command", "runs", "p50 ms", "min ms", "max ms"]


# --- the run -------------------------------------------------------------------------


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    kctl, which_note = kctl_script()
    with run_apiserver() as server, temp_dir("kctl-bench-cli-") as base:
        cms, app, warm = write_workloads(base, sizes)
        clis = tools(server, kctl, base / "kubectl-cache")
        with server.client() as client:
            ensure_namespace(client, PODS_NAMESPACE)
            for cli in clis:  # discovery cache, bytecode: a user's second command
                ns = f"warm-{cli.name}"
                ensure_namespace(client, ns)
                apply_once(cli, warm, ns, "warm", ApplyTimes())
                cli.run("get", "pods", "-n", ns)
            applied = [(w, measure_apply(client, clis, w, sizes.applies)) for w in (cms, app)]
        t0 = time.perf_counter()
        fill_pods(server, sizes.pods, sizes.fill_clients)
        fill_s = time.perf_counter() - t0
        stored = (sizes.pods // sizes.fill_clients) * sizes.fill_clients
        gets = measure_get(clis, PODS_NAMESPACE, stored, sizes.gets)
    startup = measure_startup(kctl, sizes.startups)

    tables, goals, notes = apply_tables(applied)
    tables += [
        Table(
            f"get pods -n {PODS_NAMESPACE} with {stored:,} pods stored; whole command, output to a pipe",
            MS_COLUMNS,
            [ms_row(f"{cli.name} get pods", gets[cli.name]) for cli in clis],
        ),
        Table(
            "Start-up: whole command, bytecode available",
            MS_COLUMNS,
            [ms_row(what, samples) for what, samples in startup.items()],
        ),
    ]
    get_s = median(gets["kctl"])
    start_ms = median(startup["kctl version --client"]) * 1e3
    floor_ms = median(startup["python -c pass"]) * 1e3
    goals += [
        Goal(
            f"kctl get pods with {stored:,} pods (median of {len(gets['kctl'])})",
            f"<= {GET_GOAL_S:.0f} s",
            f"{get_s:.2f} s (kubectl {median(gets['kubectl']):.2f} s)",
            get_s <= GET_GOAL_S,
        ),
        Goal(
            f"kctl version --client (median of {sizes.startups})",
            f"<= {STARTUP_GOAL_MS:.0f} ms",
            f"{start_ms:.0f} ms ({start_ms - floor_ms:.0f} ms above python -c pass)",
            start_ms <= STARTUP_GOAL_MS,
        ),
    ]
    notes += [
        which_note,
        "kubectl is /usr/bin/kubectl "
        f"({kubectl_version()}), client-side apply (its default), discovery cached in a "
        "temporary --cache-dir by a warm-up run; kctl applies server-side.",
        "PYTHONDONTWRITEBYTECODE is set in this environment; it is removed for every kctl and "
        "python command, and each ran once untimed first, so the timed runs load .pyc files "
        "as an installed package does.",
        f"Pods: {stored:,} created through the API by {sizes.fill_clients} clients in "
        f"{fill_s:.1f} s (bench_api_pods' fill), in namespace {PODS_NAMESPACE}.",
        "The machine has 2 cores and is shared: wall times include CPU noise from other "
        "processes; medians of alternating runs are reported.",
    ]
    return tables, goals, notes


def kubectl_version() -> str:
    out = subprocess.run(
        ["kubectl", "version", "--client"], capture_output=True, text=True, check=False
    )
    first = out.stdout.splitlines()[:1]
    return first[0].removeprefix("Client Version: ").strip() if first else "unknown version"


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--configmaps", type=int, help="override the number of ConfigMap files")
    p.add_argument("--pods", type=int, help="override the number of stored pods")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        configmaps=args.configmaps or base.configmaps,
        apps=base.apps,
        pods=args.pods or base.pods,
        fill_clients=base.fill_clients,
        applies=base.applies,
        gets=base.gets,
        startups=base.startups,
    )
    if shutil.which("kubectl") is None:
        raise SystemExit("kubectl not found: it is this benchmark's baseline")
    return publish(
        "bench_cli",
        f"CLI: apply of {sizes.configmaps:,} ConfigMaps and a {sizes.apps * OBJECTS_PER_APP}"
        f"-object app vs kubectl, get of {sizes.pods:,} pods, start-up",
        argv,
        run(sizes),
        args.json,
    )


if __name__ == "__main__":
    main()
