"""etcd clients for the baseline: its JSON gateway over httpx, and raw gRPC.

Kubernetes' API server talks to etcd over gRPC; the python ``etcd3`` package does not
import with the protobuf installed here (see shared/notes/storage-baselines.md), so the
gRPC client below encodes the one message it needs, ``etcdserverpb.PutRequest`` (field 1
key, field 2 value, both bytes), by hand and calls ``/etcdserverpb.KV/Put`` through
grpcio with identity (de)serialisers. No generated code, no version coupling.

The JSON gateway (``POST /v3/kv/put`` with base64 key/value) is the like-for-like peer of
kctl's own HTTP API: one HTTP/1.1 request with a JSON body per write. Both clients are
blocking and used one per thread, because a Python load generator on two cores has to
keep its own cost per op as low as it can.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import grpc
import httpx

from benchmarks.common import Etcd, LoadError, LoadResult, threaded_load

PUT_METHOD = "/etcdserverpb.KV/Put"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_put_request(key: bytes, value: bytes) -> bytes:
    """Protobuf wire form of ``PutRequest{key, value}``."""
    return b"\x0a" + _varint(len(key)) + key + b"\x12" + _varint(len(value)) + value


KeyFn = Callable[[int, int], bytes]


def registry_keys(namespace: str) -> KeyFn:
    """Keys shaped like Kubernetes' etcd keys: client i's j-th put goes to its own name."""

    def key(i: int, j: int) -> bytes:
        return f"/registry/configmaps/{namespace}/c{i:03d}-{j:06d}".encode()

    return key


def json_put_load(
    etcd: Etcd, clients: int, puts_per_client: int, value: bytes, key_of: KeyFn
) -> LoadResult:
    """``clients`` threads, each with its own keep-alive httpx client, each doing puts."""
    conns: dict[int, httpx.Client] = {}
    value_b64 = base64.b64encode(value).decode()

    def setup(i: int) -> Callable[[int], object]:
        c = httpx.Client(base_url=etcd.url, timeout=30)
        conns[i] = c
        # Warm the connection so the first timed op does not pay for the TCP handshake.
        c.post(
            "/v3/kv/put", json={"key": base64.b64encode(b"/warm").decode(), "value": value_b64}
        ).raise_for_status()

        def op(j: int) -> object:
            key = base64.b64encode(key_of(i, j)).decode()
            r = c.post("/v3/kv/put", json={"key": key, "value": value_b64})
            if r.status_code != 200:
                raise LoadError(f"etcd put: {r.status_code} {r.text[:200]}")
            return r

        return op

    def teardown(i: int) -> None:
        conns[i].close()

    return threaded_load(clients, puts_per_client, setup, teardown)


def grpc_put_load(
    etcd: Etcd, clients: int, puts_per_client: int, value: bytes, key_of: KeyFn
) -> LoadResult:
    """``clients`` threads, each with its own gRPC channel, each doing blocking puts."""
    channels: dict[int, grpc.Channel] = {}

    def setup(i: int) -> Callable[[int], object]:
        # A local subchannel pool keeps the channels from sharing one HTTP/2 connection.
        ch = grpc.insecure_channel(
            etcd.grpc_target, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        channels[i] = ch
        put = ch.unary_unary(PUT_METHOD, request_serializer=None, response_deserializer=None)
        put(encode_put_request(b"/warm", value), timeout=30)

        def op(j: int) -> object:
            return put(encode_put_request(key_of(i, j), value), timeout=30)

        return op

    def teardown(i: int) -> None:
        channels[i].close()

    return threaded_load(clients, puts_per_client, setup, teardown)


def count_keys(etcd: Etcd, prefix: bytes) -> int:
    """How many keys etcd holds under ``prefix`` (to check every put landed)."""
    end = prefix[:-1] + bytes([prefix[-1] + 1])
    r = httpx.post(
        f"{etcd.url}/v3/kv/range",
        json={
            "key": base64.b64encode(prefix).decode(),
            "range_end": base64.b64encode(end).decode(),
            "count_only": True,
        },
        timeout=30,
    )
    r.raise_for_status()
    return int(r.json().get("count", 0))
