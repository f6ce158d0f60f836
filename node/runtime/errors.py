"""The node runtime's own errors, so no gRPC type leaves ``node.runtime.cri``.

The CRI client turns every failed call into one of these, chosen by the gRPC status
code, so the agent can decide without knowing the transport: ``NotFound`` for a
container or sandbox that is gone (cleanup treats it as done), ``Unavailable`` when the
runtime's socket does not answer (the node is not ready), ``DeadlineExceeded`` when a
call ran past its deadline. All of them are :class:`~node.runtime.base.RuntimeFailure`,
which the agent already retries with backoff.
"""

from __future__ import annotations

from node.runtime.base import RuntimeFailure


class CriError(RuntimeFailure):
    """A CRI call failed. ``method`` is the RPC's name, ``code`` the gRPC status name."""

    code = "UNKNOWN"

    def __init__(self, message: str, *, method: str = "", code: str | None = None) -> None:
        super().__init__(f"{method}: {message}" if method else message)
        self.method = method
        self.detail = message
        if code is not None:
            self.code = code


class NotFound(CriError):
    code = "NOT_FOUND"


class AlreadyExists(CriError):
    code = "ALREADY_EXISTS"


class InvalidArgument(CriError):
    code = "INVALID_ARGUMENT"


class FailedPrecondition(CriError):
    code = "FAILED_PRECONDITION"


class Unavailable(CriError):
    """The runtime did not answer (socket missing, runtime restarting)."""

    code = "UNAVAILABLE"


class DeadlineExceeded(CriError):
    code = "DEADLINE_EXCEEDED"


class Unimplemented(CriError):
    code = "UNIMPLEMENTED"


class Cancelled(CriError):
    code = "CANCELLED"


_BY_CODE: dict[str, type[CriError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        InvalidArgument,
        FailedPrecondition,
        Unavailable,
        DeadlineExceeded,
        Unimplemented,
        Cancelled,
    )
}


def error_for(code: str, message: str, method: str = "") -> CriError:
    """The exception for a gRPC status code name (``"NOT_FOUND"``...); others are CriError."""
    cls = _BY_CODE.get(code, CriError)
    return cls(message, method=method, code=code)
