"""Services and Endpoints.

kubectl 1.32 fills a Service's per-port ``Endpoints:`` line from EndpointSlices
(``kubernetes.io/service-name=<svc>``), not from the Endpoints object; a server that
does not serve EndpointSlices gets ``<none>`` there, whatever its Endpoints say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kctl.cli.describers import events
from kctl.cli.describers.common import Obj, annotations_block, labels_block, meta, spec, status
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, LEVEL_2, PrefixWriter

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MAX_ENDPOINTS = 3


def describe_service(ctx: DescribeContext, svc: Obj) -> str:
    from kctl.api.tables import format_labels

    md, s_spec = meta(svc), spec(svc)
    slices = ctx.quiet_list(
        "discovery.k8s.io",
        "EndpointSlice",
        md.get("namespace"),
        label_selector=f"{SERVICE_NAME_LABEL}={md.get('name', '')}",
    )
    found = events.search(ctx, svc, "Service") if ctx.show_events else None

    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    w.write(LEVEL_0, f"Selector:\t{format_labels(s_spec.get('selector'))}\n")
    w.write(LEVEL_0, f"Type:\t{s_spec.get('type', '')}\n")
    if s_spec.get("ipFamilyPolicy") is not None:
        w.write(LEVEL_0, f"IP Family Policy:\t{s_spec['ipFamilyPolicy']}\n")
    families = ",".join(str(f) for f in s_spec.get("ipFamilies") or []) or "<none>"
    w.write(LEVEL_0, f"IP Families:\t{families}\n")
    w.write(LEVEL_0, f"IP:\t{s_spec.get('clusterIP', '')}\n")
    w.write(LEVEL_0, f"IPs:\t{','.join(s_spec.get('clusterIPs') or []) or '<none>'}\n")
    if s_spec.get("externalIPs"):
        w.write(LEVEL_0, f"External IPs:\t{','.join(s_spec['externalIPs'])}\n")
    if s_spec.get("loadBalancerIP"):
        w.write(LEVEL_0, f"Desired LoadBalancer IP:\t{s_spec['loadBalancerIP']}\n")
    if s_spec.get("externalName"):
        w.write(LEVEL_0, f"External Name:\t{s_spec['externalName']}\n")
    ingress = (status(svc).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.write(LEVEL_0, f"LoadBalancer Ingress:\t{_ingress_string(ingress)}\n")
    for port in s_spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        proto = port.get("protocol", "")
        w.write(LEVEL_0, f"Port:\t{name}\t{int(port.get('port') or 0)}/{proto}\n")
        target = port.get("targetPort")
        w.write(LEVEL_0, f"TargetPort:\t{0 if target is None else target}/{proto}\n")
        if int(port.get("nodePort") or 0):
            w.write(LEVEL_0, f"NodePort:\t{name}\t{int(port['nodePort'])}/{proto}\n")
        w.write(
            LEVEL_0, f"Endpoints:\t{format_endpoint_slices(slices, str(port.get('name') or ''))}\n"
        )
    w.write(LEVEL_0, f"Session Affinity:\t{s_spec.get('sessionAffinity', '')}\n")
    if s_spec.get("externalTrafficPolicy"):
        w.write(LEVEL_0, f"External Traffic Policy:\t{s_spec['externalTrafficPolicy']}\n")
    if s_spec.get("internalTrafficPolicy") is not None:
        w.write(LEVEL_0, f"Internal Traffic Policy:\t{s_spec['internalTrafficPolicy']}\n")
    if int(s_spec.get("healthCheckNodePort") or 0):
        w.write(LEVEL_0, f"HealthCheck NodePort:\t{int(s_spec['healthCheckNodePort'])}\n")
    if s_spec.get("loadBalancerSourceRanges"):
        ranges = ",".join(s_spec["loadBalancerSourceRanges"])
        w.write(LEVEL_0, f"LoadBalancer Source Ranges:\t{ranges}\n")
    if s_spec.get("trafficDistribution"):
        w.write(LEVEL_0, f"Traffic Distribution:\t{s_spec['trafficDistribution']}\n")
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()


def _ingress_string(ingress: list[Mapping[str, Any]]) -> str:
    parts = []
    for entry in ingress:
        if entry.get("ip"):
            mode = f" ({entry['ipMode']})" if entry.get("ipMode") is not None else ""
            parts.append(f"{entry['ip']}{mode}")
        else:
            parts.append(str(entry.get("hostname") or ""))
    return ", ".join(parts)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoint_slices(slices: Sequence[Obj], port_name: str) -> str:
    """``formatEndpointSlices``: up to three ready ``ip:port``, then ``+ N more...``."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0

    def ready(endpoint: Mapping[str, Any]) -> bool:
        return (endpoint.get("conditions") or {}).get("ready") is not False

    for eps in slices:
        endpoints = list(eps.get("endpoints") or [])
        ports = list(eps.get("ports") or [])
        if not ports:
            targets = [(e, None) for e in endpoints]
        else:
            targets = [
                (e, p) for p in ports if str(p.get("name") or "") == port_name for e in endpoints
            ]
        for endpoint, port in targets:
            if len(shown) == MAX_ENDPOINTS:
                more = True
            if not ready(endpoint):
                continue
            if not more:
                address = str((endpoint.get("addresses") or [""])[0])
                shown.append(
                    address
                    if port is None
                    else _join_host_port(address, int(port.get("port") or 0))
                )
            count += 1
    text = ",".join(shown)
    return f"{text} + {count - MAX_ENDPOINTS} more..." if more else text


def describe_endpoints(ctx: DescribeContext, ep: Obj) -> str:
    md = meta(ep)
    found = events.search(ctx, ep, "Endpoints") if ctx.show_events else None
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    w.write(LEVEL_0, "Subsets:\n")
    for subset in ep.get("subsets") or []:
        ready = ",".join(str(a.get("ip", "")) for a in subset.get("addresses") or [])
        w.write(LEVEL_1, f"Addresses:\t{ready or '<none>'}\n")
        not_ready = ",".join(str(a.get("ip", "")) for a in subset.get("notReadyAddresses") or [])
        w.write(LEVEL_1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        if subset.get("ports"):
            w.write(LEVEL_1, "Ports:\n")
            w.write(LEVEL_2, "Name\tPort\tProtocol\n")
            w.write(LEVEL_2, "----\t----\t--------\n")
            for port in subset["ports"]:
                w.write(
                    LEVEL_2,
                    f"{port.get('name') or '<unset>'}\t{int(port.get('port') or 0)}\t"
                    f"{port.get('protocol', '')}\n",
                )
        w.write(LEVEL_0, "\n")
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()
