"""Routes to the other nodes' pod CIDRs, so pods on different nodes reach each other.

How pods of different nodes meet, decided here:

- Same machine (the common case: several simulated nodes on one host). Each node's
  bridge holds its pod CIDR's gateway address, so the kernel already has a connected
  route ``<podCIDR> dev kctl-<hash>`` for every node whose network is up. A pod sends
  to another node's pod via its default route (its own bridge), the host forwards
  (``ip_forward=1``) out of the other bridge. Nothing to add: the connected route *is*
  the route to that node. :mod:`node.network.nomasq` keeps the source address.
- Same machine, other node's network not up yet (its Node says InternalIP is a local
  address, but no bridge serves its CIDR): an ``unreachable`` route, so the traffic
  fails at once instead of following the default route off the machine. Its metric is
  high, so the connected route wins the moment that bridge appears.
- Another machine (InternalIP not local): ``<podCIDR> via <InternalIP>``, the
  host-gateway scheme (flannel host-gw, kubenet with routes); needs the nodes on one L2
  segment, which is all a multi-machine kctl needs so far.

Routes are tagged with the project's routing protocol number and recorded per node in
its state dir; a sync adds what is missing and deletes only routes this node recorded
and no longer wants (another cluster's agent on the machine keeps its own).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from node.network.config import BRIDGE_PREFIX

log = logging.getLogger(__name__)

RTPROT_KCTL = 107  # 0x6b, "k": unused in iproute2's rt_protos
ROUTE_METRIC = 1000
MAIN_TABLE = 254
RTN_UNICAST, RTN_UNREACHABLE = 1, 7


@dataclass(frozen=True, order=True)
class RouteSpec:
    dst: str  # "10.244.2.0/24"
    kind: str  # "via" | "unreachable"
    gateway: str = ""


def node_pod_cidrs(node: dict[str, Any]) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or [])
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return [str(ipaddress.ip_network(c, strict=False)) for c in cidrs if ":" not in c]


def node_internal_ip(node: dict[str, Any]) -> str | None:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and ":" not in address.get("address", ":"):
            return str(address["address"])
    return None


def desired_routes(
    own_node: str,
    nodes: list[dict[str, Any]],
    connected: set[str],
    local_addresses: set[str],
) -> list[RouteSpec]:
    """The routes this node wants, from the Nodes and what the kernel already connects.

    ``connected``: pod CIDRs with a connected route on a local kctl bridge;
    ``local_addresses``: this machine's IPv4 addresses.
    """
    out: set[RouteSpec] = set()
    for node in nodes:
        if (node.get("metadata") or {}).get("name") == own_node:
            continue
        ip = node_internal_ip(node)
        for cidr in node_pod_cidrs(node):
            if cidr in connected:
                continue
            if ip is None or ip in local_addresses or ipaddress.ip_address(ip).is_loopback:
                out.add(RouteSpec(cidr, "unreachable"))
            else:
                out.add(RouteSpec(cidr, "via", ip))
    return sorted(out)


@dataclass(frozen=True)
class KernelView:
    connected: set[str]  # pod CIDRs connected on kctl bridges
    local_addresses: set[str]
    ours: set[RouteSpec]  # routes tagged with RTPROT_KCTL


def kernel_view() -> KernelView:
    connected: set[str] = set()
    ours: set[RouteSpec] = set()
    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        addresses = {str(a.get_attr("IFA_ADDRESS")) for a in ipr.get_addr(family=socket.AF_INET)}
        for route in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
            dst = f"{route.get_attr('RTA_DST') or '0.0.0.0'}/{route['dst_len']}"
            if route["proto"] == RTPROT_KCTL:
                if route["type"] == RTN_UNREACHABLE:
                    ours.add(RouteSpec(dst, "unreachable"))
                else:
                    ours.add(RouteSpec(dst, "via", str(route.get_attr("RTA_GATEWAY") or "")))
            elif str(names.get(route.get_attr("RTA_OIF"), "")).startswith(BRIDGE_PREFIX):
                connected.add(dst)
    return KernelView(connected, addresses, ours)


def _route_args(spec: RouteSpec) -> dict[str, Any]:
    args: dict[str, Any] = {
        "dst": spec.dst,
        "table": MAIN_TABLE,
        "proto": RTPROT_KCTL,
        "priority": ROUTE_METRIC,
    }
    if spec.kind == "unreachable":
        args["type"] = "unreachable"
    else:
        args["gateway"] = spec.gateway
    return args


def _load(record: Path) -> set[RouteSpec]:
    try:
        return {RouteSpec(**item) for item in json.loads(record.read_text())}
    except FileNotFoundError:
        return set()


def _save(record: Path, routes: set[RouteSpec]) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([asdict(r) for r in sorted(routes)], indent=2))
    os.replace(tmp, record)


def apply(desired: list[RouteSpec], record: Path, present: set[RouteSpec]) -> tuple[int, int]:
    """Add missing routes, delete recorded ones no longer wanted; (added, deleted)."""
    owned = _load(record)
    want = set(desired)
    added = deleted = 0
    with IPRoute() as ipr:
        for spec in sorted(owned - want):
            if spec in present:
                try:
                    ipr.route("del", **_route_args(spec))
                    deleted += 1
                except NetlinkError as exc:
                    log.warning("route %s: delete failed: %s", spec, exc)
        keep: set[RouteSpec] = set()
        for spec in sorted(want):
            if spec not in present:
                try:
                    ipr.route("add", **_route_args(spec))
                    added += 1
                    log.info("route %s %s %s added", spec.dst, spec.kind, spec.gateway)
                except NetlinkError as exc:
                    if exc.code != 17:  # EEXIST: another node of the machine added it
                        log.warning("route %s: %s", spec, exc)
                        continue
            keep.add(spec)
    _save(record, keep)
    return added, deleted


def sync(own_node: str, nodes: list[dict[str, Any]], record: Path) -> list[RouteSpec]:
    view = kernel_view()
    desired = desired_routes(own_node, nodes, view.connected, view.local_addresses)
    apply(desired, record, view.ours)
    return desired


def remove_recorded(record: Path) -> int:
    """Delete every route this node recorded (cleanup); how many were deleted."""
    present = kernel_view().ours
    _, deleted = apply([], record, present)
    record.unlink(missing_ok=True)
    return deleted
