"""Service and Endpoints objects for the proxy's tests, built like the API serves them."""

from __future__ import annotations

from typing import Any


def service(
    name: str,
    cluster_ip: str | None,
    ports: list[dict[str, Any]],
    *,
    namespace: str = "default",
    type_: str = "ClusterIP",
    affinity: int | None = None,
    rv: str = "1",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type_, "ports": ports}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = [cluster_ip]
    if affinity is not None:
        spec["sessionAffinity"] = "ClientIP"
        if affinity:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": affinity}}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv},
        "spec": spec,
    }


def endpoints(
    name: str,
    subsets: list[tuple[list[str], list[str], list[dict[str, Any]]]],
    *,
    namespace: str = "default",
    rv: str = "1",
) -> dict[str, Any]:
    """``subsets``: (ready ips, not-ready ips, ports)."""
    out = []
    for ready, not_ready, ports in subsets:
        subset: dict[str, Any] = {"ports": ports}
        if ready:
            subset["addresses"] = [{"ip": ip, "nodeName": "n1"} for ip in ready]
        if not_ready:
            subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
        out.append(subset)
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv},
        "subsets": out,
    }
