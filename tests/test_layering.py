"""The layering of DESIGN.md, checked as a test so that a broken layer fails the suite.

The import-linter contracts in pyproject.toml check the static import graph; the second
test checks what actually gets loaded at run time, which is what keeps API clients (the
CLI, controllers, node agents) light and free of the server's drivers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules that an API client must never load: the server and its drivers.
FORBIDDEN_PREFIXES = ("sqlalchemy", "grpc", "kctl.server", "kctl.store")


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports not found: install the test extras (scripts/setup.sh)")
    proc = subprocess.run(
        [exe, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"import contracts broken:\n{proc.stdout}{proc.stderr}", pytrace=False)


IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
for name in ("kctl.api", "kctl.client"):
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(info.name)
loaded = sorted(
    m for m in sys.modules
    if any(m == p or m.startswith(p + ".") for p in json.loads(sys.argv[1]))
)
print(json.dumps(loaded))
"""


def test_api_and_client_do_not_load_server_or_drivers() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, json.dumps(FORBIDDEN_PREFIXES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing kctl.api and kctl.client loaded {loaded}"
