"""The node's CNI network configuration list (what containerd's CRI plugin runs per pod).

One conflist per node, written under the node's own CNI conf dir so that containerd
(``max_conf_num = 1``) sees exactly it:

- ``bridge``: the node's own bridge (``kctl-<hash>``), ``isGateway`` (the bridge holds the
  pod CIDR's first address and is the pods' default route), ``ipMasq`` (pod traffic to
  anything outside the pod CIDR is masqueraded, except what :mod:`node.network.nomasq`
  exempts), ``hairpinMode`` (a pod reaching itself through a ClusterIP);
- IPAM ``host-local`` over the node's podCIDR, with its ``dataDir`` under the node's
  DATA_DIR so that its records go with the node and never mix with another node's;
- ``portmap`` with the ``portMappings`` capability (hostPort);
- ``loopback``, last: it passes the bridge's result through and brings ``lo`` up.

DNS: the ``dns`` section carries the cluster DNS address and the cluster-level search
path, so a CNI result never points a pod at the host's resolv.conf. (Per-pod DNS goes to
RunPodSandbox; see :mod:`node.network.dns`.)

cniVersion 1.0.0: every plugin of containernetworking-plugins 1.1.1 supports it (each
answers VERSION with 0.1.0 .. 1.0.0), and so does containerd 1.6's libcni.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from node.network.config import NetworkSettings

CNI_VERSION = "1.0.0"
PLUGIN_TYPES = ("bridge", "host-local", "portmap", "loopback")


def dns_section(settings: NetworkSettings) -> dict[str, Any]:
    domain = settings.cluster_domain
    return {
        "nameservers": list(settings.cluster_dns),
        "domain": domain,
        "search": [f"svc.{domain}", domain],
        "options": ["ndots:5"],
    }


def build_conflist(settings: NetworkSettings) -> dict[str, Any]:
    """The conflist as a dict (JSON-ready)."""
    ipam = {
        "type": "host-local",
        "ranges": [[{"subnet": str(settings.pod_network), "gateway": settings.gateway}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": str(settings.ipam_dir),
    }
    bridge = {
        "type": "bridge",
        "bridge": settings.bridge,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "mtu": settings.mtu,
        "ipam": ipam,
        "dns": dns_section(settings),
    }
    return {
        "cniVersion": CNI_VERSION,
        "name": settings.network_name,
        "plugins": [
            bridge,
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def write_conflist(settings: NetworkSettings) -> bool:
    """Write the conflist atomically; False when the file already says the same."""
    path = settings.conflist_path
    text = json.dumps(build_conflist(settings), indent=2, sort_keys=True) + "\n"
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def load_conflist(path: Path) -> dict[str, Any]:
    conf: dict[str, Any] = json.loads(path.read_text())
    if not isinstance(conf.get("plugins"), list) or not conf["plugins"]:
        raise ValueError(f"{path}: not a CNI conflist (no plugins)")
    return conf


def missing_plugins(bin_dir: Path) -> list[str]:
    """Plugin binaries the conflist needs that ``bin_dir`` lacks (or cannot execute)."""
    return [t for t in PLUGIN_TYPES if not os.access(bin_dir / t, os.X_OK)]
