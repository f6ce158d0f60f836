"""The subsets of an Endpoints object, computed from a Service and its pods.

This is the pure part of kube-controller-manager's endpoints controller:

* **Which pods.** A pod is in the Endpoints when it has an IP, is not finished
  (Succeeded/Failed) and is not being deleted -- unless the Service sets
  ``publishNotReadyAddresses``, which keeps terminating pods and puts every pod in
  ``addresses``. Otherwise Ready pods go to ``addresses``, the others to
  ``notReadyAddresses``.
* **Which address.** The pod IP of the Service's IP family (``spec.ipFamilies[0]``, or
  the family of its cluster IP, or for a headless Service the pod's primary IP),
  with ``nodeName``, ``targetRef`` and, for a pod whose ``subdomain`` is the Service,
  its ``hostname``.
* **Which ports.** Per Service port: a numeric ``targetPort`` as is, a named one looked
  up in the pod's container ports (name and protocol must match; restartable init
  containers count too), pods without it skipped for that port; no ``targetPort``
  means the Service port. A headless Service without ports gets port-less subsets.
* **Packing.** ``RepackSubsets``: one subset per distinct set of (address, ready)
  pairs, carrying every port those addresses share; addresses sorted by IP then uid.
  (Kubernetes orders ports and subsets by a hash of their Go representation; here
  they are sorted by their fields: same content, stable order.)
* **Capacity.** Above 1000 addresses the subsets are truncated proportionally and the
  ``endpoints.kubernetes.io/over-capacity: truncated`` annotation is set, as upstream.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.controllers import podstate

Obj = Mapping[str, Any]
Subset = dict[str, Any]

MAX_CAPACITY = 1000
IPV4, IPV6 = "IPv4", "IPv6"

_PortKey = tuple[str, int, str, str]  # name, port, protocol, appProtocol
_AddrKey = tuple[str, str]  # ip, targetRef uid


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``."""
    status = pod.get("status") or {}
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    if podstate.is_terminal(pod):
        return False
    return include_terminating or not podstate.is_terminating(pod)


def _pod_ips(pod: Obj) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(entry.get("ip")) for entry in status.get("podIPs") or () if entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return ips


def _service_family(service: Obj, pod: Obj) -> str:
    spec = service.get("spec") or {}
    families = spec.get("ipFamilies") or ()
    if families:
        return str(families[0])
    cluster_ip = str(spec.get("clusterIP") or "")
    if cluster_ip and cluster_ip != "None":
        return IPV6 if _is_ipv6(cluster_ip) else IPV4
    primary = str((pod.get("status") or {}).get("podIP") or "")
    return IPV6 if _is_ipv6(primary) else IPV4


def address_for_pod(service: Obj, pod: Obj) -> dict[str, Any] | None:
    """``podToEndpointAddressForService`` plus the hostname rule; None when the pod has
    no IP of the Service's family."""
    want_v6 = _service_family(service, pod) == IPV6
    ip = next((ip for ip in _pod_ips(pod) if _is_ipv6(ip) == want_v6), None)
    if ip is None:
        return None
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    address: dict[str, Any] = {"ip": ip}
    svc_md = service.get("metadata") or {}
    hostname = spec.get("hostname")
    if (
        hostname
        and spec.get("subdomain") == svc_md.get("name")
        and md.get("namespace") == svc_md.get("namespace")
    ):
        address["hostname"] = hostname
    address["nodeName"] = str(spec.get("nodeName") or "")
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": md.get("namespace"),
        "name": md.get("name"),
        "uid": md.get("uid"),
    }
    return address


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """``podutil.FindPort``: the container port a Service port targets on ``pod``."""
    target = service_port.get("targetPort")
    if target is None or target == "" or target == 0:
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or ())
    containers += [
        c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"
    ]
    for container in containers:
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_port(service_port: Obj, number: int) -> dict[str, Any]:
    port: dict[str, Any] = {}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    port["port"] = number
    port["protocol"] = service_port.get("protocol") or "TCP"
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def _port_key(port: Mapping[str, Any]) -> _PortKey:
    return (
        str(port.get("name") or ""),
        int(port.get("port") or 0),
        str(port.get("protocol") or "TCP"),
        str(port.get("appProtocol") or ""),
    )


def _addr_key(address: Mapping[str, Any]) -> _AddrKey:
    return (str(address.get("ip") or ""), str((address.get("targetRef") or {}).get("uid") or ""))


def build_subsets(service: Obj, pods: Iterable[Obj]) -> list[Subset]:
    """The packed, sorted subsets for ``service`` selecting ``pods``."""
    spec = service.get("spec") or {}
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = list(spec.get("ports") or ())
    headless = spec.get("clusterIP") == "None"
    entries: list[tuple[dict[str, Any], dict[str, Any] | None, bool]] = []
    for pod in pods:
        if not should_be_in_endpoints(pod, publish_not_ready):
            continue
        address = address_for_pod(service, pod)
        if address is None:
            continue
        ready = publish_not_ready or podstate.is_ready(pod)
        if not service_ports:
            if headless:
                entries.append((address, None, ready))
            continue
        for service_port in service_ports:
            number = find_port(pod, service_port)
            if number is not None:
                entries.append((address, endpoint_port(service_port, number), ready))
    return repack(entries)


def repack(entries: Iterable[tuple[dict[str, Any], dict[str, Any] | None, bool]]) -> list[Subset]:
    """``RepackSubsets``: group (address, port, ready) triples into subsets. An address
    ready on a port in one entry stays ready there; a ``None`` port keeps the address
    in a port-less subset."""
    addresses: dict[_AddrKey, dict[str, Any]] = {}
    ports: dict[_PortKey | None, dict[str, Any] | None] = {}
    ready_by_port: dict[_PortKey | None, dict[_AddrKey, bool]] = {}
    for address, port, ready in entries:
        akey = _addr_key(address)
        addresses.setdefault(akey, address)
        pkey = None if port is None else _port_key(port)
        ports.setdefault(pkey, port)
        seen = ready_by_port.setdefault(pkey, {})
        seen[akey] = seen.get(akey, False) or ready
    groups: dict[tuple[tuple[_AddrKey, bool], ...], list[dict[str, Any]]] = {}
    for pkey, members in ready_by_port.items():
        group = groups.setdefault(tuple(sorted(members.items())), [])
        port = ports[pkey]
        if port is not None:
            group.append(port)
    subsets = []
    for members_key, group_ports in groups.items():
        subset: Subset = {}
        in_service = [addresses[a] for a, is_ready in members_key if is_ready]
        not_ready = [addresses[a] for a, is_ready in members_key if not is_ready]
        if in_service:
            subset["addresses"] = in_service
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if group_ports:
            subset["ports"] = group_ports
        subsets.append(subset)
    return sort_subsets(subsets)


def _subset_key(subset: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        [_addr_key(a) for a in subset.get("addresses") or ()],
        [_addr_key(a) for a in subset.get("notReadyAddresses") or ()],
        [_port_key(p) for p in subset.get("ports") or ()],
    )


def sort_subsets(subsets: Iterable[Mapping[str, Any]]) -> list[Subset]:
    """Addresses by (IP, uid), ports by fields, subsets by content; new lists and dicts."""
    result = []
    for subset in subsets:
        fresh: Subset = dict(subset)
        for field in ("addresses", "notReadyAddresses"):
            if field in fresh:
                fresh[field] = sorted(fresh[field], key=_addr_key)
        if "ports" in fresh:
            fresh["ports"] = sorted(fresh["ports"], key=_port_key)
        result.append(fresh)
    result.sort(key=_subset_key)
    return result


def _normalized(subsets: Sequence[Mapping[str, Any]]) -> list[Subset]:
    """For comparison: sorted, empty lists dropped, targetRef resourceVersions ignored."""
    clean = []
    for subset in subsets:
        fresh: Subset = {}
        for field in ("addresses", "notReadyAddresses"):
            items = []
            for address in subset.get(field) or ():
                address = dict(address)
                if isinstance(address.get("targetRef"), Mapping):
                    ref = dict(address["targetRef"])
                    ref.pop("resourceVersion", None)
                    address["targetRef"] = ref
                items.append(address)
            if items:
                fresh[field] = items
        if subset.get("ports"):
            fresh["ports"] = [
                {**p, "protocol": p.get("protocol") or "TCP"} for p in subset["ports"]
            ]
        clean.append(fresh)
    return sort_subsets(clean)


def subsets_equal(
    current: Sequence[Mapping[str, Any]], desired: Sequence[Mapping[str, Any]]
) -> bool:
    return _normalized(current) == _normalized(desired)


def address_count(subsets: Iterable[Mapping[str, Any]]) -> int:
    return sum(
        len(s.get("addresses") or ()) + len(s.get("notReadyAddresses") or ()) for s in subsets
    )


def truncate(subsets: list[Subset]) -> bool:
    """``truncateEndpoints``: cut to :data:`MAX_CAPACITY` addresses, in place, each
    subset keeping its share (not-ready addresses go first). True if anything was cut."""
    total_ready = sum(len(s.get("addresses") or ()) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or ()) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return False
    truncate_ready = total_ready > MAX_CAPACITY
    limit = MAX_CAPACITY if truncate_ready else MAX_CAPACITY - total_ready
    total = total_ready if truncate_ready else total_not_ready
    room = limit
    for subset in subsets:
        field = "addresses" if truncate_ready else "notReadyAddresses"
        members = list(subset.get(field) or ())
        share = min(math.ceil(len(members) / total * limit), room)
        kept = members[:share]
        if kept:
            subset[field] = kept
        else:
            subset.pop(field, None)
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        room -= len(kept)
    return True
