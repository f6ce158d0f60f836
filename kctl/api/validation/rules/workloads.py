"""Workload rules: pods, pod templates, Deployments and ReplicaSets.

Why it exists: the pod spec is the largest rule set (containers, ports, env, volume
mounts, resources, probes, tolerations, policies) and is shared by Pods and by every pod
template; Deployments and ReplicaSets add the selector/template contract
(``ValidatePodTemplateSpecForReplicaSet``) and the rollout strategy. Keeping them
together keeps that sharing in one module.

Design: :func:`validate_pod_spec` and :func:`validate_pod_template` are reusable at any
path; :func:`validate_pod`, :func:`validate_deployment` and
:func:`validate_replicaset` are the per-kind entries in :data:`..rules.RULES`. Template
rules rely on defaulting having run first (as upstream: e.g. a template's
``restartPolicy`` must be ``Always``). Selector matching uses
:mod:`kctl.api.selectors`, imported lazily as before.
"""

from __future__ import annotations

import re
from typing import Any

from kctl.api import meta, quantity
from kctl.api.errors import ApiError
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_int, as_list, as_str, as_strmap, dicts, nonnegative
from kctl.api.validation.rules.network import port_name_errors, port_number, protocol
from kctl.api.validation.rules.objectmeta import (
    validate_annotations,
    validate_label_selector,
    validate_labels,
)

# --- pods ------------------------------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_ENV_NAME_ERROR = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def _probe(errs: Errors, probe: Any, path: str) -> None:
    if probe is None:
        return
    p = as_dict(probe)
    handlers = [h for h in _PROBE_HANDLERS if p.get(h) is not None]
    if not handlers:
        errs.required(path, "must specify a handler type")
    elif len(handlers) > 1:
        errs.forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type")
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        nonnegative(errs, f"{path}.{name}", p.get(name))
    http = as_dict(p.get("httpGet"))
    if http:
        port = http.get("port")
        if isinstance(port, str):
            for msg in port_name_errors(port):
                errs.invalid(f"{path}.httpGet.port", port, msg)
        else:
            port_number(errs, f"{path}.httpGet.port", port, required=True)
    tcp = as_dict(p.get("tcpSocket"))
    if tcp:
        port = tcp.get("port")
        if isinstance(port, str):
            for msg in port_name_errors(port):
                errs.invalid(f"{path}.tcpSocket.port", port, msg)
        else:
            port_number(errs, f"{path}.tcpSocket.port", port, required=True)


def _resources(errs: Errors, resources: Any, path: str) -> None:
    res = as_dict(resources)
    parsed: dict[str, dict[str, quantity.Quantity]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for name, raw in as_dict(res.get(section)).items():
            qpath = f"{path}.{section}[{name}]"
            try:
                q = quantity.parse(raw)
            except quantity.QuantityError:
                errs.invalid(qpath, raw, quantity.QUANTITY_FORMAT_ERROR)
                continue
            if q.value < 0:
                errs.invalid(qpath, q.canonical(), "must be greater than or equal to 0")
            parsed[section][name] = q
    for name, req in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and req > limit:
            errs.invalid(
                f"{path}.requests[{name}]",
                req.canonical(),
                f"must be less than or equal to {name} limit of {limit.canonical()}",
            )


def _container(
    errs: Errors, ctr: dict[str, Any], path: str, volumes: set[str], *, probes: bool
) -> None:
    image = as_str(ctr.get("image"))
    if not image:
        errs.required(f"{path}.image")
    elif image != image.strip():
        errs.invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
    policy = ctr.get("imagePullPolicy")
    if isinstance(policy, str) and policy not in _PULL_POLICIES:
        errs.not_supported(f"{path}.imagePullPolicy", policy, _PULL_POLICIES)
    tmp = ctr.get("terminationMessagePolicy")
    if isinstance(tmp, str) and tmp not in _TERMINATION_MESSAGE_POLICIES:
        errs.not_supported(f"{path}.terminationMessagePolicy", tmp, _TERMINATION_MESSAGE_POLICIES)
    port_names: set[str] = set()
    for i, port in dicts(ctr.get("ports")):
        ppath = f"{path}.ports[{i}]"
        pname = as_str(port.get("name"))
        if pname:
            for msg in port_name_errors(pname):
                errs.invalid(f"{ppath}.name", pname, msg)
            if pname in port_names:
                errs.duplicate(f"{ppath}.name", pname)
            port_names.add(pname)
        port_number(errs, f"{ppath}.containerPort", port.get("containerPort"), required=True)
        if port.get("hostPort") not in (None, 0):
            port_number(errs, f"{ppath}.hostPort", port.get("hostPort"), required=False)
        protocol(errs, f"{ppath}.protocol", port.get("protocol"))
    for i, env in dicts(ctr.get("env")):
        ename = as_str(env.get("name"))
        if not ename:
            errs.required(f"{path}.env[{i}].name")
        elif "=" in ename or not all(" " <= c <= "~" for c in ename):
            errs.invalid(f"{path}.env[{i}].name", ename, _ENV_NAME_ERROR)
    for i, mount in dicts(ctr.get("volumeMounts")):
        mname = as_str(mount.get("name"))
        if not mname:
            errs.required(f"{path}.volumeMounts[{i}].name")
        elif mname not in volumes:
            errs.not_found(f"{path}.volumeMounts[{i}].name", mname)
        if not as_str(mount.get("mountPath")):
            errs.required(f"{path}.volumeMounts[{i}].mountPath")
    _resources(errs, ctr.get("resources"), f"{path}.resources")
    if probes:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            _probe(errs, ctr.get(probe), f"{path}.{probe}")


def validate_pod_spec(errs: Errors, spec: Any, path: str) -> None:
    s = as_dict(spec)
    volumes: set[str] = set()
    for i, vol in dicts(s.get("volumes")):
        vname = as_str(vol.get("name"))
        vpath = f"{path}.volumes[{i}].name"
        if not vname:
            errs.required(vpath)
            continue
        for msg in meta.dns1123_label_errors(vname):
            errs.invalid(vpath, vname, msg)
        if vname in volumes:
            errs.duplicate(vpath, vname)
        volumes.add(vname)
    containers = as_list(s.get("containers"))
    if not containers:
        errs.required(f"{path}.containers")
    names: set[str] = set()
    for group, probes in (("initContainers", False), ("containers", True)):
        for i, ctr in dicts(s.get(group)):
            cpath = f"{path}.{group}[{i}]"
            cname = as_str(ctr.get("name"))
            if not cname:
                errs.required(f"{cpath}.name")
            else:
                for msg in meta.dns1123_label_errors(cname):
                    errs.invalid(f"{cpath}.name", cname, msg)
                if cname in names:
                    errs.duplicate(f"{cpath}.name", cname)
                names.add(cname)
            # sidecars (restartPolicy Always) may have probes; plain init containers not
            sidecar = ctr.get("restartPolicy") == "Always"
            _container(errs, ctr, cpath, volumes, probes=probes or sidecar)
    restart = s.get("restartPolicy")
    if isinstance(restart, str) and restart not in _RESTART_POLICIES:
        errs.not_supported(f"{path}.restartPolicy", restart, _RESTART_POLICIES)
    dns = s.get("dnsPolicy")
    if isinstance(dns, str):
        if dns not in _DNS_POLICIES:
            errs.not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES)
        elif dns == "None" and s.get("dnsConfig") is None:
            errs.required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
    deadline = as_int(s.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errs.invalid(
            f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"
        )
    nonnegative(
        errs, f"{path}.terminationGracePeriodSeconds", s.get("terminationGracePeriodSeconds")
    )
    for key, check in (
        ("nodeName", meta.dns1123_subdomain_errors),
        ("serviceAccountName", meta.dns1123_subdomain_errors),
        ("hostname", meta.dns1123_label_errors),
        ("subdomain", meta.dns1123_label_errors),
    ):
        value = as_str(s.get(key))
        if value:
            for msg in check(value):
                errs.invalid(f"{path}.{key}", value, msg)
    validate_labels(errs, s.get("nodeSelector"), f"{path}.nodeSelector")
    _tolerations(errs, s.get("tolerations"), f"{path}.tolerations")


def _tolerations(errs: Errors, tolerations: Any, path: str) -> None:
    for i, tol in dicts(tolerations):
        tpath = f"{path}[{i}]"
        key, op, effect = as_str(tol.get("key")), tol.get("operator"), tol.get("effect")
        if key:
            for msg in meta.qualified_name_errors(key):
                errs.invalid(f"{tpath}.key", key, msg)
        elif op != "Exists":
            errs.invalid(
                f"{tpath}.operator",
                op,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"',
            )
        if op not in (None, "", *_TOLERATION_OPERATORS):
            errs.not_supported(f"{tpath}.operator", op, _TOLERATION_OPERATORS)
        if op == "Exists" and as_str(tol.get("value")):
            errs.invalid(
                f"{tpath}.operator",
                tol.get("value"),
                "value must be empty when `operator` is 'Exists'",
            )
        if effect not in (None, "", *TAINT_EFFECTS):
            errs.not_supported(f"{tpath}.effect", effect, TAINT_EFFECTS)
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.invalid(
                f"{tpath}.effect",
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )


def validate_pod(errs: Errors, obj: dict[str, Any]) -> None:
    validate_pod_spec(errs, obj.get("spec"), "spec")


def validate_pod_template(errs: Errors, template: Any, path: str) -> None:
    tmpl = as_dict(template)
    md = as_dict(tmpl.get("metadata"))
    validate_labels(errs, md.get("labels"), f"{path}.metadata.labels")
    validate_annotations(errs, md.get("annotations"), f"{path}.metadata.annotations")
    validate_pod_spec(errs, tmpl.get("spec"), f"{path}.spec")


# --- apps ------------------------------------------------------------------------------


def _selector_matches(selector: Any, labels: dict[str, str]) -> tuple[bool, bool]:
    """(selector usable, matches). Mirrors LabelSelectorAsSelector: nil selects nothing."""
    from kctl.api import selectors

    if selector is None:
        return True, False
    if not isinstance(selector, dict):
        return False, False
    try:
        sel = selectors.from_label_selector(selector)
    except ApiError:
        return False, False
    return True, sel.empty or sel.matches(labels)


def _replicated(errs: Errors, spec: dict[str, Any]) -> None:
    """What Deployments and ReplicaSets share (ValidatePodTemplateSpecForReplicaSet)."""
    nonnegative(errs, "spec.replicas", spec.get("replicas"))
    nonnegative(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    selector = spec.get("selector")
    if selector is None:
        errs.required("spec.selector")
    else:
        validate_label_selector(errs, selector, "spec.selector")
        sel = as_dict(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.invalid("spec.selector", sel, "empty selector is invalid for deployment")
    template = as_dict(spec.get("template"))
    labels = as_strmap(as_dict(template.get("metadata")).get("labels"))
    usable, matches = _selector_matches(selector, labels)
    if not usable:
        errs.invalid("spec.selector", selector, "invalid label selector")
    elif not matches:
        errs.invalid(
            "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
        )
    validate_pod_template(errs, template, "spec.template")
    tspec = as_dict(template.get("spec"))
    restart = tspec.get("restartPolicy")
    if isinstance(restart, str) and restart in _RESTART_POLICIES and restart != "Always":
        errs.not_supported("spec.template.spec.restartPolicy", restart, ["Always"])
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        )


_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_ERROR = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)


def _int_or_percent(errs: Errors, value: Any, path: str) -> int | None:
    """Validate and return the number (percent or int); None when absent/invalid."""
    if isinstance(value, str):
        if not _PERCENT.fullmatch(value):
            errs.invalid(path, value, _PERCENT_ERROR)
            return None
        return int(value[:-1])
    number = as_int(value)
    if number is not None and number < 0:
        errs.invalid(path, number, "must be greater than or equal to 0")
    return number


def validate_deployment(errs: Errors, obj: dict[str, Any]) -> None:
    spec = as_dict(obj.get("spec"))
    _replicated(errs, spec)
    nonnegative(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    deadline = as_int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        nonnegative(errs, "spec.progressDeadlineSeconds", deadline)
        if deadline <= (as_int(spec.get("minReadySeconds")) or 0):
            errs.invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            errs.forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )
    elif kind == "RollingUpdate":
        ru = as_dict(rolling)
        unavailable = _int_or_percent(
            errs, ru.get("maxUnavailable"), "spec.strategy.rollingUpdate.maxUnavailable"
        )
        surge = _int_or_percent(errs, ru.get("maxSurge"), "spec.strategy.rollingUpdate.maxSurge")
        if isinstance(rolling, dict) and not unavailable and not surge:
            errs.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable",
                ru.get("maxUnavailable", 0),
                "may not be 0 when `maxSurge` is 0",
            )
        raw = ru.get("maxUnavailable")
        if isinstance(raw, str) and unavailable is not None and unavailable > 100:
            errs.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable", raw, "must not be greater than 100%"
            )
    elif kind is not None:
        errs.not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])


def validate_replicaset(errs: Errors, obj: dict[str, Any]) -> None:
    _replicated(errs, as_dict(obj.get("spec")))
