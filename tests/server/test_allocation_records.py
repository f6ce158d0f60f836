"""The allocation records that make Service allocation airtight across API servers:
claims decided by the store, release after the write, takeover of stale records, and
the repair pass (a crash between record and Service write), on SQLite and PostgreSQL.

Two ServiceAllocators over one store stand for two API servers: each has its own
ledger and reservations, so only the records keep them apart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kctl.api import errors, kinds
from kctl.server.allocation import AllocationSettings, ServiceAllocator
from kctl.server.allocation.records import IP_RESOURCE, PORT_RESOURCE, Owner, body, record_key
from kctl.store import Key, Store

_SERVICES = kinds.default_registry().by_resource("services")
assert _SERVICES is not None
SERVICES = _SERVICES
SETTINGS = AllocationSettings(
    service_cidr="10.100.0.0/29",  # 6 usable, .1 reserved: 5 to hand out
    cluster_dns="",
    node_port_range="30000-30004",
    repair_interval=0,
    record_grace=30.0,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def service(name: str, uid: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP"}])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "uid": uid},
        "spec": spec,
    }


def run(url_of: Callable[[], str], body_: Callable[[Store, Clock], Awaitable[None]]) -> None:
    async def main() -> None:
        store = await Store.open(url_of())
        try:
            await body_(store, Clock())
        finally:
            await store.close()

    asyncio.run(main())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path / 'store.db'}"
    url = str(request.getfixturevalue("postgres_url"))
    return lambda: url


async def create(alloc: ServiceAllocator, store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    async with alloc.allocate(SERVICES, None, obj):
        await store.create(Key("services", "default", obj["metadata"]["name"]), obj)
    return obj


def records(store: Store, resource: str) -> dict[str, str]:
    """record name -> owner uid"""
    return {e.key.name: e.object()["service"]["uid"] for e in store.list(resource)[1]}


def test_records_follow_creates_updates_and_deletes(store_url: Callable[[], str]) -> None:
    async def body_(store: Store, clock: Clock) -> None:
        alloc = ServiceAllocator(store, SETTINGS, clock)
        svc = await create(alloc, store, service("a", "u-a", type="NodePort"))
        ip, port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
        assert records(store, IP_RESOURCE) == {ip: "u-a"}
        assert records(store, PORT_RESOURCE) == {str(port): "u-a"}
        # NodePort -> ClusterIP gives the node port up
        key = Key("services", "default", "a")
        old = store.get(key)
        assert old is not None
        new = old.object()
        new["spec"]["type"] = "ClusterIP"
        del new["spec"]["ports"][0]["nodePort"]
        async with alloc.allocate(SERVICES, old.object(), new):
            await store.update(key, new, old.revision)
        assert records(store, PORT_RESOURCE) == {}
        assert records(store, IP_RESOURCE) == {ip: "u-a"}
        # removal (the delete path) gives everything up
        current = store.get(key)
        assert current is not None
        async with alloc.removing(SERVICES, current.object()):
            await store.delete(key)
        assert records(store, IP_RESOURCE) == {}

    run(store_url, body_)


def test_a_failed_write_leaves_no_record(store_url: Callable[[], str]) -> None:
    async def body_(store: Store, clock: Clock) -> None:
        alloc = ServiceAllocator(store, SETTINGS, clock)
        await create(alloc, store, service("a", "u-a"))
        with pytest.raises(RuntimeError):
            async with alloc.allocate(SERVICES, None, service("b", "u-b", type="NodePort")):
                raise RuntimeError("the store refused the Service")
        assert set(records(store, IP_RESOURCE).values()) == {"u-a"}
        assert records(store, PORT_RESOURCE) == {}

    run(store_url, body_)


def test_another_servers_claim_in_flight_is_respected(store_url: Callable[[], str]) -> None:
    async def body_(store: Store, clock: Clock) -> None:
        one, two = ServiceAllocator(store, SETTINGS, clock), ServiceAllocator(store, SETTINGS, clock)
        first = service("a", "u-a", clusterIP="10.100.0.3", type="NodePort",
                        ports=[{"port": 80, "nodePort": 30001}])
        async with one.allocate(SERVICES, None, first):
            # server one has claimed, its Service is not written yet
            for spec in ({"clusterIP": "10.100.0.3"}, {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001}]}):
                with pytest.raises(errors.ApiError) as caught:
                    await create(two, store, service("b", "u-b", **spec))
                assert caught.value.code == 422 and "already allocated" in str(caught.value)
            # a dynamic choice on server two goes around it
            other = await create(two, store, service("c", "u-c", type="NodePort"))
            assert other["spec"]["clusterIP"] != "10.100.0.3"
            assert other["spec"]["ports"][0]["nodePort"] != 30001
            await store.create(Key("services", "default", "a"), first)
        assert records(store, IP_RESOURCE)["10.100.0.3"] == "u-a"

    run(store_url, body_)


def test_a_clash_at_the_database_chooses_again(store_url: Callable[[], str]) -> None:
    """Server two does not see server one's claims (as if its feed lagged): the store's
    create refuses every taken number and it ends up with the one left."""

    async def body_(store: Store, clock: Clock) -> None:
        one, two = ServiceAllocator(store, SETTINGS, clock), ServiceAllocator(store, SETTINGS, clock)
        for i in range(4):
            await create(one, store, service(f"a{i}", f"u-a{i}", type="NodePort"))
        two.ledger.ip_record = lambda value: None  # type: ignore[method-assign]
        two.ledger.port_record = lambda value: None  # type: ignore[method-assign]
        two.ledger.ip_taken = lambda value: False  # type: ignore[method-assign]
        two.ledger.port_taken = lambda value: False  # type: ignore[method-assign]
        last = await create(two, store, service("b", "u-b", type="NodePort"))
        ips = records(store, IP_RESOURCE)
        ports = records(store, PORT_RESOURCE)
        assert len(ips) == 5 and ips[last["spec"]["clusterIP"]] == "u-b"
        assert len(ports) == 5 and ports[str(last["spec"]["ports"][0]["nodePort"])] == "u-b"
        with pytest.raises(errors.ApiError) as caught:
            await create(two, store, service("c", "u-c"))
        assert caught.value.code == 500 and "range is full" in str(caught.value)
        with pytest.raises(errors.ApiError) as caught:
            await create(two, store, service("d", "u-d", clusterIP=last["spec"]["clusterIP"]))
        assert caught.value.code == 422

    run(store_url, body_)


def test_repair_collects_what_a_crash_left_and_records_what_is_held(store_url: Callable[[], str]) -> None:
    async def body_(store: Store, clock: Clock) -> None:
        alloc = ServiceAllocator(store, SETTINGS, clock)
        ghost = Owner("default", "never-written", "u-ghost")
        # a crash between the record and the Service write
        await store.create(record_key(IP_RESOURCE, 0x0A640003), body(IP_RESOURCE, 0x0A640003, ghost, clock.now))
        await store.create(record_key(PORT_RESOURCE, 30002), body(PORT_RESOURCE, 30002, ghost, clock.now))
        # a Service written before records existed
        legacy = service("legacy", "u-old", clusterIP="10.100.0.4", type="NodePort",
                         ports=[{"port": 80, "nodePort": 30003}])
        await store.create(Key("services", "default", "legacy"), legacy)
        result = await alloc.repair.run_once()
        assert (result.deleted, result.created) == (0, 2)  # young records may be in flight
        assert records(store, IP_RESOURCE) == {"10.100.0.3": "u-ghost", "10.100.0.4": "u-old"}
        clock.now += SETTINGS.record_grace + 1
        result = await alloc.repair.run_once()
        assert (result.deleted, result.created) == (2, 0)
        assert records(store, IP_RESOURCE) == {"10.100.0.4": "u-old"}
        assert records(store, PORT_RESOURCE) == {"30003": "u-old"}
        # the legacy Service's numbers are now guarded by records like any other
        with pytest.raises(errors.ApiError):
            await create(alloc, store, service("x", "u-x", clusterIP="10.100.0.4"))

    run(store_url, body_)


def test_a_requested_number_takes_over_a_stale_record(store_url: Callable[[], str]) -> None:
    async def body_(store: Store, clock: Clock) -> None:
        alloc = ServiceAllocator(store, SETTINGS, clock)
        ghost = Owner("default", "gone", "u-ghost")
        await store.create(record_key(PORT_RESOURCE, 30002), body(PORT_RESOURCE, 30002, ghost, clock.now))
        wanted = {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30002}]}
        with pytest.raises(errors.ApiError) as caught:  # in flight: respected
            await create(alloc, store, service("a", "u-a", **wanted))
        assert caught.value.code == 422
        clock.now += SETTINGS.record_grace + 1
        await create(alloc, store, service("a", "u-a", **wanted))
        assert records(store, PORT_RESOURCE) == {"30002": "u-a"}

    run(store_url, body_)
