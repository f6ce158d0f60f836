"""Services + Endpoints -> a neutral list of service ports, each with its ready endpoints.

The ruleset writers (iptables, nftables) should not know the API's shapes, so this
module is the one place that reads Service and Endpoints objects. It follows
kube-proxy's rules for what gets programmed:

* a service port is identified by ``namespace/name:portName`` (``namespace/name`` for
  an unnamed port) plus its protocol, as kube-proxy's ``ServicePortName``;
* headless services (``clusterIP: None``), ``ExternalName`` services and services whose
  ClusterIP is not allocated yet get no rules;
* an Endpoints port belongs to the service port with the same name and protocol, and
  only ``addresses`` (ready) are used, never ``notReadyAddresses``;
* ``sessionAffinity: ClientIP`` pins a client for ``sessionAffinityConfig.clientIP.
  timeoutSeconds`` (default 10800, as Kubernetes).

:class:`ModelCache` keeps the service ports of each Service keyed by the
resourceVersions of the Service and its Endpoints, so a sync at 1,000 services
re-reads only the objects that changed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]

DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds: Kubernetes' DefaultClientIPServiceAffinitySeconds
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str  # TCP | UDP | SCTP
    cluster_ip: str
    port: int
    node_port: int = 0  # 0: none
    affinity_timeout: int = 0  # seconds of ClientIP affinity; 0: none
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def name(self) -> str:
        """kube-proxy's ServicePortName string: ``ns/svc:port`` (``ns/svc`` if unnamed)."""
        base = f"{self.namespace}/{self.service}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def proto(self) -> str:
        """The protocol as iptables spells it (``tcp``)."""
        return self.protocol.lower()


def _ipv4(value: object) -> str | None:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return None
    return str(address) if address.version == 4 else None


def cluster_ip(spec: Obj) -> str | None:
    """The service's IPv4 ClusterIP, or None (headless, unallocated, ExternalName, v6)."""
    if spec.get("type") == "ExternalName":
        return None
    candidates = list(spec.get("clusterIPs") or []) or [spec.get("clusterIP")]
    for value in candidates:
        ip = _ipv4(value)
        if ip is not None:
            return ip
    return None


def affinity_timeout(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)


def ready_endpoints(endpoints: Obj | None, port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """The ready addresses of the Endpoints port matching a service port, sorted, unique."""
    if not endpoints:
        return ()
    found: set[Endpoint] = set()
    for subset in endpoints.get("subsets") or ():
        ports = [
            p
            for p in subset.get("ports") or ()
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol
        ]
        if not ports:
            continue
        for address in subset.get("addresses") or ():
            ip = _ipv4(address.get("ip"))
            if ip is None:
                continue
            for p in ports:
                found.add(Endpoint(ip, int(p["port"]), str(address.get("nodeName") or "")))
    return tuple(sorted(found))


def service_ports(service: Obj, endpoints: Obj | None) -> list[ServicePort]:
    """The programmable ports of one Service with the ready endpoints of each."""
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    ip = cluster_ip(spec)
    if ip is None:
        return []
    timeout = affinity_timeout(spec)
    with_node_ports = spec.get("type") in ("NodePort", "LoadBalancer")
    out = []
    for port in spec.get("ports") or ():
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS or not port.get("port"):
            continue
        name = port.get("name") or ""
        out.append(
            ServicePort(
                namespace=str(meta.get("namespace") or "default"),
                service=str(meta.get("name") or ""),
                port_name=name,
                protocol=protocol,
                cluster_ip=ip,
                port=int(port["port"]),
                node_port=int(port.get("nodePort") or 0) if with_node_ports else 0,
                affinity_timeout=timeout,
                endpoints=ready_endpoints(endpoints, name, protocol),
            )
        )
    return out


def _rv(obj: Obj | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


class ModelCache:
    """Service ports per Service key, rebuilt only when the Service or Endpoints changed."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, str, list[ServicePort]]] = {}

    def build(
        self, services: Iterable[tuple[str, Obj]], endpoints_of: Callable[[str], Obj | None]
    ) -> list[ServicePort]:
        """All service ports, sorted by name; ``services`` yields ``(key, Service)``."""
        fresh: dict[str, tuple[str, str, list[ServicePort]]] = {}
        out: list[ServicePort] = []
        for key, service in services:
            endpoints = endpoints_of(key)
            versions = (_rv(service), _rv(endpoints))
            entry = self._entries.get(key)
            if entry is None or entry[:2] != versions or not versions[0]:
                entry = (*versions, service_ports(service, endpoints))
            fresh[key] = entry
            out.extend(entry[2])
        self._entries = fresh
        out.sort(key=lambda sp: (sp.name, sp.protocol))
        return out
