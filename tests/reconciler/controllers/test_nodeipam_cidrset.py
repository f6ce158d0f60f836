"""The pod CIDR allocator and the node IPAM settings."""

from __future__ import annotations

import ipaddress

import pytest

from reconciler.controllers.nodeipam.cidrset import (
    CidrAllocator,
    CidrError,
    CidrSet,
    CidrsExhausted,
    parse_cidrs,
)
from reconciler.controllers.nodeipam.config import resolve


def _set(cluster: str, mask: int) -> CidrSet:
    return CidrSet(ipaddress.ip_network(cluster), mask)


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_allocates_in_order_then_exhausts() -> None:
    cidrs = _set("10.244.0.0/22", 24)
    got = [str(cidrs.allocate_next()) for _ in range(4)]
    assert got == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
    with pytest.raises(CidrsExhausted, match="no remaining CIDRs left"):
        cidrs.allocate_next()
    cidrs.release(_net("10.244.1.0/24"))
    assert str(cidrs.allocate_next()) == "10.244.1.0/24"


def test_released_blocks_are_not_reused_at_once() -> None:
    cidrs = _set("10.244.0.0/16", 24)
    first = cidrs.allocate_next()
    cidrs.release(first)
    assert str(cidrs.allocate_next()) == "10.244.1.0/24"


def test_occupied_blocks_are_skipped() -> None:
    cidrs = _set("10.244.0.0/16", 24)
    cidrs.occupy(_net("10.244.0.0/24"))
    cidrs.occupy(_net("10.244.2.0/23"))  # larger than a block: two blocks
    cidrs.occupy(_net("10.244.5.128/25"))  # smaller: its whole block
    got = [str(cidrs.allocate_next()) for _ in range(3)]
    assert got == ["10.244.1.0/24", "10.244.4.0/24", "10.244.6.0/24"]
    assert len(cidrs) == 7


@pytest.mark.parametrize(
    ("cidr", "blocks"),
    [
        ("10.0.0.0/8", 4),  # covers the whole cluster range
        ("10.244.1.0/24", 1),
    ],
)
def test_occupy_extent(cidr: str, blocks: int) -> None:
    cidrs = _set("10.244.0.0/22", 24)
    cidrs.occupy(_net(cidr))
    assert len(cidrs) == blocks


@pytest.mark.parametrize("cidr", ["192.168.0.0/24", "fd00::/64"])
def test_occupy_outside_the_range_is_an_error(cidr: str) -> None:
    with pytest.raises(CidrError, match="out the range"):
        _set("10.244.0.0/16", 24).occupy(_net(cidr))


@pytest.mark.parametrize(
    ("cluster", "mask"),
    [("10.244.0.0/16", 15), ("10.0.0.0/8", 25)],
)
def test_bad_masks(cluster: str, mask: int) -> None:
    with pytest.raises(CidrError):
        _set(cluster, mask)


def test_ipv6_blocks() -> None:
    cidrs = _set("fd00:10:244::/56", 64)
    assert [str(cidrs.allocate_next()) for _ in range(2)] == ["fd00:10:244::/64", "fd00:10:244:1::/64"]


def test_dual_stack_allocator_is_all_or_nothing() -> None:
    allocator = CidrAllocator(parse_cidrs("10.244.0.0/24,fd00::/63"), {4: 24, 6: 64})
    assert allocator.allocate() == ["10.244.0.0/24", "fd00::/64"]
    with pytest.raises(CidrsExhausted):
        allocator.allocate()  # IPv4 is full
    allocator.release(["10.244.0.0/24", "fd00::/64"])
    assert allocator.allocate() == ["10.244.0.0/24", "fd00:0:0:1::/64"]
    allocator.occupy(["10.244.0.0/24"])
    with pytest.raises(CidrError):
        allocator.occupy(["not-a-cidr"])


@pytest.mark.parametrize(
    "text",
    ["", "10.244.0.1/16", "10.0.0.0/16,10.1.0.0/16", "nonsense"],
)
def test_parse_cidrs_rejects(text: str) -> None:
    with pytest.raises(CidrError):
        parse_cidrs(text)


@pytest.mark.parametrize(
    ("config", "options", "cidrs", "masks"),
    [
        ({}, {}, ["10.244.0.0/16"], {4: 24}),
        ({"clusterCIDR": "10.100.0.0/16"}, {}, ["10.100.0.0/16"], {4: 24}),
        ({"clusterCIDR": "10.100.0.0/16", "nodeCIDRMaskSize": "26"}, {}, ["10.100.0.0/16"], {4: 26}),
        ({"clusterCIDR": "10.100.0.0/16"}, {"nodeipam.cluster-cidr": "10.50.0.0/16"}, ["10.50.0.0/16"], {4: 24}),
        ({}, {"nodeipam.node-cidr-mask-size": "25"}, ["10.244.0.0/16"], {4: 25}),
        (
            {"clusterCIDR": "10.244.0.0/16,fd00::/48"},
            {"nodeipam.node-cidr-mask-size": "25", "nodeipam.node-cidr-mask-size-ipv6": "60"},
            ["10.244.0.0/16", "fd00::/48"],
            {4: 24, 6: 60},  # dual stack: the single-stack flag does not apply
        ),
    ],
)
def test_settings(config: dict[str, str], options: dict[str, str], cidrs: list[str], masks: dict[int, int]) -> None:
    settings = resolve(config, options)
    assert [str(c) for c in settings.cluster_cidrs] == cidrs
    assert settings.masks == masks
