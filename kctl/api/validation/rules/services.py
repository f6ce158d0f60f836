"""Service and Endpoints rules.

Why it exists: Services have their own cross-field contract (type vs. clusterIP vs.
externalName vs. nodePort, unique port names and port/protocol pairs, traffic and IP
family policies); Endpoints are the address/port lists services resolve to. Both are
``pkg/apis/core/validation`` rules about networking objects, kept apart from workloads.

Design: :func:`validate_service` and :func:`validate_endpoints` are the per-kind
entries in :data:`..rules.RULES`; port and IP checks come from :mod:`.network`.
"""

from __future__ import annotations

from typing import Any

from kctl.api import meta
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_int, as_list, as_str, dicts
from kctl.api.validation.rules.network import (
    IP_ERROR,
    is_ip,
    port_name_errors,
    port_number,
    protocol,
)
from kctl.api.validation.rules.objectmeta import validate_labels

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_SESSION_AFFINITIES = ("ClientIP", "None")
_IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
_TRAFFIC_POLICIES = ("Cluster", "Local")


def validate_service(errs: Errors, obj: dict[str, Any]) -> None:
    spec = as_dict(obj.get("spec"))
    kind = spec.get("type")
    if isinstance(kind, str) and kind not in _SERVICE_TYPES:
        errs.not_supported("spec.type", kind, _SERVICE_TYPES)
    cluster_ip = as_str(spec.get("clusterIP"))
    headless = cluster_ip == "None"
    ports = as_list(spec.get("ports"))
    if kind == "ExternalName":
        external = as_str(spec.get("externalName"))
        if not external:
            errs.required("spec.externalName")
        else:
            for msg in meta.dns1123_subdomain_errors(external.removesuffix(".")):
                errs.invalid("spec.externalName", external, msg)
        if cluster_ip:
            errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
    elif not ports and not headless:
        errs.required("spec.ports")
    if cluster_ip and not headless and not is_ip(cluster_ip):
        errs.invalid("spec.clusterIP", cluster_ip, IP_ERROR)
    seen_names: set[str] = set()
    seen_ports: set[tuple[Any, Any]] = set()
    for i, port in dicts(ports):
        ppath = f"spec.ports[{i}]"
        pname = as_str(port.get("name"))
        if len(ports) > 1 and not pname:
            errs.required(f"{ppath}.name")
        elif pname:
            for msg in meta.dns1123_label_errors(pname):
                errs.invalid(f"{ppath}.name", pname, msg)
            if pname in seen_names:
                errs.duplicate(f"{ppath}.name", pname)
            seen_names.add(pname)
        port_number(errs, f"{ppath}.port", port.get("port"), required=True)
        protocol(errs, f"{ppath}.protocol", port.get("protocol"))
        target = port.get("targetPort")
        if isinstance(target, str):
            for msg in port_name_errors(target):
                errs.invalid(f"{ppath}.targetPort", target, msg)
        elif as_int(target) is not None and target != 0:
            port_number(errs, f"{ppath}.targetPort", target, required=False)
        node_port = as_int(port.get("nodePort"))
        if node_port:
            port_number(errs, f"{ppath}.nodePort", node_port, required=False)
            if kind in (None, "ClusterIP"):
                errs.forbidden(f"{ppath}.nodePort", "may not be used when `type` is 'ClusterIP'")
        key = (port.get("port"), port.get("protocol") or "TCP")
        if key in seen_ports:
            errs.duplicate(ppath, {"port": key[0], "protocol": key[1]})
        seen_ports.add(key)
    if kind != "ExternalName":
        validate_labels(errs, spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in _SESSION_AFFINITIES:
        errs.not_supported("spec.sessionAffinity", affinity, _SESSION_AFFINITIES)
    policy = spec.get("ipFamilyPolicy")
    if isinstance(policy, str) and policy not in _IP_FAMILY_POLICIES:
        errs.not_supported("spec.ipFamilyPolicy", policy, _IP_FAMILY_POLICIES)
    for i, family in enumerate(as_list(spec.get("ipFamilies"))):
        if family not in ("IPv4", "IPv6"):
            errs.not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6"))
    internal = spec.get("internalTrafficPolicy")
    if isinstance(internal, str) and internal not in _TRAFFIC_POLICIES:
        errs.not_supported("spec.internalTrafficPolicy", internal, _TRAFFIC_POLICIES)
    external_policy = spec.get("externalTrafficPolicy")
    if isinstance(external_policy, str) and external_policy:
        if kind not in ("NodePort", "LoadBalancer"):
            errs.invalid(
                "spec.externalTrafficPolicy",
                external_policy,
                "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
            )
        elif external_policy not in _TRAFFIC_POLICIES:
            errs.not_supported("spec.externalTrafficPolicy", external_policy, _TRAFFIC_POLICIES)


def validate_endpoints(errs: Errors, obj: dict[str, Any]) -> None:
    for i, subset in dicts(obj.get("subsets")):
        spath = f"subsets[{i}]"
        for group in ("addresses", "notReadyAddresses"):
            for j, addr in dicts(subset.get(group)):
                ip = as_str(addr.get("ip"))
                if not is_ip(ip):
                    errs.invalid(f"{spath}.{group}[{j}].ip", ip, "must be a valid IP address")
                node = as_str(addr.get("nodeName"))
                if node:
                    for msg in meta.dns1123_subdomain_errors(node):
                        errs.invalid(f"{spath}.{group}[{j}].nodeName", node, msg)
        ports = dicts(subset.get("ports"))
        for j, port in ports:
            ppath = f"{spath}.ports[{j}]"
            pname = as_str(port.get("name"))
            if len(ports) > 1 and not pname:
                errs.required(f"{ppath}.name")
            elif pname:
                for msg in meta.dns1123_label_errors(pname):
                    errs.invalid(f"{ppath}.name", pname, msg)
            port_number(errs, f"{ppath}.port", port.get("port"), required=True)
            if port.get("protocol") is None:
                errs.required(f"{ppath}.protocol")
            protocol(errs, f"{ppath}.protocol", port.get("protocol"))
