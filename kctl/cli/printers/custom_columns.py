"""``-o custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[*].image``.

As kubectl's CustomColumnsPrinter: the spec is split at every comma and each column
at its first colon; the path is relaxed (``metadata.name``, ``{.metadata.name}``...) and
evaluated as JSONPath with missing keys allowed; a cell joins all its values with
commas, each printed with Go's ``%v`` (``map[app:web]``), or shows ``<none>``. Headers
are printed as given, once, even when there are no objects. The layout is kubectl's
tabwriter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kctl.cli.printers.gofmt import sprint
from kctl.cli.printers.jsonpath import JSONPath, JSONPathError, relaxed


@dataclass(frozen=True)
class Column:
    header: str
    path: JSONPath


def parse_spec(spec: str) -> list[Column]:
    """Columns from ``HEADER:path,...``; errors with kubectl's messages."""
    if not spec:
        raise JSONPathError("custom-columns format specified but no custom columns given")
    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep:
            raise JSONPathError(
                f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )
        columns.append(Column(header, JSONPath(relaxed(path))))
    return columns


def parse_file(text: str) -> list[Column]:
    """``custom-columns-file``: a line of headers, a line of paths (whitespace-separated)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 2:
        raise JSONPathError(f"expected two lines, got {len(lines)}")
    headers, paths = lines[0].split(), lines[1].split()
    if len(headers) != len(paths):
        raise JSONPathError(
            f"number of headers ({len(headers)}) does not match number of columns ({len(paths)})"
        )
    return [Column(h, JSONPath(relaxed(p))) for h, p in zip(headers, paths, strict=True)]


def cell(column: Column, obj: Mapping[str, Any]) -> str:
    results = column.path.find_results(obj)
    values = [sprint(v) for group in results for v in group]
    if not results or not results[0]:
        return ",".join(["<none>", *values])
    return ",".join(values)


def rows(
    columns: list[Column], objects: Iterable[Mapping[str, Any]], *, headers: bool
) -> list[list[str]]:
    out = [[c.header for c in columns]] if headers else []
    out.extend([cell(c, obj) for c in columns] for obj in objects)
    return out
