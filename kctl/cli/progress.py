"""How a long wait looks: a live line on a terminal, plain lines everywhere else.

``rollout status``, ``wait`` and ``scale --timeout`` can wait for minutes. A person at
a terminal wants to see that something is happening (a spinner, what is awaited, for
how long) without a screen full of repeated lines; a CI log or a pipe wants exactly
kubectl's lines, one per state change, so scripts that grep them keep working. Every
waiting verb talks to one :class:`Progress` and does not care which it got:

* ``step(text)``: an intermediate state that is part of kubectl's output (``Waiting for
  deployment "web" rollout to finish: ...``). Printed as a line when not on a terminal;
  on a terminal it replaces the live line.
* ``note(text)``: what is being awaited, for the live line only (kubectl prints
  nothing while ``wait`` waits, so neither do we off a terminal).
* ``result(text)``: a final line, printed in both modes.

The live display is rich's, transient (erased when the wait ends), and imported only
when a terminal is there to see it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Progress:
    """Plain mode: intermediate lines are printed as they come."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def step(self, text: str) -> None:
        self._print(text)

    def note(self, text: str) -> None:
        """Live-only information; nothing off a terminal."""

    def result(self, text: str) -> None:
        self._print(text)

    def close(self) -> None:
        """Stop any live display (nothing to do in plain mode)."""

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


class _LiveProgress(Progress):
    """Terminal mode: one transient spinner line with the elapsed time."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        self._text = ""
        self._start = time.monotonic()
        self._spinner = Spinner("dots")
        self._live = Live(
            get_renderable=self._render,
            console=Console(file=stream),
            refresh_per_second=8,
            transient=True,
        )
        self._live.start()

    def _render(self) -> Any:
        from rich.markup import escape

        elapsed = int(time.monotonic() - self._start)
        self._spinner.update(text=f"{escape(self._text)} [dim]({elapsed}s)[/dim]")
        return self._spinner

    def step(self, text: str) -> None:
        self._text = text

    def note(self, text: str) -> None:
        self._text = text

    def result(self, text: str) -> None:
        self.close()
        self._print(text)

    def close(self) -> None:
        if self._live.is_started:
            self._live.stop()


def is_live_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


@contextmanager
def progress(stream: TextIO | None = None) -> Iterator[Progress]:
    """A :class:`Progress` for one wait on ``stream`` (stdout by default); the live
    line is gone when the block exits, before any error is printed."""
    out = stream or sys.stdout
    display = _LiveProgress(out) if is_live_terminal(out) else Progress(out)
    try:
        yield display
    finally:
        display.close()
