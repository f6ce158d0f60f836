"""Rules for the remaining kinds: Namespace, Event, Lease, Node.

Why it exists: each of these kinds has a handful of upstream rules that fit no larger
family (namespace finalizers, the Event namespace contract for the old and new event
APIs, lease durations, node taints); one small module holds them rather than one
module per kind.

Design: one function per kind, each an entry in :data:`..rules.RULES`. Taint effects
are the same set as for pod tolerations, so they come from :mod:`.workloads`.
"""

from __future__ import annotations

from typing import Any

from kctl.api import meta
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_int, as_list, as_str, dicts, nonnegative
from kctl.api.validation.rules.workloads import TAINT_EFFECTS


def validate_namespace(errs: Errors, obj: dict[str, Any]) -> None:
    for i, value in enumerate(as_list(as_dict(obj.get("spec")).get("finalizers"))):
        if isinstance(value, str):
            for msg in meta.qualified_name_errors(value):
                errs.invalid(f"spec.finalizers[{i}]", value, msg)


def validate_event(errs: Errors, obj: dict[str, Any]) -> None:
    ns = as_str(as_dict(obj.get("metadata")).get("namespace"))
    involved_ns = as_str(as_dict(obj.get("involvedObject")).get("namespace"))
    if not obj.get("eventTime"):
        ok = ns in ("", "default") if not involved_ns else ns == involved_ns
    else:
        ok = bool(involved_ns) or ns in ("default", "kube-system")
        # core/v1 carries the internal ReportingController as `reportingComponent` on the
        # wire; kube-apiserver's error names the internal field.
        if not as_str(obj.get("reportingComponent")):
            errs.required("reportingController")
        if not as_str(obj.get("reportingInstance")):
            errs.required("reportingInstance")
        if not as_str(obj.get("action")):
            errs.required("action")
    if not ok:
        errs.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")


def validate_lease(errs: Errors, obj: dict[str, Any]) -> None:
    spec = as_dict(obj.get("spec"))
    duration = as_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        errs.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
    nonnegative(errs, "spec.leaseTransitions", spec.get("leaseTransitions"))


def validate_node(errs: Errors, obj: dict[str, Any]) -> None:
    spec = as_dict(obj.get("spec"))
    for i, taint in dicts(spec.get("taints")):
        key, effect = as_str(taint.get("key")), taint.get("effect")
        if not key:
            errs.required(f"spec.taints[{i}].key")
        else:
            for msg in meta.qualified_name_errors(key):
                errs.invalid(f"spec.taints[{i}].key", key, msg)
        if effect not in TAINT_EFFECTS:
            errs.not_supported(f"spec.taints[{i}].effect", effect, TAINT_EFFECTS)
