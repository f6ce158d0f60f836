"""The entry point: :class:`Validator` runs every layer over one object.

Why it exists: admission needs one call per write that answers everything
kube-apiserver would (types, unknown fields, semantics), in upstream's order, merged
into one :class:`~.result.ValidationResult`. Each layer lives in its own module; this
one only sequences them and merges their causes.

Design: :class:`Validator` is :class:`~.compiled.CompiledKinds` (it owns the per-kind
compiled schemas and their cache) plus the three operations admission calls:

- :meth:`~Validator.validate`: the fast compiled check, explained by jsonschema only on
  rejection (:mod:`.explain`); the unknown-field walk when ``strict``
  (:mod:`.unknown`); the semantic rules (:mod:`.rules`). Causes are de-duplicated
  because the schema and the rules may report the same problem (a missing required
  field counts once per path, whatever its message).
- :meth:`~Validator.validate_update`: the update-only rules (:mod:`.updates`).
- :meth:`~Validator.prune_unknown`: the same walk, deleting what it finds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kctl.api.errors import Cause
from kctl.api.validation.compiled import CompiledKinds
from kctl.api.validation.explain import explain
from kctl.api.validation.fielderrors import REQUIRED, Errors
from kctl.api.validation.result import ValidationResult
from kctl.api.validation.rules import validate_semantics
from kctl.api.validation.unknown import walk_unknown
from kctl.api.validation.updates import validate_update

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo


class Validator(CompiledKinds):
    """Validates objects of any served kind. Thread-safe; compiles each kind once."""

    def validate(
        self, info: ResourceInfo, obj: dict[str, Any], *, strict: bool
    ) -> ValidationResult:
        """Validate a new or updated object (after defaulting). ``strict`` also looks
        for unknown fields (for ``fieldValidation=Strict`` or ``Warn``)."""
        compiled = self.compiled(info)
        result = ValidationResult()
        causes: list[Cause] = []
        try:
            compiled.fast(obj)
        except Exception:  # JsonSchemaValueException: explain it fully
            causes.extend(explain(compiled.explainer(), obj))
        if strict:
            found: list[str] = []
            walk_unknown(obj, compiled.shape, "", found)
            result.unknown_fields = found
        errs = Errors()
        validate_semantics(info, obj, errs)
        result.causes = _dedupe(causes + errs.causes)
        return result

    def validate_update(
        self, info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]
    ) -> list[Cause]:
        """Update-only rules (immutable fields); see :func:`validate_update`."""
        return validate_update(info, old, new)

    def prune_unknown(self, info: ResourceInfo, obj: dict[str, Any]) -> list[str]:
        """Drop unknown fields in place (``fieldValidation=Ignore``/``Warn``: upstream's
        decoder never keeps them) and return their paths."""
        found: list[str] = []
        walk_unknown(obj, self.compiled(info).shape, "", found, prune=True)
        return found


def _dedupe(causes: list[Cause]) -> list[Cause]:
    seen: set[tuple[str, str]] = set()
    out: list[Cause] = []
    for cause in causes:
        key = (cause.field, cause.reason if cause.reason == REQUIRED else cause.message)
        if key not in seen:
            seen.add(key)
            out.append(cause)
    return out
