"""Pod IP allocation (host-local style) and per-node fallback blocks."""

from __future__ import annotations

import ipaddress

import pytest

from node.runtime.ipalloc import IpAllocator, RangeExhausted, SlotAssigner


@pytest.mark.parametrize(
    ("cidr", "first", "capacity"),
    [
        ("10.244.1.0/24", "10.244.1.2", 253),  # .0 network, .1 gateway, .255 broadcast
        ("10.244.1.0/30", "10.244.1.2", 1),
        ("10.0.0.0/31", "10.0.0.0", 2),
        ("fd00::/120", "fd00::2", 254),  # no broadcast in v6
    ],
)
def test_first_address_and_capacity(cidr: str, first: str, capacity: int) -> None:
    alloc = IpAllocator(cidr)
    assert alloc.capacity == capacity
    assert alloc.allocate("a") == first


def test_distinct_stable_and_released() -> None:
    alloc = IpAllocator("10.244.1.0/24")
    ips = [alloc.allocate(f"pod-{i}") for i in range(253)]
    assert len(set(ips)) == 253
    assert "10.244.1.255" not in ips and "10.244.1.1" not in ips and "10.244.1.0" not in ips
    assert alloc.allocate("pod-7") == ips[7]  # same owner, same address
    with pytest.raises(RangeExhausted):
        alloc.allocate("one-too-many")
    alloc.release("pod-7")
    assert alloc.allocate("newcomer") == ips[7]  # the only free one
    assert len(alloc) == 253


def test_released_address_not_reused_at_once() -> None:
    alloc = IpAllocator("10.244.1.0/24")
    a = alloc.allocate("a")
    alloc.release("a")
    assert alloc.allocate("b") != a


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        ("10.244.1.77", "10.244.1.77"),  # in range and free: kept (adoption after restart)
        ("10.244.2.77", "10.244.1.2"),  # another node's range: ignored
        ("10.244.1.1", "10.244.1.2"),  # the gateway: never
        ("garbage", "10.244.1.2"),
    ],
)
def test_preferred_address(preferred: str, expected: str) -> None:
    assert IpAllocator("10.244.1.0/24").allocate("p", preferred=preferred) == expected


def test_preferred_address_taken() -> None:
    alloc = IpAllocator("10.244.1.0/24")
    alloc.allocate("x", preferred="10.244.1.9")
    assert alloc.allocate("y", preferred="10.244.1.9") != "10.244.1.9"


def test_slots_distinct_stable_within_supernet() -> None:
    slots = SlotAssigner("100.64.0.0/10", 24)
    names = [f"hollow-{i}" for i in range(2000)]
    blocks = [slots.assign(n) for n in names]
    assert len(set(blocks)) == 2000
    supernet = ipaddress.ip_network("100.64.0.0/10")
    assert all(ipaddress.ip_network(b).subnet_of(supernet) for b in blocks)
    assert slots.assign("hollow-5") == blocks[5]
    # Name-derived: a restarted process gives a node the same block.
    assert SlotAssigner("100.64.0.0/10", 24).assign("hollow-0") == blocks[0]


def test_slots_exhaust_and_release() -> None:
    slots = SlotAssigner("10.0.0.0/30", 32)
    got = {slots.assign(n) for n in "abcd"}
    assert len(got) == 4
    with pytest.raises(RangeExhausted):
        slots.assign("e")
    slots.release("a")
    assert slots.assign("e")
    assert slots.address("e") in {g.split("/")[0] for g in got}


def test_slot_prefix_must_fit() -> None:
    with pytest.raises(ValueError):
        SlotAssigner("10.0.0.0/24", 16)
