"""Field-error vocabulary (``k8s.io/apimachinery/pkg/util/validation/field``).

Why it exists: every layer that reports a problem (the schema explanation, the semantic
rules, the update rules) must speak exactly as kube-apiserver does, so clients that
parse ``Status.details.causes`` (kubectl, controllers, tests) see the same reasons and
message shapes. Keeping the reasons and the message builders in one place is what makes
the three layers consistent.

Design: :class:`Errors` is a tiny accumulator with one method per upstream
``field.Error`` constructor (``Invalid``, ``Required``, ``NotSupported``...). Values are
rendered by :func:`show` the way Go's field errors print them (strings quoted, scalars
bare, ``map[string]string{...}`` for string maps, else compact JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kctl.api.errors import Cause

INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"


def show(value: Any) -> str:
    """A value as field errors print it: strings quoted, scalars bare, else JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class Errors:
    """Collects causes with kube-apiserver's message shapes."""

    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.causes.append(Cause(path, f"Invalid value: {show(value)}: {detail}", INVALID))

    def required(self, path: str, detail: str = "") -> None:
        msg = "Required value" + (f": {detail}" if detail else "")
        self.causes.append(Cause(path, msg, REQUIRED))

    def not_supported(self, path: str, value: Any, supported: Iterable[str]) -> None:
        options = ", ".join(json.dumps(s) for s in supported)
        msg = f"Unsupported value: {show(value)}: supported values: {options}"
        self.causes.append(Cause(path, msg, NOT_SUPPORTED))

    def duplicate(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, f"Duplicate value: {show(value)}", DUPLICATE))

    def forbidden(self, path: str, detail: str) -> None:
        self.causes.append(Cause(path, f"Forbidden: {detail}", FORBIDDEN))

    def not_found(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, f"Not found: {show(value)}", NOT_FOUND))

    def too_long(self, path: str, limit: int) -> None:
        self.causes.append(Cause(path, f"Too long: may not be more than {limit} bytes", TOO_LONG))
