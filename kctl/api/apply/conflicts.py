"""Apply conflicts: finding them, and the 409 kube-apiserver answers with.

An apply conflicts with another manager on a field that manager owns and the apply
changes (a different value, or a field that appears). Setting a field to the value it
already has is no conflict: the appliers then share it. kubectl prints the message as
it is and appends its ``--force-conflicts`` advice, so the wording follows upstream:

* one conflict: ``Apply failed with 1 conflict: conflict with "kubectl-patch" using
  apps/v1: .spec.replicas``;
* more: ``Apply failed with 3 conflicts: conflicts with "a":\\n- .spec.x\\n- ...``,
  grouped by manager, managers sorted;

with one ``FieldManagerConflict`` cause per field (``reason`` is the JSON name of Go's
``StatusCause.Type``). Managers are named as upstream prints them: ``"name"`` for an
applier, ``"name" using apps/v1`` for an updater, plus ``with subresource "status"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kctl.api.apply import fieldpath as fp
from kctl.api.apply.fieldpath import FieldSet
from kctl.api.apply.managed import Identity, ManagedEntry
from kctl.api.errors import Cause, Conflict

FIELD_MANAGER_CONFLICT = "FieldManagerConflict"

Conflicts = dict[Identity, FieldSet]


def find(
    managers: Mapping[Identity, ManagedEntry], applier: Identity, changed: FieldSet
) -> Conflicts:
    """Fields other managers own among those the apply changes."""
    out: Conflicts = {}
    if not changed:
        return out
    for ident, entry in managers.items():
        if ident == applier:
            continue
        hit = entry.members(changed)
        if hit:
            out[ident] = hit
    return out


def conflict_error(conflicts: Conflicts, managers: Mapping[Identity, ManagedEntry]) -> Conflict:
    """The 409 for ``conflicts`` (at least one), as kube-apiserver words it."""
    ordered = sorted(conflicts, key=lambda ident: managers[ident].sort_name())
    pairs = [
        (managers[ident], path) for ident in ordered for path in fp.iter_sorted(conflicts[ident])
    ]
    causes = [
        Cause(
            field=fp.path_string(path),
            message=f"conflict with {entry.describe()}",
            reason=FIELD_MANAGER_CONFLICT,
        ).to_dict()
        for entry, path in pairs
    ]
    if len(pairs) == 1:
        entry, path = pairs[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {fp.path_string(path)}"
    else:
        lines: list[str] = []
        for ident in ordered:
            lines.append(f"conflicts with {managers[ident].describe()}:")
            lines.extend(f"- {fp.path_string(p)}" for p in fp.iter_sorted(conflicts[ident]))
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return Conflict(message, {"causes": causes})
