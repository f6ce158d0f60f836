"""Update rules (``ValidateXUpdate``): which fields may not change.

Why it exists: an update is validated like a create (the new object goes through
:class:`~.validator.Validator`) *plus* rules that compare it with the stored object:
immutable selectors, a pod's mostly-frozen spec, a Service's cluster IP, immutable
ConfigMaps and Secrets. These need both objects and run only on update, so they are a
separate table from the semantic rules.

Design: :data:`UPDATE_RULES` maps ``(group, kind)`` to rule functions
``(errs, old, new)``. Comparison uses upstream's semantic equality (nil and empty
lists/maps are equal, :func:`_same`). The pod rule copies the new spec, resets the fields
an update may change (images, a shortened ``activeDeadlineSeconds``, added tolerations,
a negative grace period set to 1, removed scheduling gates) to their old values, and
forbids any remaining difference, as upstream's ``ValidatePodUpdate`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kctl.api.errors import Cause
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_int, as_list, as_str

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo


def _normalized(value: Any) -> Any:
    """Semantic equality as upstream's: nil and empty lists/maps compare equal."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    return _normalized(a) == _normalized(b)


_POD_UPDATABLE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _pod_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_spec, new_spec = as_dict(old.get("spec")), as_dict(new.get("spec"))
    munged = copy.deepcopy(new_spec)
    for group in ("containers", "initContainers"):
        old_ctrs, new_ctrs = as_list(old_spec.get(group)), as_list(munged.get(group))
        if len(old_ctrs) == len(new_ctrs):
            for o, n in zip(old_ctrs, new_ctrs, strict=True):
                if isinstance(o, dict) and isinstance(n, dict):
                    if "image" in o:
                        n["image"] = o["image"]
                    else:
                        n.pop("image", None)
    new_deadline, old_deadline = (
        as_int(new_spec.get("activeDeadlineSeconds")),
        as_int(old_spec.get("activeDeadlineSeconds")),
    )
    if new_deadline is not None:
        if old_deadline is not None and new_deadline > old_deadline:
            errs.invalid(
                "spec.activeDeadlineSeconds",
                new_deadline,
                "must be less than or equal to previous value",
            )
            return
    elif old_deadline is not None:
        errs.invalid(
            "spec.activeDeadlineSeconds",
            None,
            "must not update from a positive integer to nil value",
        )
        return
    munged.pop("activeDeadlineSeconds", None)
    if old_deadline is not None:
        munged["activeDeadlineSeconds"] = old_spec["activeDeadlineSeconds"]

    def tol_key(t: Any) -> Any:
        return _normalized({k: v for k, v in as_dict(t).items() if k != "tolerationSeconds"})

    new_tols = [tol_key(t) for t in as_list(new_spec.get("tolerations"))]
    if all(tol_key(t) in new_tols for t in as_list(old_spec.get("tolerations"))):
        munged["tolerations"] = old_spec.get("tolerations")
    old_grace = as_int(old_spec.get("terminationGracePeriodSeconds"))
    if (
        old_grace is not None
        and old_grace < 0
        and new_spec.get("terminationGracePeriodSeconds") == 1
    ):
        munged["terminationGracePeriodSeconds"] = old_grace
    old_gates = as_list(old_spec.get("schedulingGates"))
    if all(g in old_gates for g in as_list(new_spec.get("schedulingGates"))):
        munged["schedulingGates"] = old_gates
    if not _same(munged, old_spec):
        errs.forbidden("spec", _POD_UPDATABLE)


def _selector_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_sel = as_dict(old.get("spec")).get("selector")
    new_sel = as_dict(new.get("spec")).get("selector")
    if not _same(old_sel, new_sel):
        errs.invalid("spec.selector", new_sel, "field is immutable")


def _service_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_spec, new_spec = as_dict(old.get("spec")), as_dict(new.get("spec"))
    old_ip, new_ip = as_str(old_spec.get("clusterIP")), as_str(new_spec.get("clusterIP"))
    to_external = new_spec.get("type") == "ExternalName"
    if old_ip and new_ip and new_ip != old_ip and not to_external:
        errs.invalid("spec.clusterIPs[0]", [new_ip], "may not change once set")


def _node_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    """ValidateNodeUpdate: a node's pod CIDRs may go from unset to set, never change."""
    old_spec, new_spec = as_dict(old.get("spec")), as_dict(new.get("spec"))
    for field in ("podCIDR", "podCIDRs"):
        before, after = old_spec.get(field), new_spec.get(field)
        if before and not _same(before, after):
            errs.forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')
            return


def _immutable_data(
    sections: tuple[str, ...],
) -> Callable[[Errors, dict[str, Any], dict[str, Any]], None]:
    def check(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("immutable") is not True:
            return
        if new.get("immutable") is not True:
            errs.forbidden("immutable", "field is immutable when `immutable` is set")
        for section in sections:
            if not _same(old.get(section), new.get(section)):
                errs.forbidden(section, "field is immutable when `immutable` is set")

    return check


def _secret_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_type, new_type = old.get("type") or "Opaque", new.get("type") or "Opaque"
    if old_type != new_type:
        errs.invalid("type", new_type, "field is immutable")
    _immutable_data(("data",))(errs, old, new)


UpdateRule = Callable[[Errors, dict[str, Any], dict[str, Any]], None]

UPDATE_RULES: dict[tuple[str, str], tuple[UpdateRule, ...]] = {
    ("", "Pod"): (_pod_update,),
    ("", "Node"): (_node_update,),
    ("", "Service"): (_service_update,),
    ("", "ConfigMap"): (_immutable_data(("data", "binaryData")),),
    ("", "Secret"): (_secret_update,),
    ("apps", "Deployment"): (_selector_update,),
    ("apps", "ReplicaSet"): (_selector_update,),
}


def validate_update(info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    """Update-only rules (immutable fields). Run in addition to ``validate(new)``."""
    errs = Errors()
    for rule in UPDATE_RULES.get((info.group, info.kind), ()):
        rule(errs, old, new)
    return errs.causes
