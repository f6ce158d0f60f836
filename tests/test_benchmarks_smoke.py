"""Smoke tests of the benchmarks: each ``--quick`` run completes and reports numbers.

The benchmarks are how the project's performance goals are checked, so a benchmark that
rots (a changed API path, a peer that no longer starts) must fail CI rather than be found
broken on the day someone needs a figure. These tests run each benchmark's small variant
as its own process, exactly as a user would, and check the JSON report has tables with
finite numbers in them. They assert nothing about timings against the goals: figures from
a tiny run on a shared CI machine mean nothing.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import REPO, Report

pytestmark = pytest.mark.slow


def _run_quick(name: str, tmp_path: Path, *extra: str) -> Report:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", *extra, "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert out.exists(), f"{name} wrote no report:\n{proc.stdout[-2000:]}"
    report = Report.from_json(out.read_text())
    assert report.name == name
    assert report.command.startswith(f"python -m benchmarks.{name} --quick")
    return report


def _numbers(report: Report) -> list[float]:
    values = []
    for table in report.tables:
        assert table.rows, f"{report.name}: table {table.title!r} is empty"
        for row in table.rows:
            assert len(row) == len(table.columns)
            values += [
                float(v) for v in row if isinstance(v, int | float) and not isinstance(v, bool)
            ]
    return values


def _assert_measured(report: Report, min_numbers: int) -> None:
    values = _numbers(report)
    assert len(values) >= min_numbers, f"{report.name}: too few figures: {values}"
    assert all(math.isfinite(v) and v >= 0 for v in values), values
    assert report.goals, f"{report.name}: no goal evaluated"


def test_store_writes_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_store_writes", tmp_path)
    _assert_measured(report, 12 * 6)
    systems = {row[0] for row in report.tables[0].rows}
    assert systems == {"etcd gRPC", "etcd JSON gateway", "kctl store (in-process)"}


def test_api_writes_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_api_writes", tmp_path)
    _assert_measured(report, 12 * 6)
    assert any(row[0] == "kctl API (HTTPS)" for row in report.tables[0].rows)


def test_watch_latency_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_watch_latency", tmp_path, "--duration", "0.5")
    _assert_measured(report, 10)
    row = report.tables[0].rows[0]
    columns = report.tables[0].columns
    assert row[columns.index("missing")] == 0, row
    assert row[columns.index("delivered")] == row[columns.index("events expected")]


def test_api_pods_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_api_pods", tmp_path, "--pods", "40")
    _assert_measured(report, 5 * 6)
    requests = [row[0] for row in report.tables[1].rows]
    assert any("Table" in r for r in requests)


def test_e2e_hollow_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_e2e_hollow", tmp_path)
    _assert_measured(report, 6)
    measures = {row[0]: row[1] for row in report.tables[0].rows}
    assert measures["apply -> all Running and Ready (s)"] > 0


def test_scheduler_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_scheduler", tmp_path)
    _assert_measured(report, 4)


def test_proxy_sync_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_proxy_sync", tmp_path)
    assert report.goals and all(t.rows for t in report.tables)  # figures are formatted text


def test_proxy_latency_quick(tmp_path: Path) -> None:
    report = _run_quick("bench_proxy_latency", tmp_path)
    assert report.goals and all(t.rows for t in report.tables)


def test_pod_startup_quick(tmp_path: Path) -> None:
    from tests.fixtures.containerd import require_containerd

    require_containerd()
    report = _run_quick("bench_pod_startup", tmp_path)
    _assert_measured(report, 8 * 7)
    methods = [row[0] for row in report.tables[0].rows]
    assert methods[0].startswith("kctl: one pod at a time")
    assert any(m.startswith("raw CRI") for m in methods)
    assert any(m.startswith("ctr run") for m in methods)
    assert all(row[1] == 3 for row in report.tables[0].rows), report.tables[0].rows


def test_cli_quick(tmp_path: Path) -> None:
    import shutil

    if shutil.which("kubectl") is None:
        pytest.skip("kubectl (the baseline) is not installed")
    report = _run_quick("bench_cli", tmp_path)
    _assert_measured(report, 4 * 6 + 2 * 2 + 2 * 4 + 3 * 4)
    tools = {(row[0], row[1]) for row in report.tables[0].rows}
    assert {tool for _, tool in tools} == {"kctl", "kubectl"} and len(tools) == 4
    startup = {row[0] for row in report.tables[3].rows}
    assert {"python -c pass", "kctl version --client"} <= startup
    assert len(report.goals) == 4
