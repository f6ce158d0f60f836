"""A container's environment as the kubelet builds it (``makeEnvironmentVariables``).

Order and precedence are Kubernetes': ``envFrom`` sources first (each key, with its
prefix; later sources win), then ``env`` in order, each literal value ``$(VAR)``-expanded
against what is defined so far, each ``valueFrom`` resolved: ``fieldRef`` (name,
namespace, uid, labels/annotations, nodeName, serviceAccountName, hostIP(s), podIP(s)),
``resourceFieldRef`` (limits/requests of cpu and memory), ``configMapKeyRef`` and
``secretKeyRef`` (``optional`` honoured). A missing object or key that is not optional
is a ``CreateContainerConfigError`` with the kubelet's message. Command and args are
then expanded against the finished environment.

Not done: Service links (``FOO_SERVICE_HOST``; kctl's pods find services through DNS).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kctl.api import quantity
from node.runtime.cri_runtime.expansion import expand, mapping_for
from node.runtime.cri_runtime.objects import PodObjects, missing_key_message, not_found_message
from node.runtime.cri_runtime.problems import CREATE_CONFIG_ERROR, ContainerProblem

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")
# An env var name from envFrom must be a C identifier-ish (Kubernetes: IsEnvVarName).
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


@dataclass(frozen=True)
class PodFacts:
    """What fieldRefs may read that is not in the pod object itself."""

    pod_ip: str
    host_ip: str
    node_allocatable: Mapping[str, str]


def _problem(message: str) -> ContainerProblem:
    return ContainerProblem(CREATE_CONFIG_ERROR, message)


def _format_map(values: Mapping[str, str]) -> str:
    """``metadata.labels`` as the downward API formats it: ``key="value"`` lines, sorted."""
    return "\n".join(f'{k}="{values[k]}"' for k in sorted(values))


def field_value(pod: Mapping[str, Any], path: str, facts: PodFacts) -> str:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    match = _SUBSCRIPT.match(path)
    if match:
        return str((md.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {
        "metadata.name": md.get("name"),
        "metadata.namespace": md.get("namespace"),
        "metadata.uid": md.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "",
        "status.podIP": facts.pod_ip,
        "status.podIPs": facts.pod_ip,
        "status.hostIP": facts.host_ip,
        "status.hostIPs": facts.host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        return _format_map(md.get(path.split(".")[1]) or {})
    raise _problem(f"unsupported fieldPath: {path}")


def resource_value(container: Mapping[str, Any], ref: Mapping[str, Any], facts: PodFacts) -> str:
    """``resourceFieldRef``: the container's limit (node allocatable when unset) or request."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise _problem(f"unsupported container resource: {resource}")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(name)
    if raw is None:
        raw = facts.node_allocatable.get(name, "0") if kind == "limits" else "0"
    divisor = quantity.parse(ref.get("divisor") or "1")
    value = quantity.parse(raw)
    if name == "cpu":
        millis = value.milli_value()
        div = max(divisor.milli_value(), 1)
        return str(max(1, math.ceil(millis / div)) if millis else 0)
    return str(math.ceil(value.int_value() / max(divisor.int_value(), 1)))


async def _key_ref(objects: PodObjects, kind: str, ref: Mapping[str, Any]) -> str | None:
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    optional = bool(ref.get("optional"))
    data = await (objects.config_map(name) if kind == "configmap" else objects.secret(name))
    if data is None:
        if optional:
            return None
        raise _problem(not_found_message(kind, name))
    if key not in data:
        if optional:
            return None
        raise _problem(missing_key_message(kind, objects.namespace, name, key))
    return data[key]


async def build_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    objects: PodObjects,
    facts: PodFacts,
) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        prefix = str(source.get("prefix") or "")
        for kind, field in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(field)
            if ref is None:
                continue
            name = str(ref.get("name") or "")
            data = await (objects.config_map(name) if kind == "configmap" else objects.secret(name))
            if data is None:
                if ref.get("optional"):
                    continue
                raise _problem(not_found_message(kind, name))
            for key, value in data.items():
                if _ENV_NAME.match(prefix + key):
                    env[prefix + key] = value
    for var in container.get("env") or ():
        name = str(var.get("name") or "")
        source = var.get("valueFrom")
        if source is None:
            env[name] = expand(str(var.get("value") or ""), mapping_for(env))
            continue
        resolved: str | None
        if "fieldRef" in source:
            resolved = field_value(pod, str(source["fieldRef"].get("fieldPath") or ""), facts)
        elif "resourceFieldRef" in source:
            resolved = resource_value(container, source["resourceFieldRef"], facts)
        elif "configMapKeyRef" in source:
            resolved = await _key_ref(objects, "configmap", source["configMapKeyRef"])
        elif "secretKeyRef" in source:
            resolved = await _key_ref(objects, "secret", source["secretKeyRef"])
        else:
            resolved = ""
        if resolved is not None:
            env[name] = resolved
    return env


def expand_command(
    container: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """The container's command and args with ``$(VAR)`` expanded."""
    mapping = mapping_for(env)
    command = [expand(str(part), mapping) for part in container.get("command") or ()]
    args = [expand(str(part), mapping) for part in container.get("args") or ()]
    return command, args
