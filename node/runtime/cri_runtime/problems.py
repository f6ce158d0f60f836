"""Why a container is waiting: the kubelet's reasons, carried as one exception type.

Whatever stops a container from being created or started now -- an image that cannot
be pulled, a missing ConfigMap key, a crash-loop backoff -- becomes the container's
``state.waiting`` (reason and message) rather than a failure of the whole pod sync, so
the other containers go on and the user sees why in ``kubectl get pods``.
"""

from __future__ import annotations

CREATE_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_ERROR = "CreateContainerError"
RUN_ERROR = "RunContainerError"
CRASH_LOOP_BACKOFF = "CrashLoopBackOff"


class ContainerProblem(Exception):
    """A container cannot start now: the waiting reason and message its status shows,
    and when to try again (None: on the next event)."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
