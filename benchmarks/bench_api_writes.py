"""Durable writes through kctl's HTTP API, with etcd doing the same puts in the same run.

A create through the API is what ``kubectl create`` or a controller does: HTTPS, bearer
token authentication, authorisation, decoding, admission (defaults and schema
validation), the store's durable commit, and the encoded response. The writes are
``POST /api/v1/namespaces/default/configmaps`` carrying one 256-byte data value, then a
``PUT`` of each object back with the resourceVersion its create returned (a
compare-and-swap update), from 1 client and from 50 clients, each client a keep-alive
``httpx.Client`` in its own thread (the storage notes: a shared asyncio client collapses
at this concurrency on two cores).

etcd (gRPC and its JSON gateway, :mod:`benchmarks.etcd`) does the same puts in the same
run; its JSON gateway is the like-for-like peer (an HTTP/1.1 JSON request per write),
though over plain HTTP where kctl serves HTTPS. The load generator shares the two cores
with the server, so the figures are a floor for the server and include client cost.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from benchmarks.bench_store_writes import configmap, etcd_value, object_name
from benchmarks.common import (
    VALUE_SIZE,
    ApiServer,
    Goal,
    LoadError,
    LoadResult,
    Report,
    Summary,
    Table,
    arg_parser,
    etcd_version,
    publish,
    run_apiserver,
    run_etcd,
    threaded_load,
)
from benchmarks.etcd import grpc_put_load, json_put_load, registry_keys

NAMESPACE = "default"


@dataclass(frozen=True)
class Sizes:
    one_client_writes: int
    many_clients: int
    writes_per_many_client: int


FULL = Sizes(one_client_writes=3000, many_clients=50, writes_per_many_client=100)
QUICK = Sizes(one_client_writes=30, many_clients=50, writes_per_many_client=2)


def api_write_load(
    server: ApiServer, clients: int, per_client: int, prefix: str
) -> tuple[LoadResult, LoadResult]:
    """Creates then compare-and-swap updates of each client's own ConfigMaps."""
    conns: dict[int, httpx.Client] = {}
    versions: dict[int, list[str]] = {i: [""] * per_client for i in range(clients)}
    base = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def connect(i: int) -> httpx.Client:
        c = conns.get(i)
        if c is None:
            c = conns[i] = server.client()
            c.get("/readyz").raise_for_status()  # TLS handshake outside the timed ops
        return c

    def setup_create(i: int) -> Callable[[int], object]:
        c = connect(i)
        rvs = versions[i]

        def op(j: int) -> object:
            body = orjson.dumps(configmap(f"{prefix}{object_name(i, j)}", NAMESPACE))
            r = c.post(base, content=body, headers=headers)
            if r.status_code != 201:
                raise LoadError(f"create: {r.status_code} {r.text[:300]}")
            rvs[j] = orjson.loads(r.content)["metadata"]["resourceVersion"]
            return r

        return op

    def setup_update(i: int) -> Callable[[int], object]:
        c = connect(i)
        rvs = versions[i]

        def op(j: int) -> object:
            name = f"{prefix}{object_name(i, j)}"
            obj = configmap(name, NAMESPACE)
            obj["metadata"]["resourceVersion"] = rvs[j]
            obj["data"]["n"] = "1"
            r = c.put(f"{base}/{name}", content=orjson.dumps(obj), headers=headers)
            if r.status_code != 200:
                raise LoadError(f"update: {r.status_code} {r.text[:300]}")
            return r

        return op

    try:
        created = threaded_load(clients, per_client, setup_create)
        updated = threaded_load(clients, per_client, setup_update)
    finally:
        for c in conns.values():
            c.close()
    return created, updated


def _row(
    system: str, op: str, clients: int, s: Summary, bases: Sequence[Summary] = ()
) -> list[Any]:
    ratios = [f"{s.rate / b.rate:.2f}x" for b in bases] or ["-", "-"]
    return [system, op, clients, s.count, s.rate, s.p50_ms, s.p99_ms, s.max_ms, *ratios]


def run(sizes: Sizes) -> tuple[list[Table], list[Goal], list[str]]:
    value = etcd_value()
    configs = [(1, sizes.one_client_writes), (sizes.many_clients, sizes.writes_per_many_client)]
    rows: list[list[Any]] = []
    goals: list[Goal] = []
    with run_etcd() as etcd, run_apiserver() as server:
        for clients, per in configs:
            etcd_s: dict[tuple[str, str], Summary] = {}
            for proto, load in (("grpc", grpc_put_load), ("json", json_put_load)):
                for op in ("create", "update"):
                    r = load(etcd, clients, per, value, registry_keys(f"{proto}-{clients}"))
                    etcd_s[(proto, op)] = r.summary()
            created, updated = api_write_load(server, clients, per, prefix=f"n{clients}-")
            api_s = {"create": created.summary(), "update": updated.summary()}
            for op in ("create", "update"):
                g, j, k = etcd_s[("grpc", op)], etcd_s[("json", op)], api_s[op]
                rows.append(_row("etcd gRPC", op, clients, g))
                rows.append(_row("etcd JSON gateway", op, clients, j))
                rows.append(_row("kctl API (HTTPS)", op, clients, k, (g, j)))
                target = 1.0 if clients == 1 else 0.5
                ratio = k.rate / j.rate
                goals.append(
                    Goal(
                        what=f"API {op}, {clients} client(s), vs etcd JSON gateway",
                        target=f">= {target:.1f}x etcd writes/s",
                        measured=f"{ratio:.2f}x ({k.rate:,.0f} vs {j.rate:,.0f}/s)",
                        met=ratio >= target,
                    )
                )
    table = Table(
        title=f"Writes through the HTTP API ({VALUE_SIZE}-byte data value), etcd "
        f"{etcd_version()} doing the same puts",
        columns=[
            "system",
            "op",
            "clients",
            "writes",
            "writes/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "kctl/etcd gRPC",
            "kctl/etcd JSON",
        ],
        rows=rows,
    )
    notes = [
        "create = POST /api/v1/namespaces/default/configmaps; update = PUT of the same "
        "object with the resourceVersion its create returned (compare-and-swap).",
        "The issue sets its ratio goals for the store (bench_store_writes); the API goals "
        "here reuse them against etcd's JSON gateway, the like-for-like HTTP peer.",
        "Client threads, the API server and etcd share 2 cores: a Python HTTPS client per "
        "thread costs CPU the server would otherwise have, so these are floors.",
    ]
    return [table], goals, notes


def main(argv: Sequence[str] | None = None) -> Report:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    return publish(
        "bench_api_writes",
        "Writes through the HTTP API vs etcd",
        argv,
        run(QUICK if args.quick else FULL),
        args.json,
    )


if __name__ == "__main__":
    main()
