"""Following objects until something is true: durations, deadlines, list+watch.

``rollout status``, ``wait``, ``scale --timeout`` and ``logs deploy/x`` all wait for the
server to report a state. They wait the way kubectl's informers do (and the way
DESIGN.md asks every client to): list once, then watch from the list's
resourceVersion, so no change between the two is missed; when the server ends a watch
(``timeoutSeconds``) the watch is resumed from the last revision seen, and a 410 Gone
(the revision was compacted) means list again. :func:`follow` hides that loop behind
an iterator of events, and stops when the :class:`Deadline` passes.

Durations are Go's (``30s``, ``1m30s``, ``500ms``) because the flags are kubectl's.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.client.http import Client

WATCH_CHUNK_SECONDS = 300  # one watch request when waiting without a deadline
SYNCED = "SYNCED"  # pseudo-event after the initial list

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_TERM = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

Event = tuple[str, dict[str, Any]]


def parse_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` in seconds; ``ValueError`` with Go's message."""
    value = text.strip()
    sign = -1.0 if value.startswith("-") else 1.0
    body = value.lstrip("+-")
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _TERM.match(body, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


@dataclass
class Deadline:
    """A point in time to stop waiting; ``seconds=None`` waits forever."""

    seconds: float | None
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return max(0.0, self.start + self.seconds - time.monotonic())

    @property
    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def watch_seconds(self) -> int:
        """``timeoutSeconds`` for the next watch request: until the deadline (rounded
        up: the server counts whole seconds) or one chunk when there is none."""
        left = self.remaining()
        return WATCH_CHUNK_SECONDS if left is None else max(1, math.ceil(left))


def _name(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _rv(obj: dict[str, Any]) -> str | None:
    return obj.get("metadata", {}).get("resourceVersion")


def follow(
    client: Client,
    info: ResourceInfo,
    namespace: str | None,
    deadline: Deadline,
    *,
    name: str | None = None,
    label_selector: str | None = None,
) -> Iterator[Event]:
    """The objects (one by ``name``, or those matching ``label_selector``): first their
    current state as ``ADDED`` events and a ``SYNCED`` marker, then every change
    (``ADDED``/``MODIFIED``/``DELETED``) until the caller stops or the deadline passes
    (the iterator then just ends; callers check ``deadline.expired``)."""
    from kctl.api.errors import Gone

    ns = namespace if info.namespaced else None
    fields = f"metadata.name={name}" if name else None
    known: dict[str, dict[str, Any]] = {}
    first = True
    while True:
        listing = client.list(info, ns, field_selector=fields, label_selector=label_selector)
        rv = listing.get("metadata", {}).get("resourceVersion")
        current = {_name(item): item for item in listing.get("items") or []}
        for gone in [k for k in known if k not in current]:
            yield "DELETED", known[gone]
        for key, item in current.items():
            yield ("ADDED" if first or key not in known else "MODIFIED"), item
        known = current
        if first:
            yield SYNCED, {}
            first = False
        try:
            while not deadline.expired:
                events = client.watch(
                    info,
                    ns,
                    resource_version=rv,
                    field_selector=fields,
                    label_selector=label_selector,
                    timeout_seconds=deadline.watch_seconds(),
                )
                for etype, obj in events:
                    rv = _rv(obj) or rv
                    if etype == "BOOKMARK":
                        continue
                    if etype == "DELETED":
                        known.pop(_name(obj), None)
                    else:
                        known[_name(obj)] = obj
                    yield etype, obj
                    if deadline.expired:
                        return
            return
        except Gone:
            continue  # compacted past our revision: list again
