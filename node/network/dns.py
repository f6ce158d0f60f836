"""A pod's DNS configuration (CRI ``DNSConfig`` of RunPodSandbox), kubelet's rules.

``dnsPolicy`` ClusterFirst (the default): the cluster DNS servers, the search path
``<ns>.svc.<domain> svc.<domain> <domain>`` and ``ndots:5``; ``None``: only the pod's
``dnsConfig``; ClusterFirstWithHostNet behaves as ClusterFirst. The pod's ``dnsConfig``
is then merged in (servers and searches appended without duplicates, options replaced
by name), and the lists are cut to the resolver's limits.

One departure, for the safety of the machines kctl runs on: kubelet gives ``Default``
pods (and host-network ClusterFirst pods) the node's resolv.conf; kctl never hands a pod
the host's resolvers, so those pods get the cluster DNS too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_NAMESERVERS = 3  # glibc's MAXNS
MAX_SEARCHES = 32  # Kubernetes' MaxDNSSearchPaths


@dataclass(frozen=True)
class PodDNS:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def to_cri(self) -> dict[str, list[str]]:
        return {"servers": self.servers, "searches": self.searches, "options": self.options}


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _merge_options(base: list[str], pod_options: list[dict[str, Any]]) -> list[str]:
    merged: dict[str, str | None] = {}
    for opt in base:
        name, sep, value = opt.partition(":")
        merged[name] = value if sep else None
    for pod_opt in pod_options:
        if pod_opt.get("name"):
            merged[str(pod_opt["name"])] = pod_opt.get("value")
    return [name if value is None else f"{name}:{value}" for name, value in merged.items()]


def pod_dns(pod: dict[str, Any], cluster_dns: list[str], cluster_domain: str) -> PodDNS:
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        servers: list[str] = []
        searches: list[str] = []
        options: list[str] = []
    else:
        servers = list(cluster_dns)
        searches = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
        options = ["ndots:5"]
    extra = spec.get("dnsConfig") or {}
    servers = _unique(servers + list(extra.get("nameservers") or []))[:MAX_NAMESERVERS]
    searches = _unique(searches + list(extra.get("searches") or []))[:MAX_SEARCHES]
    options = _merge_options(options, list(extra.get("options") or []))
    return PodDNS(servers, searches, options)
