"""Go's ``text/tabwriter`` with the settings kubectl prints every table through.

kubectl writes tab-separated cells into ``tabwriter.NewWriter(out, 6, 4, 3, ' ',
RememberWidths)`` (liggitt/tabwriter, a fork with remembered widths): a column is as
wide as its widest cell plus 3 spaces, never narrower than 6, and the last cell of a
line is written as it is (it belongs to no column). Widths are computed per *column
block* (a run of consecutive lines that all have that column), and with
``RememberWidths`` a column never gets narrower than it was in an earlier block or
flush, which keeps ``get -w`` output aligned as rows stream in.

The writer buffers rows (lists of cells) and lays them out on :meth:`TabWriter.flush`;
a row is one line. Widths are counted in characters, as Go counts runes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MIN_WIDTH = 6
PADDING = 3


class TabWriter:
    """Buffers rows of cells and lays them out kubectl's way on :meth:`flush`."""

    def __init__(self, *, minwidth: int = MIN_WIDTH, padding: int = PADDING) -> None:
        self.minwidth = minwidth
        self.padding = padding
        self._rows: list[Sequence[str]] = []
        self._remembered: list[int] = []

    def write(self, rows: Iterable[Sequence[str]]) -> None:
        self._rows.extend(rows)

    @property
    def pending(self) -> bool:
        return bool(self._rows)

    def reset_widths(self) -> None:
        """Forget remembered widths (``SetRememberedWidths(nil)``): a new table starts."""
        self._remembered = []

    def flush(self) -> str:
        """The buffered rows as aligned text (each line ending in a newline)."""
        rows, self._rows = self._rows, []
        if not rows:
            return ""
        ncells = len(rows[0])
        if all(len(r) == ncells for r in rows):
            widths = [
                self._width(c, self._widest(rows, c, 0, len(rows))) for c in range(ncells - 1)
            ]
            return "".join(
                "".join([cell.ljust(w) for cell, w in zip(row, widths, strict=False)])
                + row[-1]
                + "\n"
                for row in rows
            )
        return self._flush_blocks(rows)

    def _widest(self, rows: list[Sequence[str]], col: int, start: int, end: int) -> int:
        return max(len(rows[i][col]) for i in range(start, end))

    def _width(self, col: int, widest: int) -> int:
        """A block's width for column ``col``, remembered for later blocks and flushes."""
        width = max(self.minwidth, widest + self.padding)
        if col < len(self._remembered):
            width = max(width, self._remembered[col])
            self._remembered[col] = width
        else:
            self._remembered.extend([0] * (col - len(self._remembered)))
            self._remembered.append(width)
        return width

    def _flush_blocks(self, rows: list[Sequence[str]]) -> str:
        """Rows of different lengths: a column block is a maximal run of consecutive
        rows having that column (Go's nested blocks coincide with such runs); blocks are
        processed in order, so remembered widths carry from one block to the next."""
        ncols = max(len(r) for r in rows) - 1  # the last cell of a line is no column
        widths = [[0] * len(rows) for _ in range(ncols)]
        for c in range(ncols):
            for start, end in _runs([len(r) - 1 > c for r in rows]):
                width = self._width(c, self._widest(rows, c, start, end))
                for i in range(start, end):
                    widths[c][i] = width
        out: list[str] = []
        for i, row in enumerate(rows):
            last = len(row) - 1
            if last < 0:
                out.append("\n")
                continue
            parts = [cell.ljust(widths[c][i]) for c, cell in enumerate(row[:last])]
            out.append("".join(parts) + row[last] + "\n")
        return "".join(out)


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive True values."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, flag in enumerate(flags):
        if flag and start < 0:
            start = i
        elif not flag and start >= 0:
            runs.append((start, i))
            start = -1
    if start >= 0:
        runs.append((start, len(flags)))
    return runs


def tabulate(rows: Iterable[Sequence[str]]) -> str:
    """One-shot layout of ``rows`` with kubectl's settings."""
    writer = TabWriter()
    writer.write(rows)
    return writer.flush()
