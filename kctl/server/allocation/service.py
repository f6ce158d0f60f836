"""Kubernetes' Service rules around allocated fields (``pkg/registry/core/service``).

What a Service holds and when, in the terms of upstream's strategy and REST storage:

* ``needs_cluster_ip``: every type but ExternalName has ``clusterIP``/``clusterIPs``
  (``None`` = headless, which holds no address);
* ``needs_node_port``: NodePort and LoadBalancer ports have ``nodePort``s (allocated
  for NodePort always, for LoadBalancer unless ``allocateLoadBalancerNodePorts`` is
  false; a requested one is honoured either way); ``needs_hc_node_port``: a
  LoadBalancer with ``externalTrafficPolicy: Local`` has a ``healthCheckNodePort``.

:func:`prepare_update` is the strategy's ``PrepareForUpdate`` for these fields, run
before validation: values the server allocated are kept when a client omits them
(``patchAllocatedValues``: re-applying the manifest a Service was created from must
not reallocate), ``clusterIP`` and ``clusterIPs`` are kept in step
(``NormalizeClusterIPs``), and a type change drops what the new type cannot have when
the client left it unchanged (``dropTypeDependentFields``), which is what releases
node ports on NodePort -> ClusterIP and the address on ClusterIP -> ExternalName.
Everything here is pure: which numbers are free is :mod:`.allocator`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kctl.api.errors import Cause
from kctl.api.validation.fielderrors import Errors
from kctl.server.allocation.ipallocator import ip_value

HEADLESS = "None"
Obj = dict[str, Any]


@dataclass(frozen=True)
class Held:
    """The numbers a stored Service occupies: addresses (as integers) and node ports."""

    ips: frozenset[int] = frozenset()
    ports: frozenset[int] = frozenset()


def spec_of(obj: Obj | None) -> Obj:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else {}


def ports_of(spec: Obj) -> list[Obj]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def kind_of(spec: Obj) -> str:
    return str(spec.get("type") or "ClusterIP")


def needs_cluster_ip(spec: Obj) -> bool:
    return kind_of(spec) != "ExternalName"


def needs_node_port(spec: Obj) -> bool:
    return kind_of(spec) in ("NodePort", "LoadBalancer")


def should_allocate_node_ports(spec: Obj) -> bool:
    kind = kind_of(spec)
    if kind == "NodePort":
        return True
    return kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False


def needs_hc_node_port(spec: Obj) -> bool:
    return kind_of(spec) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def node_port(port: Obj) -> int:
    value = port.get("nodePort")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def cluster_ips(spec: Obj) -> list[str]:
    ips = spec.get("clusterIPs")
    return [str(ip) for ip in ips] if isinstance(ips, list) else []


def held(obj: Obj | None) -> Held:
    """What a stored Service occupies (whatever its type says: a stored value is taken)."""
    spec = spec_of(obj)
    texts = cluster_ips(spec) or [str(spec.get("clusterIP") or "")]
    ips = {ip_value(t) for t in texts if t and t != HEADLESS}
    ports = {node_port(p) for p in ports_of(spec)}
    hc = spec.get("healthCheckNodePort")
    if isinstance(hc, int) and not isinstance(hc, bool):
        ports.add(hc)
    return Held(frozenset(v for v in ips if v is not None), frozenset(p for p in ports if p))


# ---------------------------------------------------------------- PrepareForUpdate


def prepare_update(old: Obj, new: Obj) -> None:
    """Upstream's update preparation of the allocated fields (mutates ``new``)."""
    old_spec, new_spec = spec_of(old), new.get("spec")
    if not isinstance(new_spec, dict):
        return
    _patch_allocated_values(old_spec, new_spec)
    _normalize_cluster_ips(old_spec, new_spec)
    _drop_type_dependent_fields(old_spec, new_spec)


def _patch_allocated_values(old: Obj, new: Obj) -> None:
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not new.get("clusterIP") and old.get("clusterIP"):
            new["clusterIP"] = old["clusterIP"]
        if not cluster_ips(new) and cluster_ips(old):
            new["clusterIPs"] = list(cluster_ips(old))
    if needs_node_port(old) and needs_node_port(new):
        used = {node_port(p) for p in ports_of(old)} & {node_port(p) for p in ports_of(new)}
        by_name = {str(p.get("name") or ""): node_port(p) for p in ports_of(old)}
        for port in ports_of(new):
            if not node_port(port):
                previous = by_name.get(str(port.get("name") or ""), 0)
                if previous and previous not in used:
                    port["nodePort"] = previous
    if needs_hc_node_port(old) and needs_hc_node_port(new):
        if not new.get("healthCheckNodePort") and old.get("healthCheckNodePort"):
            new["healthCheckNodePort"] = old["healthCheckNodePort"]


def _normalize_cluster_ips(old: Obj, new: Obj) -> None:
    old_ip, new_ip = str(old.get("clusterIP") or ""), str(new.get("clusterIP") or "")
    same_ips = cluster_ips(old) == cluster_ips(new)
    if cluster_ips(old) and not cluster_ips(new) and old_ip == new_ip:
        new["clusterIPs"] = list(cluster_ips(old))  # an old client left clusterIPs out
        same_ips = True
    if old_ip != new_ip and same_ips:
        if old_ip and not new_ip:
            new.pop("clusterIPs", None)  # clearing clusterIP clears both
        else:
            new["clusterIPs"] = [new_ip]


def _drop_type_dependent_fields(old: Obj, new: Obj) -> None:
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        if old.get("clusterIP") == new.get("clusterIP") and cluster_ips(old) == cluster_ips(new):
            new.pop("clusterIP", None)
            new.pop("clusterIPs", None)
        for name in ("ipFamilies", "ipFamilyPolicy"):
            if old.get(name) == new.get(name):
                new.pop(name, None)
    if needs_node_port(old) and not needs_node_port(new):
        if [node_port(p) for p in ports_of(old)] == [node_port(p) for p in ports_of(new)]:
            for port in ports_of(new):
                port.pop("nodePort", None)
    if needs_hc_node_port(old) and not needs_hc_node_port(new):
        if old.get("healthCheckNodePort") == new.get("healthCheckNodePort"):
            new.pop("healthCheckNodePort", None)
    for name, needed in (
        ("externalTrafficPolicy", needs_node_port),
        ("internalTrafficPolicy", needs_cluster_ip),
    ):
        if needed(old) and not needed(new) and old.get(name) == new.get(name):
            new.pop(name, None)
    if kind_of(old) == "LoadBalancer" and kind_of(new) != "LoadBalancer":
        lb = "allocateLoadBalancerNodePorts"
        if old.get(lb) is not None and old.get(lb) == new.get(lb):
            new.pop(lb, None)


# ---------------------------------------------------------------- checks before allocating


def sync_cluster_ips(spec: Obj, creating: bool) -> list[Cause]:
    """``clusterIPs`` follows ``clusterIP`` (create-time ``NormalizeClusterIPs``), then
    upstream validation's rule that the two agree."""
    ip, ips = str(spec.get("clusterIP") or ""), cluster_ips(spec)
    if creating and ip and not ips:
        spec["clusterIPs"] = ips = [ip]
    errs = Errors()
    if ip and not ips:
        errs.required("spec.clusterIPs")
    elif ip and ips[0] != ip:
        errs.invalid("spec.clusterIPs", ips, "first value must match `clusterIP`")
    elif not ip and ips:
        errs.invalid("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified")
    return errs.causes


def duplicate_node_ports(spec: Obj) -> list[Cause]:
    """Two ports may share a node port only with different protocols (upstream
    ``ValidateService``)."""
    errs = Errors()
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(ports_of(spec)):
        value = node_port(port)
        if not value:
            continue
        key = (str(port.get("protocol") or "TCP"), value)
        if key in seen:
            errs.duplicate(f"spec.ports[{i}].nodePort", value)
        seen.add(key)
    return errs.causes


def ip_family_causes(spec: Obj, family: str) -> list[Cause]:
    """This cluster is single-stack: dual-stack requests are refused as upstream does
    on a single-stack cluster; PreferDualStack gets the one family there is."""
    errs = Errors()
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        errs.invalid(
            "spec.ipFamilyPolicy",
            "RequireDualStack",
            "this cluster is not configured for dual-stack services",
        )
    families = spec.get("ipFamilies")
    if isinstance(families, list):
        for i, requested in enumerate(families):
            if requested != family:
                errs.invalid(f"spec.ipFamilies[{i}]", requested, "not configured on this cluster")
    return errs.causes
