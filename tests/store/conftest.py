"""Store tests run against both backends: ``store_url`` is parametrized over SQLite (a
file in tmp_path) and PostgreSQL (a fresh database on the throwaway server of
``tests.fixtures.postgres``, registered suite-wide by tests/conftest.py and started
only when a postgres case runs)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return str(request.getfixturevalue("postgres_url"))
