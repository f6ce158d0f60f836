"""Where the node IPAM controller gets the cluster CIDR and the node mask size.

The API server publishes the cluster-wide network settings in the ConfigMap
``kube-system/kctl-config`` (key ``clusterCIDR``; optional ``nodeCIDRMaskSize``), so
the reconciler and the nodes agree without repeating flags. kube-controller-manager's
flags win over it when given as controller options: ``nodeipam.cluster-cidr``,
``nodeipam.node-cidr-mask-size`` (single stack) and ``nodeipam.node-cidr-mask-size-ipv4``
/ ``-ipv6``. Defaults: 10.244.0.0/16, /24 per node (/64 for IPv6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kctl.api import errors
from kctl.client.http import AsyncClient
from kctl.client.resources import CONFIGMAPS
from reconciler.controllers.nodeipam.cidrset import DEFAULT_MASKS, IPNetwork, parse_cidrs

CONFIG_MAP = ("kube-system", "kctl-config")
KEY_CLUSTER_CIDR = "clusterCIDR"
KEY_MASK = "nodeCIDRMaskSize"
DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
PREFIX = "nodeipam."


@dataclass(frozen=True)
class IpamSettings:
    cluster_cidrs: list[IPNetwork]
    masks: dict[int, int]


def resolve(config: Mapping[str, str], options: Mapping[str, str]) -> IpamSettings:
    """Settings from the ConfigMap's data and the controller options (options win)."""
    cidrs = parse_cidrs(
        options.get(PREFIX + "cluster-cidr")
        or config.get(KEY_CLUSTER_CIDR)
        or DEFAULT_CLUSTER_CIDR
    )
    generic = options.get(PREFIX + "node-cidr-mask-size") or config.get(KEY_MASK)
    masks: dict[int, int] = {}
    for net in cidrs:
        specific = options.get(f"{PREFIX}node-cidr-mask-size-ipv{net.version}")
        if specific:
            masks[net.version] = int(specific)
        elif generic and len(cidrs) == 1:
            masks[net.version] = int(generic)
        else:
            masks[net.version] = DEFAULT_MASKS[net.version]
    return IpamSettings(cidrs, masks)


async def load(client: AsyncClient, options: Mapping[str, str]) -> IpamSettings:
    namespace, name = CONFIG_MAP
    try:
        config_map = await client.get(CONFIGMAPS, name, namespace)
        data = config_map.get("data") or {}
    except errors.NotFound:
        data = {}
    return resolve(data, options)
