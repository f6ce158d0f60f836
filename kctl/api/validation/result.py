"""The outcome of validating one object, and how it maps to an HTTP error.

Why it exists: the validator reports two different kinds of problems that upstream
answers differently: *causes* (semantic or type errors, 422 Invalid) and *unknown
fields* (a strict-decoding failure, 400 BadRequest with ``fieldValidation=Strict``, or
warnings with ``Warn``). The admission code only needs one object that knows the
precedence between them; this module is that object, with no dependency on how the
validation was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kctl.api.errors import ApiError, BadRequest, Cause, invalid

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo


@dataclass
class ValidationResult:
    """``causes`` -> 422 Invalid. ``unknown_fields`` (paths like ``spec.bogus``) -> 400
    with ``fieldValidation=Strict``, warnings with ``Warn``."""

    causes: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.causes and not self.unknown_fields

    def warnings(self) -> list[str]:
        """``Warn`` mode: one warning text per unknown field, as kube-apiserver."""
        return [f'unknown field "{p}"' for p in self.unknown_fields]

    def error(self, info: ResourceInfo, name: str, *, strict: bool) -> ApiError | None:
        """The error to answer with, if any: strict decoding (400) first, as upstream
        decodes before it validates; then 422 with every cause."""
        if strict and self.unknown_fields:
            return strict_decoding_error(self.unknown_fields)
        if self.causes:
            return invalid(info.kind, info.group, name, self.causes)
        return None


def strict_decoding_error(paths: Iterable[str]) -> BadRequest:
    joined = ", ".join(f'unknown field "{p}"' for p in paths)
    return BadRequest(f"strict decoding error: {joined}")
