"""Printing the server's Tables as ``kubectl get`` does.

The server computes the columns (``kctl.api.tables``); kubectl's part, reproduced
here, is decorating and laying them out:

* ``priority != 0`` columns only with ``-o wide``; headers are the column names in
  upper case (``NOMINATED NODE``), printed once per run of tables with the same
  columns and not at all for a table without rows;
* ``-A`` prepends NAMESPACE (from each row's ``object.metadata``), ``-L key`` appends
  one column per key (header: the key's last path segment, upper-cased),
  ``--show-labels`` appends LABELS; with several types the ``format: name`` column
  becomes ``deployment.apps/web``; watch events prepend EVENT (``ADDED   ``, padded
  to 8 as kubectl pads it);
* a cell is cut at its first line break (``...`` appended) and ESC is shown as ``^[``.

:class:`TablePrinter` turns one Table into rows of cells; :class:`TableOutput` is
``get``'s output loop around a :class:`~.tabwriter.TabWriter` (a new type flushes and
resets the widths, and a blank line separates types that printed something).
Formatting is plain string work per cell, so 10,000 rows lay out in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from kctl.cli.printers.gofmt import sprint
from kctl.cli.printers.tabwriter import TabWriter

Row = list[str]

EVENT_TYPES = {
    "ADDED": "ADDED   ",
    "MODIFIED": "MODIFIED",
    "DELETED": "DELETED ",
    "ERROR": "ERROR   ",
}


@dataclass(frozen=True)
class TableOptions:
    wide: bool = False
    no_headers: bool = False
    with_namespace: bool = False
    kind: str = ""  # "deployment.apps": prefix names with it (several types printed)
    show_labels: bool = False
    label_columns: tuple[str, ...] = ()


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """``labels.FormatLabels``: the ``k=v`` pairs sorted as strings (so ``a.b=x`` sorts
    before ``a=y``), comma-joined; ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))


def label_header(key: str) -> str:
    """The ``-L`` column header: the last ``/`` segment of the key, upper-cased."""
    return key.rsplit("/", 1)[-1].upper()


def _escaped(text: str) -> str:
    return text.replace("\x1b", "^[").replace("\r", "\\r")


def cell_text(cell: Any) -> str:
    """One cell as kubectl writes it: cut at the first line break (``...``), escaped."""
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else sprint(cell)
    if text.isprintable():
        return text
    cut = min(
        (i for i in (text.find("\n"), text.find("\r"), text.find("\f")) if i >= 0), default=-1
    )
    if cut >= 0:
        return _escaped(text[:cut]) + "..."
    return _escaped(text)


def _metadata(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    obj = row.get("object")
    if isinstance(obj, Mapping):
        meta = obj.get("metadata")
        if isinstance(meta, Mapping):
            return meta
    return None


class TablePrinter:
    """kubectl's HumanReadablePrinter for server Tables, for one resource type.

    Stateful like kubectl's: headers are printed with the first table that has rows
    and again only when the columns change; a table without column definitions (watch
    events after the first) reuses the last ones."""

    def __init__(self, options: TableOptions) -> None:
        self.options = options
        self._last_columns: list[Any] = []
        self._printed_headers = False

    def rows(self, table: Mapping[str, Any], event_type: str = "") -> list[Row]:
        """The header (when due) and the rows of ``table``, as lists of cell texts."""
        opts = self.options
        columns = list(table.get("columnDefinitions") or [])
        no_headers = opts.no_headers
        if self._printed_headers and (not columns or columns == self._last_columns):
            no_headers = True
        if not columns:
            columns = self._last_columns
        elif columns != self._last_columns:
            self._last_columns = columns
            self._printed_headers = False
        rows = list(table.get("rows") or [])
        if rows:
            self._printed_headers = True

        names, visible, cells_of = self._decorate(columns)
        if event_type:
            names = ["Event", *names]
            visible = [True, *visible]
        out: list[Row] = []
        if not no_headers:
            if not rows:
                return out
            out.append([n.upper() for n, show in zip(names, visible, strict=True) if show])
        prefix = [EVENT_TYPES.get(event_type, event_type)] if event_type else []
        for row in rows:
            cells = prefix + cells_of(row)
            line = [cell_text(c) for c, show in zip(cells, visible, strict=False) if show]
            if any("\t" in c for c in line):  # a tab in a cell starts a new cell, as in Go
                line = "\t".join(line).split("\t")
            out.append(line)
        return out

    def _decorate(self, columns: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[bool], Any]:
        """Column names, which are shown, and a function giving a row's cells, after
        adding NAMESPACE / -L / LABELS columns and the kind prefix (decorateTable)."""
        opts = self.options
        wide = opts.wide
        names = [str(c.get("name", "")) for c in columns]
        visible = [wide or not c.get("priority") for c in columns]
        name_col = -1
        if opts.kind:
            for i, col in enumerate(columns):
                if col.get("format") == "name" and col.get("type") == "string":
                    name_col = i
                    break
        labels = opts.label_columns
        if opts.with_namespace:
            names.insert(0, "Namespace")
            visible.insert(0, True)
        names.extend(label_header(k) for k in labels)
        names.extend(["Labels"] if opts.show_labels else [])
        visible.extend([True] * (len(names) - len(visible)))
        ncols = len(columns)
        decorate = opts.with_namespace or labels or opts.show_labels or name_col >= 0
        kind = opts.kind

        def cells_of(row: Mapping[str, Any]) -> list[Any]:
            cells = list(row.get("cells") or [])[:ncols]
            if not decorate:
                return cells
            if name_col >= 0 and name_col < len(cells):
                cells[name_col] = f"{kind}/{cell_text(cells[name_col])}"
            meta = _metadata(row)
            if opts.with_namespace:
                cells.insert(0, meta.get("namespace", "") if meta is not None else None)
            if labels or opts.show_labels:
                if meta is None:
                    cells.extend([None] * (len(labels) + opts.show_labels))
                else:
                    item_labels = meta.get("labels") or {}
                    cells.extend(item_labels.get(k, "") for k in labels)
                    if opts.show_labels:
                        cells.append(format_labels(item_labels))
            return cells

        return names, visible, cells_of


class TableOutput:
    """``kubectl get``'s human-readable output loop over one :class:`TabWriter`.

    :meth:`new_type` starts the rows of another resource type: what is buffered is
    flushed, widths are forgotten, and (unless ``--no-headers``) a blank line will
    precede the next output if anything was printed before. :attr:`written` tells
    whether anything was printed at all (for "No resources found")."""

    def __init__(self, out: IO[str], *, no_headers: bool = False) -> None:
        self.out = out
        self.no_headers = no_headers
        self.writer = TabWriter()
        self.written = 0
        self._started = False
        self._separator = False

    def new_type(self) -> None:
        self.flush()
        self.writer.reset_widths()
        if self._started and not self.no_headers and self.written:
            self._separator = True
        self._started = True

    def add(self, rows: list[Row]) -> None:
        self.writer.write(rows)

    def flush(self) -> None:
        text = self.writer.flush()
        if not text:
            return
        if self._separator:
            self.out.write("\n")
            self._separator = False
        self.out.write(text)
        self.written += len(text)
        self.out.flush()
