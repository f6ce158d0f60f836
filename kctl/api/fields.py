"""Field-selector attributes: the ``fields`` dict the store indexes for every object.

The store calls :func:`extract_fields` once per write, so the per-kind work (splitting
paths, looking up the field's type in the schema to know its zero value, choosing the
special getters) happens once per kind and the per-object work is a few dict lookups.

Values are strings exactly as kube-apiserver's ``GetAttrs`` functions produce them from
Go structs: a missing string is ``""``, a missing integer ``"0"`` (ReplicaSet
``status.replicas``), a missing boolean ``"false"`` (Node ``spec.unschedulable``). A few
attributes are not plain paths and are computed as upstream does: an Event's ``source``
(``source.component``, else ``reportingController``) and ``reportingComponent``
(``reportingController``), a Pod's ``status.podIP`` (the first of ``status.podIPs``),
and the Namespace's legacy bare ``name``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kctl.api.schema_nav import SchemaNode

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

Getter = Callable[[dict[str, Any]], str]

_getters: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, Getter], ...]] = {}
_lock = threading.Lock()


def _format(value: Any, zero: str) -> str:
    if value is None:
        return zero
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _path_getter(path: str, zero: str) -> Getter:
    parts = tuple(path.split("."))
    if len(parts) == 1:
        (a,) = parts

        def get1(obj: dict[str, Any]) -> str:
            return _format(obj.get(a), zero)

        return get1
    if len(parts) == 2:
        a, b = parts

        def get2(obj: dict[str, Any]) -> str:
            inner = obj.get(a)
            return _format(inner.get(b) if isinstance(inner, dict) else None, zero)

        return get2

    def get_n(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for part in parts:
            if not isinstance(cur, dict):
                return zero
            cur = cur.get(part)
        return _format(cur, zero)

    return get_n


def _event_source(obj: dict[str, Any]) -> str:
    source = obj.get("source")
    component = source.get("component") if isinstance(source, dict) else None
    return str(component or obj.get("reportingController") or "")


def _event_reporting(obj: dict[str, Any]) -> str:
    return str(obj.get("reportingController") or "")


def _pod_ip(obj: dict[str, Any]) -> str:
    status = obj.get("status")
    if not isinstance(status, dict):
        return ""
    ips = status.get("podIPs")
    if isinstance(ips, list) and ips and isinstance(ips[0], dict):
        return str(ips[0].get("ip") or "")
    return str(status.get("podIP") or "")


_SPECIAL: dict[tuple[str, str], Getter] = {
    ("Event", "source"): _event_source,
    ("Event", "reportingComponent"): _event_reporting,
    ("Pod", "status.podIP"): _pod_ip,
    ("Namespace", "name"): _path_getter("metadata.name", ""),
}


def _zero_for(node: SchemaNode, path: str) -> str:
    """The Go zero value's string form for the field's schema type."""
    for part in path.split("."):
        node = node.field(part)
    types = node.types
    if "boolean" in types:
        return "false"
    if "integer" in types:
        return "0"
    return ""


def _compile(info: ResourceInfo) -> tuple[tuple[str, Getter], ...]:
    try:
        root = info.schema_node()
    except Exception:  # an unloadable schema must not break writes: zero values are ""
        root = SchemaNode.empty()
    getters: list[tuple[str, Getter]] = [
        ("metadata.name", _path_getter("metadata.name", "")),
        ("metadata.namespace", _path_getter("metadata.namespace", "")),
    ]
    for name in info.selectable_fields:
        special = _SPECIAL.get((info.kind, name))
        getters.append((name, special or _path_getter(name, _zero_for(root, name))))
    return tuple(getters)


def getters_for(info: ResourceInfo) -> tuple[tuple[str, Getter], ...]:
    key = (info.resource, info.selectable_fields)
    compiled = _getters.get(key)
    if compiled is None:
        with _lock:
            compiled = _getters.get(key)
            if compiled is None:
                compiled = _compile(info)
                _getters[key] = compiled
    return compiled


def extract_fields(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, str]:
    """Every selectable field of ``obj`` as a string (see the module docstring)."""
    return {name: get(obj) for name, get in getters_for(info)}
