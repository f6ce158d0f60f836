"""The kubelet-managed ``/etc/hosts`` of a pod (not for host-network pods).

Without it containerd copies the machine's own hosts file into the sandbox; the
kubelet writes the pod's: localhost entries, the pod's IP with its hostname, and the
pod's ``hostAliases``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

HEADER = "# Kubernetes-managed hosts file.\n"
LOCAL = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def hosts_content(pod: Mapping[str, Any], pod_ip: str, hostname: str) -> str:
    spec = pod.get("spec") or {}
    text = HEADER + LOCAL
    if pod_ip:
        subdomain = spec.get("subdomain")
        names = [hostname]
        if subdomain:
            ns = (pod.get("metadata") or {}).get("namespace") or "default"
            names.insert(0, f"{hostname}.{subdomain}.{ns}.svc.cluster.local")
        text += f"{pod_ip}\t{' '.join(names)}\n"
    aliases = spec.get("hostAliases") or ()
    if aliases:
        text += "\n# Entries added by HostAliases.\n"
        for alias in aliases:
            text += f"{alias.get('ip')}\t{' '.join(alias.get('hostnames') or ())}\n"
    return text


def write_hosts_file(path: Path, pod: Mapping[str, Any], pod_ip: str, hostname: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = hosts_content(pod, pod_ip, hostname)
    if not path.exists() or path.read_text() != content:
        path.write_text(content)
    return path
