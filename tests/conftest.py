"""Suite-wide wiring.

Fixtures shared across test packages live in tests/fixtures/, one module per real component
(an API server process, a PostgreSQL server, ...). Every module there is registered as a
pytest plugin by discovery, so adding one needs no edit here. They are imported as
``tests.fixtures.<name>`` (the repository root is on sys.path through pytest's
``pythonpath``), the same name the test modules use to import their helpers, so each is
loaded once.
"""

from __future__ import annotations

from pathlib import Path

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if not path.name.startswith("_")
)
