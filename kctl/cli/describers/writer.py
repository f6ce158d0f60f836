"""The aligned layout of ``kubectl describe``: Go's ``text/tabwriter`` and kubectl's
level-indented writer.

kubectl writes every description as text whose cells end in tabs (``"Name:\\t%s\\n"``)
into one ``tabwriter`` (min width 0, padding 2, pad with spaces). The alignment users
see is therefore not a per-section rule but a property of *column blocks*: a run of
consecutive lines that all have a cell in column ``k`` is aligned in that column, and a
line without it ends the block. That is why ``Events:  <none>`` lines up with
``Tolerations:`` above it while ``Events:`` followed by a table does not. Reproducing
the algorithm (rather than padding sections by hand) keeps every describer's output
aligned exactly as kubectl's without each of them knowing about the others.

:class:`PrefixWriter` is kubectl's ``PrefixWriter``: two spaces per level, and the same
terminal-safety escaping kubectl applies to every write (ESC and CR made visible).
"""

from __future__ import annotations

PADDING = 2
LEVEL_0, LEVEL_1, LEVEL_2, LEVEL_3, LEVEL_4 = range(5)


def _escape(text: str) -> str:
    """kubectl's ``printers.WriteEscaped``: no raw terminal control reaches the screen."""
    return text.replace("\x1b", "^[").replace("\r", "\\r")


class TabWriter:
    """Buffers text and aligns tab-terminated cells the way Go's tabwriter does.

    Cells are measured in code points (Go counts runes); the last cell of a line (the
    text after its last tab) belongs to no column and is never padded.
    """

    def __init__(self, padding: int = PADDING) -> None:
        self.padding = padding
        self._pending = ""
        self._out: list[str] = []

    def write(self, text: str) -> None:
        self._pending += text

    def flush(self) -> None:
        """Format everything buffered (kubectl flushes before an events table). As in
        Go, a last line without newline takes part in the alignment and is written
        without one."""
        if not self._pending:
            return
        rows = self._pending.split("\n")
        partial = rows.pop()
        if partial:
            rows.append(partial)
        text = _format([row.split("\t") for row in rows], self.padding)
        self._out.append(text[:-1] if partial else text)
        self._pending = ""

    def getvalue(self) -> str:
        self.flush()
        return "".join(self._out)


def _format(lines: list[list[str]], padding: int) -> str:
    """Go's ``Writer.format``: find column blocks recursively, pad each cell to its
    block's widest cell plus ``padding``."""
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for cells in lines[start:end]:
            parts = []
            for j, cell in enumerate(cells):
                parts.append(cell)
                if j < len(widths):
                    parts.append(" " * (widths[j] - len(cell)))
            out.append("".join(parts) + "\n")

    def block(start: int, end: int) -> None:
        column = len(widths)
        this = start
        while this < end:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(start, this)
            start = this
            width = 0
            while this < end and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            block(start, this)
            widths.pop()
            start = this
        write_lines(start, end)

    block(0, len(lines))
    return "".join(out)


class PrefixWriter:
    """kubectl's ``PrefixWriter`` over a :class:`TabWriter`: ``write(level, text)``
    indents by two spaces per level (only at the start of ``text``, as kubectl's
    format strings do), ``line(text)`` writes ``text`` and a newline unindented."""

    def __init__(self) -> None:
        self._tw = TabWriter()

    def write(self, level: int, text: str) -> None:
        self._tw.write(_escape("  " * level + text))

    def line(self, text: str = "") -> None:
        self._tw.write(_escape(text + "\n"))

    def flush(self) -> None:
        self._tw.flush()

    def getvalue(self) -> str:
        return self._tw.getvalue()
