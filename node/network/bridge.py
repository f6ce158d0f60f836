"""The node's bridge, created by the agent before any pod exists (pyroute2).

The CNI bridge plugin would create the bridge on the first pod's ADD, but the agent
needs it earlier: the routes and ``route_localnet`` are set on it, and the node is not
network-ready without it. The plugin accepts an existing bridge as long as its IPv4
address is exactly the gateway it computes (the pod CIDR's first host with the CIDR's
prefix), so that is the one address this module gives it. The plugin never deletes the
bridge; :func:`delete_bridge` does, at cleanup.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError


class LinkError(Exception):
    pass


@dataclass(frozen=True)
class BridgeState:
    exists: bool
    up: bool = False
    addresses: tuple[str, ...] = ()  # "10.244.1.1/24"
    ports: tuple[str, ...] = ()  # veths attached to it


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def _v4_addresses(ipr: IPRoute, index: int) -> list[tuple[str, int]]:
    return [
        (str(a.get_attr("IFA_ADDRESS")), int(a["prefixlen"]))
        for a in ipr.get_addr(family=socket.AF_INET, index=index)
    ]


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = 1500) -> bool:
    """Bridge ``name`` exists, is up and holds exactly ``gateway/prefixlen``; True if created."""
    created = False
    try:
        with IPRoute() as ipr:
            index = _index(ipr, name)
            if index is None:
                ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
                index = _index(ipr, name)
                created = True
            if index is None:
                raise LinkError(f"bridge {name} vanished after creation")
            kind = ipr.get_links(index)[0].get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
            if kind != "bridge":
                raise LinkError(f"{name} exists and is a {kind or 'plain'} link, not a bridge")
            have = _v4_addresses(ipr, index)
            for address, plen in have:
                if (address, plen) != (gateway, prefixlen):
                    ipr.addr("del", index=index, address=address, prefixlen=plen)
            if (gateway, prefixlen) not in have:
                ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
            ipr.link("set", index=index, state="up")
    except NetlinkError as exc:
        raise LinkError(f"bridge {name}: {exc}") from exc
    return created


def bridge_state(name: str) -> BridgeState:
    with IPRoute() as ipr:
        index = _index(ipr, name)
        if index is None:
            return BridgeState(exists=False)
        link = ipr.get_links(index)[0]
        up = bool(link["flags"] & 1)  # IFF_UP
        addresses = tuple(f"{a}/{p}" for a, p in _v4_addresses(ipr, index))
        ports = tuple(
            str(other.get_attr("IFLA_IFNAME"))
            for other in ipr.get_links()
            if other.get_attr("IFLA_MASTER") == index
        )
    return BridgeState(exists=True, up=up, addresses=addresses, ports=ports)


def delete_bridge(name: str) -> bool:
    """Delete the bridge (its veths stay, as when a bridge goes); False if absent."""
    try:
        with IPRoute() as ipr:
            index = _index(ipr, name)
            if index is None:
                return False
            ipr.link("del", index=index)
            return True
    except NetlinkError as exc:
        raise LinkError(f"deleting bridge {name}: {exc}") from exc
