"""Defensive readers for the rule layers (semantic and update rules).

Why it exists: the semantic and update rules run on *every* write, including objects
the schema layer has already rejected (a string where a list belongs, a list where a
map belongs...). Upstream's rules run on typed Go structs and never see such values;
ours read raw JSON. Rather than sprinkling ``isinstance`` checks through every rule,
rules read fields through these helpers, which return an empty/neutral value for a wrong
type, so a type error reported by the schema layer never crashes a rule or produces a
second, confusing cause.

Design: pure functions, no state. :func:`nonnegative` is the one generic check (upstream's
``ValidateNonnegativeField``) shared by several rule modules, so it lives here too.
"""

from __future__ import annotations

from typing import Any

from kctl.api.validation.fielderrors import Errors


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, v) for i, v in enumerate(as_list(value)) if isinstance(v, dict)]


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_strmap(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def nonnegative(errs: Errors, path: str, value: Any) -> None:
    v = as_int(value)
    if v is not None and v < 0:
        errs.invalid(path, v, "must be greater than or equal to 0")
