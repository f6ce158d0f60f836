"""How Go's ``fmt`` and ``time`` render values kubectl describe prints.

kubectl formats most values with ``%v``/``%d``/``%t`` on typed Go fields, so the text a
user sees depends on Go's rules: ``true``/``false``, ``<nil>`` for a missing pointer,
``[a b]`` for a slice, the shortest ``%g`` form for floats (``1e+06``), and
``time.RFC1123Z`` in the machine's local zone for timestamps (with Go's zero time,
``Mon, 01 Jan 0001 00:00:00 +0000``, for an unset one). Describers work on JSON
dicts, so these helpers are the one place that knows those rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from kctl.api.duration import age, parse_timestamp

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZERO_TIME = "Mon, 01 Jan 0001 00:00:00 +0000"


def rfc1123z(timestamp: str | None) -> str:
    """``t.Format(time.RFC1123Z)`` of a ``metav1.Time``, which decodes to local time."""
    if not timestamp:
        return ZERO_TIME
    try:
        when = parse_timestamp(timestamp).astimezone()
    except ValueError:
        return ZERO_TIME
    return format_rfc1123z(when)


def format_rfc1123z(when: datetime) -> str:
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return (
        f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {sign}{hours:02d}{mins:02d}"
    )


def since(timestamp: str | None) -> str:
    """``translateTimestampSince``: ``<unknown>`` for an unset time."""
    return age(timestamp) if timestamp else "<unknown>"


def go_bool(value: Any) -> str:
    return "true" if value else "false"


def title_bool(value: Any) -> str:
    """kubectl's ``printBool``."""
    return "True" if value else "False"


def go_float(value: float) -> str:
    """``%v`` of a float64: shortest digits, exponent form below 1e-4 or from 1e+06."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    assert isinstance(exponent, int)
    point = len(digits) + exponent  # position of the decimal point
    prefix = "-" if sign else ""
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def go_value(value: Any) -> str:
    """``%v`` of a JSON value as Go's unstructured decoding holds it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return go_bool(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def go_quote(text: str) -> str:
    """``%q`` for the printable strings kubectl quotes (label values, sub-paths)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def int_or_string(value: Any) -> str:
    """``intstr.IntOrString.String()``."""
    if value is None:
        return "0"
    return str(value)


def go_int64(value: float) -> int:
    """``int64(f)`` on amd64: truncation, and the minimum int64 for NaN/Inf/overflow."""
    if math.isnan(value) or math.isinf(value) or abs(value) >= 2**63:
        return -(2**63)
    return int(value)
