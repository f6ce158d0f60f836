"""Unit tests of the Service allocation parts: ranges, Kubernetes' update rules, and
the allocator over a real (SQLite) store, without the HTTP server."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import random
from pathlib import Path
from typing import Any

import pytest

from kctl.api import errors, kinds
from kctl.server.allocation import AllocationSettings, ConfigError, ServiceAllocator
from kctl.server.allocation.ipallocator import ServiceCIDR
from kctl.server.allocation.pool import Pool, static_band
from kctl.server.allocation.portallocator import PortRange
from kctl.server.allocation.service import (
    duplicate_node_ports,
    held,
    prepare_update,
    sync_cluster_ips,
)
from kctl.store import Key, Store

SERVICES = kinds.default_registry().by_resource("services")


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("size", "low", "step", "high", "band"),
    [
        (2**20 - 2, 16, 16, 256, 256),  # a /12: upstream's IP offset is capped at 256
        (254, 16, 16, 256, 16),  # a /24: at least 16
        (14, 16, 16, 256, 0),  # a /28 has no static band
        (2768, 16, 32, 128, 86),  # 30000-32767
        (10000, 16, 32, 128, 128),
    ],
)
def test_static_band(size: int, low: int, step: int, high: int, band: int) -> None:
    assert static_band(size, low, step, high) == band


def test_pool_prefers_the_dynamic_band_then_falls_back() -> None:
    pool = Pool(100, 20, static=5)
    rng = random.Random(1)
    picks = {pool.pick(lambda v: False, rng) for _ in range(200)}
    assert picks <= set(range(105, 120)) and len(picks) > 5
    upper_full = pool.pick(lambda v: v >= 105, rng)
    assert upper_full is not None and 100 <= upper_full < 105
    assert pool.pick(lambda v: v != 103, rng) == 103
    assert pool.pick(lambda v: True, rng) is None


@pytest.mark.parametrize(
    ("cidr", "first", "size"),
    [
        ("10.96.0.0/12", "10.96.0.1", 2**20 - 2),
        ("10.96.0.0/30", "10.96.0.1", 2),  # network and broadcast are never in the range
        ("10.96.0.5/24", "10.96.0.1", 254),  # host bits are ignored
        ("fd00:10:96::/112", "fd00:10:96::1", 2**16 - 1),  # IPv6 has no broadcast
    ],
)
def test_service_cidr(cidr: str, first: str, size: int) -> None:
    parsed = ServiceCIDR.parse(cidr)
    assert parsed.address(parsed.pool.first) == first
    assert parsed.pool.size == size
    assert int(ipaddress.ip_address(first)) in parsed.reserved


def test_service_cidr_reserves_the_dns_address_inside_the_range_only() -> None:
    cidr = ServiceCIDR.parse("10.96.0.0/12", ("10.96.0.10", "192.168.0.10"))
    assert {cidr.address(v) for v in cidr.reserved} == {"10.96.0.1", "10.96.0.10"}
    assert cidr.out_of_range("10.0.0.1") == (
        "the provided IP (10.0.0.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )


@pytest.mark.parametrize("bad", ["10.96.0.0/33", "nope", "10.96.0.1/32"])
def test_service_cidr_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        ServiceCIDR.parse(bad)


@pytest.mark.parametrize(
    ("text", "base", "size", "shown"),
    [
        ("30000-32767", 30000, 2768, "30000-32767"),
        ("30000+2767", 30000, 2768, "30000-32767"),
        ("8080", 8080, 1, "8080-8080"),
    ],
)
def test_port_range(text: str, base: int, size: int, shown: str) -> None:
    ports = PortRange.parse(text)
    assert (ports.base, ports.size, str(ports)) == (base, size, shown)


@pytest.mark.parametrize("bad", ["", "a-b", "0-10", "32767-30000", "60000-70000"])
def test_port_range_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        PortRange.parse(bad)


# ---------------------------------------------------------------- Kubernetes' rules


def svc(**spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"name": "http", "port": 80, "protocol": "TCP"}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec}


NODEPORT = svc(
    type="NodePort",
    clusterIP="10.96.5.5",
    clusterIPs=["10.96.5.5"],
    externalTrafficPolicy="Cluster",
    ports=[
        {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
    ],
)


@pytest.mark.parametrize(
    ("case", "new_spec", "expected"),
    [
        (
            "re-applied manifest keeps the allocated values",
            {"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53}]},
            {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.5"], "nodePorts": [30080, 30053]},
        ),
        (
            "a node port already used by another port is not patched in twice",
            {"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "nodePort": 30080}]},
            {"clusterIP": "10.96.5.5", "nodePorts": [None, 30080]},
        ),
        (
            "NodePort -> ClusterIP drops unchanged node ports and externalTrafficPolicy",
            {**NODEPORT["spec"], "type": "ClusterIP"},
            {"clusterIP": "10.96.5.5", "nodePorts": [None, None], "externalTrafficPolicy": None},
        ),
        (
            "NodePort -> ClusterIP keeps node ports the client changed (validation refuses them)",
            {**NODEPORT["spec"], "type": "ClusterIP", "ports": [{"name": "http", "port": 80, "nodePort": 30081}]},
            {"nodePorts": [30081]},
        ),
        (
            "-> ExternalName drops the unchanged address and families",
            {**NODEPORT["spec"], "type": "ExternalName", "externalName": "x.example.com"},
            {"clusterIP": None, "clusterIPs": None, "ipFamilies": None, "nodePorts": [None, None]},
        ),
        (
            "a changed clusterIP with unchanged clusterIPs follows clusterIP",
            {**NODEPORT["spec"], "clusterIP": "10.96.6.6"},
            {"clusterIP": "10.96.6.6", "clusterIPs": ["10.96.6.6"]},
        ),
    ],
)
def test_prepare_update(case: str, new_spec: dict[str, Any], expected: dict[str, Any]) -> None:
    old = copy.deepcopy(NODEPORT)
    old["spec"]["ipFamilies"] = ["IPv4"]
    new = svc(**copy.deepcopy(new_spec))
    if "ipFamilies" in new_spec or new_spec.get("type") == "ExternalName":
        new["spec"]["ipFamilies"] = ["IPv4"]
    prepare_update(old, new)
    spec = new["spec"]
    for field, want in expected.items():
        if field == "nodePorts":
            assert [p.get("nodePort") for p in spec["ports"]] == want, case
        else:
            assert spec.get(field) == want, case


def test_held_counts_addresses_node_ports_and_health_check_port() -> None:
    obj = svc(
        clusterIP="10.96.0.20",
        clusterIPs=["10.96.0.20"],
        healthCheckNodePort=31000,
        ports=[{"port": 80, "nodePort": 30080}, {"port": 81}],
    )
    got = held(obj)
    assert got.ips == {int(ipaddress.ip_address("10.96.0.20"))}
    assert got.ports == {30080, 31000}
    assert held(svc(clusterIP="None")).ips == frozenset()


@pytest.mark.parametrize(
    ("spec", "creating", "fields", "clusterIPs"),
    [
        ({"clusterIP": "10.96.0.9"}, True, [], ["10.96.0.9"]),
        ({"clusterIP": "10.96.0.9"}, False, ["spec.clusterIPs"], None),
        ({"clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.8"]}, True, ["spec.clusterIPs"], ["10.96.0.8"]),
        ({"clusterIPs": ["10.96.0.8"]}, True, ["spec.clusterIPs"], ["10.96.0.8"]),
        ({}, True, [], None),
    ],
)
def test_sync_cluster_ips(
    spec: dict[str, Any], creating: bool, fields: list[str], clusterIPs: list[str] | None
) -> None:
    causes = sync_cluster_ips(spec, creating)
    assert [c.field for c in causes] == fields
    assert spec.get("clusterIPs") == clusterIPs


def test_duplicate_node_ports_only_for_the_same_protocol() -> None:
    same = {"ports": [{"port": 80, "nodePort": 30080}, {"port": 81, "nodePort": 30080}]}
    causes = duplicate_node_ports(same)
    assert [(c.field, c.message, c.reason) for c in causes] == [
        ("spec.ports[1].nodePort", "Duplicate value: 30080", "FieldValueDuplicate")
    ]
    other = {"ports": [{"port": 53, "nodePort": 30053}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]}
    assert duplicate_node_ports(other) == []


# ---------------------------------------------------------------- the allocator on a store


def new_service(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP"}])
    spec.setdefault("type", "ClusterIP")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


async def create(store: Store, alloc: ServiceAllocator, obj: dict[str, Any]) -> dict[str, Any]:
    assert SERVICES is not None
    async with alloc.allocate(SERVICES, None, obj):
        await asyncio.sleep(0)  # let concurrent creators interleave
        entry = await store.create(Key("services", "default", obj["metadata"]["name"]), obj)
    return entry.object()


def test_concurrent_creates_get_distinct_addresses_until_the_range_is_full(tmp_path: Path) -> None:
    async def main() -> None:
        store = await Store.open(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            # a /29 has 6 usable addresses; .1 is reserved for the kubernetes Service
            alloc = ServiceAllocator(store, AllocationSettings("10.96.0.0/29", cluster_dns=""))
            made = await asyncio.gather(
                *(create(store, alloc, new_service(f"s{i}")) for i in range(5))
            )
            ips = [m["spec"]["clusterIP"] for m in made]
            assert sorted(ips) == [f"10.96.0.{i}" for i in range(2, 7)]
            with pytest.raises(errors.InternalError, match="range is full"):
                await create(store, alloc, new_service("full"))
            # a failed write leaves nothing held: after a delete, that address is free again
            await store.delete(Key("services", "default", "s0"))
            again = await create(store, alloc, new_service("again"))
            assert again["spec"]["clusterIP"] == made[0]["spec"]["clusterIP"]
        finally:
            await store.close()

    asyncio.run(main())


def test_a_failed_write_releases_and_a_restart_rebuilds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def first() -> str:
        store = await Store.open(url)
        try:
            alloc = ServiceAllocator(store, AllocationSettings("10.96.0.0/29", cluster_dns=""))
            obj = new_service("a", type="NodePort", ports=[{"port": 80, "nodePort": 30100}])
            assert SERVICES is not None
            with pytest.raises(RuntimeError):
                async with alloc.allocate(SERVICES, None, copy.deepcopy(obj)):
                    raise RuntimeError("the store write failed")
            made = await create(store, alloc, obj)  # the same numbers are free again
            return str(made["spec"]["clusterIP"])
        finally:
            await store.close()

    async def second(taken: str) -> None:
        store = await Store.open(url)
        try:
            alloc = ServiceAllocator(store, AllocationSettings("10.96.0.0/29", cluster_dns=""))
            for ip in (taken,):
                with pytest.raises(errors.Invalid, match="provided IP is already allocated"):
                    await create(store, alloc, new_service("b", clusterIP=ip))
            with pytest.raises(errors.Invalid, match="provided port is already allocated"):
                await create(
                    store, alloc, new_service("c", type="NodePort", ports=[{"port": 80, "nodePort": 30100}])
                )
            made = [await create(store, alloc, new_service(f"d{i}")) for i in range(4)]
            assert taken not in {m["spec"]["clusterIP"] for m in made}
        finally:
            await store.close()

    asyncio.run(second(asyncio.run(first())))
