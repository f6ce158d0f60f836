"""How the CLI reports failures: kubectl's words and exit codes, never a traceback.

``Error from server (NotFound): deployments.apps "web" not found`` for API errors (422
Invalid as ``The Deployment "x" is invalid:`` plus one ``* field: message`` line per
cause), ``error: ...`` for local problems; exit code 1 for both, 2 for usage errors
(click's). ``-v``/``--v=N`` with N >= 6 adds the traceback for debugging.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any


class CliError(Exception):
    """A failure to report as ``error: <message>`` with an exit code (1 by default)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def format_api_error(err: Any) -> str:
    """kubectl's rendering of an API Status error."""
    details = getattr(err, "details", None) or {}
    if getattr(err, "reason", "") == "Invalid" and details.get("causes"):
        kind = details.get("kind") or ""
        name = details.get("name") or ""
        head = f'The {kind} "{name}" is invalid: '
        causes = details["causes"]
        if len(causes) == 1:
            cause = causes[0]
            field = cause.get("field", "")
            return head + (f"{field}: {cause.get('message', '')}" if field else cause.get("message", ""))
        lines = [head.rstrip()]
        for cause in causes:
            field = cause.get("field", "")
            lines.append(f"* {field}: {cause.get('message', '')}" if field else f"* {cause.get('message', '')}")
        return "\n".join(lines)
    return f"Error from server ({err.reason}): {err}"


def report(exc: BaseException, verbosity: int = 0) -> int:
    """Print ``exc`` as kubectl would; return the exit code."""
    from kctl.api.errors import ApiError

    if verbosity >= 6:
        traceback.print_exception(exc)
    if isinstance(exc, ApiError):
        print(format_api_error(exc), file=sys.stderr)
        return 1
    if isinstance(exc, CliError):
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    if type(exc).__name__ == "ConnectionFailed":
        server = getattr(exc, "server", "") or "the server"
        print(f"The connection to the server {server} was refused - did you specify the right "
              f"host or port? ({exc})", file=sys.stderr)
        return 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    print(f"error: {exc}", file=sys.stderr)
    if verbosity < 6:
        print("(run with --v=6 for the traceback)", file=sys.stderr)
    return 1
