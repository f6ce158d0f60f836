"""Human durations and object ages, exactly as Kubernetes prints them.

kubectl users read ``AGE`` columns every day and notice when ``2m5s`` turns into
``2m``: the rounding rules are part of the interface. :func:`human_duration` follows
``k8s.io/apimachinery/pkg/util/duration.HumanDuration`` step for step (~2-3 significant
figures, a 2 s tolerance for clock skew, ``<invalid>`` for timestamps further in the
future). The arithmetic is done on whole nanoseconds with truncation, as Go's integer
``time.Duration`` division does, so boundaries fall on the same second.

:func:`age` is the printers' ``translateTimestampSince``: RFC 3339 timestamp in,
``<unknown>`` when the object has none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_NS = 1_000_000_000
_MINUTE = 60 * _NS
_HOUR = 60 * _MINUTE


def _trunc_div(a: int, b: int) -> int:
    # Go integer division truncates toward zero (Python's // floors).
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def human_duration(seconds: float) -> str:
    """``HumanDuration``: 59s, 2m5s, 15m, 3h20m, 2d3h, 1y20d, 10y."""
    return human_duration_ns(int(seconds * _NS))


def human_duration_ns(d: int) -> str:
    """:func:`human_duration` on whole nanoseconds (Go's ``time.Duration``)."""
    secs = _trunc_div(d, _NS)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = d // _MINUTE
    if minutes < 10:
        s = (d // _NS) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = d // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp (``Time`` or ``MicroTime``) as an aware datetime."""
    ts = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """Human time since ``timestamp``; ``<unknown>`` when unset or unparsable."""
    if not timestamp:
        return "<unknown>"
    try:
        then = parse_timestamp(timestamp)
    except ValueError:
        return "<unknown>"
    delta = (now or datetime.now(UTC)) - then
    return human_duration_ns((delta // timedelta(microseconds=1)) * 1000)
