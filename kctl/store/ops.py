"""Write operations as the writer thread receives them, and what they produce.

A caller (a coroutine on the API server's event loop) builds an operation, hands it to
the writer and awaits its future; the writer resolves it with an :class:`Event` (the
write committed at that revision) or an exception (a precondition failed, or the
database did). Labels and selector fields are computed by the caller before the op is
queued, so that work stays outside the writer's transaction.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any

from kctl.store.types import Event, Key


class OpKind(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    COMPACT = "compact"  # raise meta.compacted, delete one batch of log rows
    MAINTAIN = "maintain"  # backend housekeeping outside a transaction (WAL checkpoint)


@dataclass(slots=True)
class Op:
    kind: OpKind
    future: asyncio.Future[Any]
    key: Key | None = None
    obj: dict[str, Any] | None = None  # the new object; for DELETE the optional last state
    expected: int | None = None  # CAS revision; None = unconditional
    labels: dict[str, str] | None = None
    fields: dict[str, str] | None = None
    compact_to: int = 0
    compact_batch: int = 0


@dataclass(slots=True)
class CompactResult:
    compacted: int  # meta.compacted after this op
    deleted: int  # log rows deleted by this op
    done: bool  # no log rows at or below ``compacted`` remain


@dataclass(slots=True)
class Outcome:
    """What one op produced: exactly one of ``event``, ``error`` or ``value`` is set."""

    op: Op
    event: Event | None = None
    error: BaseException | None = None
    value: Any = None
