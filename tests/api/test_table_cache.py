"""Table rows cached per object revision (kctl.api.table_rows): same bytes as a fresh
Table, time cells rendered per request, rows of deleted objects dropped, memory bounded."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from kctl.api import tables
from kctl.api.duration import age
from kctl.api.kinds import ResourceInfo, default_registry
from kctl.api.table_rows import CachedRow, RowCache, row_cache
from kctl.api.tables import Column, Printer, Since, epoch_us, since, table_for
from kctl.store.types import Entry, Key

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-05-01T11:00:00Z"  # 60m before NOW
MANAGED = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}]


def info(resource: str) -> ResourceInfo:
    found = default_registry().by_resource(resource)
    assert found is not None, resource
    return found


def meta(name: str, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "creationTimestamp": CREATED,
        "managedFields": MANAGED,
        **extra,
    }


def entry(resource: str, obj: dict[str, Any], revision: int = 1) -> Entry:
    md = obj["metadata"]
    md["resourceVersion"] = str(revision)
    return Entry(Key(resource, md.get("namespace", ""), md["name"]), revision, orjson.dumps(obj))


def crashing_pod(name: str, restarts: int = 3, namespace: str = "default") -> dict[str, Any]:
    status = {
        "name": "a",
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, namespace, labels={"app": "web"}),
        "spec": {"containers": [{"name": "a"}], "nodeName": "n1"},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [status]},
    }


def plain_pod(name: str, namespace: str = "default", phase: str = "Running") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, namespace),
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": phase},
    }


def event(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(name),
        "involvedObject": {"kind": "Pod", "name": "web"},
        "reason": "BackOff",
        "message": 'quote " and \u00e9',
        "type": "Warning",
        "firstTimestamp": "2024-05-01T11:00:00Z",
        "lastTimestamp": "2024-05-01T11:58:00Z",
        "count": 7,
    }


def expected(resource: str, entries: list[Entry], **kwargs: Any) -> bytes:
    """A fresh Table of the decoded objects, encoded: what the cache must produce."""
    table = table_for(info(resource), [e.object() for e in entries], **kwargs)
    return orjson.dumps(table)


class Lookup:
    """A stand-in store: ``get(key)`` gives the current entry."""

    def __init__(self, entries: list[Entry]) -> None:
        self.current = {e.key: e for e in entries}

    def get(self, key: Key) -> Entry | None:
        return self.current.get(key)


# --- same output as a fresh Table ---------------------------------------------------------


SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("pods", crashing_pod("crash")),
    ("pods", plain_pod("done", phase="Succeeded")),  # row conditions
    ("pods", plain_pod("pending", phase="Pending")),
    ("events", event("ev")),
    (
        "services",
        {
            "kind": "Service",
            "metadata": meta("svc"),
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]},
        },
    ),
    ("configmaps", {"kind": "ConfigMap", "metadata": meta("cm"), "data": {"a": "1"}}),
    ("nodes", {"kind": "Node", "metadata": {"name": "n1", "creationTimestamp": CREATED}}),
    ("namespaces", {"kind": "Namespace", "metadata": {"name": "ns"}}),  # no timestamp
    ("widgets.example.com", {"kind": "Widget", "metadata": meta("w")}),  # default printer
]


@pytest.mark.parametrize("include", ["None", "Metadata", "Object"])
@pytest.mark.parametrize(("resource", "obj"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_cached_table_is_byte_identical_to_a_fresh_one(
    resource: str, obj: dict[str, Any], include: str
) -> None:
    kind = info(resource) if resource != "widgets.example.com" else widget_info()
    entries = [entry(resource, obj, 5)]
    cache = RowCache()
    want = orjson.dumps(
        table_for(kind, [e.object() for e in entries], include_object=include, now=NOW)
    )
    for now in (NOW, NOW):  # a miss, then a hit
        got = cache.table(kind, entries, include_object=include, now=now)
        assert got == want
    assert cache.get(entries[0].key) is not None


def widget_info() -> ResourceInfo:
    return ResourceInfo(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        singular="widget",
        namespaced=True,
    )


def test_many_rows_and_table_metadata() -> None:
    entries = [entry("pods", crashing_pod(f"p{i}", restarts=i), i + 1) for i in range(20)]
    cache = RowCache()
    kwargs: dict[str, Any] = {"now": NOW, "resource_version": "99", "continue_token": "c"}
    want = expected("pods", entries, **kwargs)
    assert cache.table(info("pods"), entries, **kwargs) == want
    assert cache.table(info("pods"), entries, **kwargs) == want
    no_columns = cache.table(info("pods"), entries[:1], with_column_definitions=False, now=NOW)
    assert orjson.loads(no_columns)["columnDefinitions"] == []
    assert cache.table(info("pods"), [], now=NOW) == expected("pods", [], now=NOW)


def test_rows_drop_managed_fields_but_full_objects_are_the_stored_bytes() -> None:
    e = entry("pods", crashing_pod("p"))
    cache = RowCache()
    row = orjson.loads(cache.table(info("pods"), [e], now=NOW))["rows"][0]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert "managedFields" not in row["object"]["metadata"]
    assert row["object"]["metadata"]["labels"] == {"app": "web"}
    assert row["object"]["metadata"]["resourceVersion"] == "1"
    full = cache.table(info("pods"), [e], include_object="Object", now=NOW)
    assert b',"object":' + e.value + b"}" in full
    # table_for (watch-less callers) drops them from row metadata too
    fresh = table_for(info("pods"), [e.object()], now=NOW)["rows"][0]["object"]
    assert fresh == row["object"]
    with pytest.raises(ValueError):
        cache.table(info("pods"), [e], include_object="Everything")


# --- hits, misses and time ------------------------------------------------------------------


def counting(monkeypatch: pytest.MonkeyPatch, resource: str = "pods") -> list[str]:
    """Count row computations of ``resource``'s printer."""
    calls: list[str] = []
    original = tables.printer_for(resource)
    assert original.cells is not None
    cells_fn = original.cells

    def cells(obj: Any) -> list[Any]:
        calls.append(obj["metadata"]["name"])
        return cells_fn(obj)

    monkeypatch.setitem(
        tables._PRINTERS,
        resource,
        tables.template_printer(original.columns, cells, original.conditions),
    )
    return calls


def test_hit_reuses_the_row_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    entries = [entry("pods", plain_pod(f"p{i}"), i + 1) for i in range(5)]
    cache = RowCache()
    first = cache.table(info("pods"), entries, now=NOW)
    assert sorted(calls) == [f"p{i}" for i in range(5)]
    calls.clear()

    def no_decoding(_: bytes) -> Any:
        raise AssertionError("a cached row was decoded again")

    monkeypatch.setattr("kctl.api.table_rows.orjson.loads", no_decoding)
    assert cache.table(info("pods"), entries, now=NOW) == first
    assert calls == []


def test_changed_revision_recomputes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    cache = RowCache()
    old = entry("pods", plain_pod("p", phase="Pending"), 3)
    cells = orjson.loads(cache.table(info("pods"), [old], now=NOW))["rows"][0]["cells"]
    assert cells[2] == "Pending"
    new = entry("pods", plain_pod("p", phase="Running"), 4)
    cells = orjson.loads(cache.table(info("pods"), [new], now=NOW))["rows"][0]["cells"]
    assert cells[2] == "Running"
    assert calls == ["p", "p"]
    row = cache.get(new.key)
    assert row is not None and row.revision == 4
    assert len(cache) == 1
    # a late watch event of the old revision is served but does not evict the newer row
    cache.table(info("pods"), [old], now=NOW)
    row = cache.get(new.key)
    assert row is not None and row.revision == 4


def test_time_cells_render_with_the_requests_now() -> None:
    cache = RowCache()
    pod_entry = entry("pods", crashing_pod("p"))
    ev_entry = entry("events", event("e"))

    def cells(resource: str, e: Entry, now: datetime) -> list[Any]:
        table = orjson.loads(cache.table(info(resource), [e], now=now))
        cells: list[Any] = table["rows"][0]["cells"]
        assert table == orjson.loads(expected(resource, [e], now=now))
        return cells

    assert cells("pods", pod_entry, NOW)[3:5] == ["3 (5m ago)", "60m"]
    later = NOW + timedelta(hours=2, minutes=5)
    assert cells("pods", pod_entry, later)[3:5] == ["3 (130m ago)", "3h5m"]
    assert cells("events", ev_entry, NOW)[0] == "2m"
    assert cells("events", ev_entry, later)[0] == "127m"
    assert cells("events", ev_entry, later)[7] == "3h5m"  # FIRST SEEN


@pytest.mark.parametrize(
    "timestamp",
    [
        None,
        "",
        "not a time",
        "2024-05-01T11:00:00Z",
        "2024-05-01T11:59:58.999999Z",  # MicroTime, near the 2 s skew tolerance
        "2024-05-01T12:00:01.5Z",  # slightly in the future: 0s
        "2024-05-01T12:00:05Z",  # in the future: <invalid>
        "2024-05-01T13:00:00+02:00",  # an offset
        "2023-01-01T00:00:00Z",
        "2010-03-04T05:06:07Z",
        "0001-01-01T00:00:00Z",
    ],
)
def test_since_renders_exactly_as_age(timestamp: str | None) -> None:
    for delta in (timedelta(0), timedelta(microseconds=1), timedelta(seconds=119.999999)):
        now = NOW + delta
        assert since(timestamp).render(epoch_us(now)) == age(timestamp, now)
        marker = since(timestamp, "2 (", " ago)")
        assert marker.render(epoch_us(now)) == f"2 ({age(timestamp, now)} ago)"


# --- deleted objects and memory ------------------------------------------------------------


def test_complete_lists_drop_rows_of_deleted_objects() -> None:
    cache = RowCache()
    a = [entry("pods", plain_pod(f"a{i}", "ns-a"), i + 1) for i in range(3)]
    b = [entry("pods", plain_pod(f"b{i}", "ns-b"), i + 10) for i in range(3)]
    cache.table(info("pods"), a + b, now=NOW, complete=True)
    assert len(cache) == 6
    # a namespace list without a1: only ns-a is pruned
    cache.table(info("pods"), [a[0], a[2]], now=NOW, complete=True, namespace="ns-a")
    assert len(cache) == 5 and cache.get(a[1].key) is None
    assert cache.get(b[1].key) is not None
    # a selector-filtered list (not complete) prunes nothing
    cache.table(info("pods"), [b[0]], now=NOW)
    assert len(cache) == 5
    # an all-namespaces list without b0 and ns-a
    cache.table(info("pods"), b[1:], now=NOW, complete=True)
    assert len(cache) == 2
    assert {r.key.name for r in cache.rows() if r.key is not None} == {"b1", "b2"}
    cache.table(info("pods"), [], now=NOW, complete=True)
    assert len(cache) == 0


def test_forget_and_unremembered_rows() -> None:
    cache = RowCache()
    e = entry("pods", plain_pod("p"), 7)
    cache.table(info("pods"), [e], now=NOW)
    cache.forget(e.key, before=7)  # not older than the deletion: kept
    assert len(cache) == 1
    gone = entry("pods", plain_pod("p"), 9)  # the deletion event's entry
    cache.forget(gone.key, before=9)
    assert len(cache) == 0 and cache.get(e.key) is None
    cache.table(info("pods"), [gone], now=NOW, remember=False)
    assert len(cache) == 0


def test_sweep_bounds_the_cache_against_the_store() -> None:
    live: list[Entry] = []
    store = Lookup(live)
    cache = RowCache(store.get, min_sweep=10)
    for i in range(200):  # objects come and go, seen only through single gets
        e = entry("pods", plain_pod(f"p{i}"), i + 1)
        store.current = {e.key: e}
        cache.table(info("pods"), [e], now=NOW)
        assert len(cache) <= 11
    assert {r.key for r in cache.rows()} >= {e.key}


def test_cached_rows_hold_only_bytes_and_time_markers() -> None:
    entries = [entry("pods", crashing_pod(f"p{i}"), i + 1) for i in range(50)]
    cache = RowCache()
    cache.table(info("pods"), entries, now=NOW)
    cache.table(info("pods"), entries, include_object="Object", now=NOW)
    for row in cache.rows():
        assert isinstance(row, CachedRow)
        assert isinstance(row.meta, bytes) and b"managedFields" not in row.meta
        for part in row.cells:
            assert isinstance(part, bytes | Since)
        for ref in gc.get_referents(row):
            assert not isinstance(ref, dict | list), ref
        # encoded cells and metadata only: no spec or status, smaller than the object
        assert b'"spec"' not in row.meta and b'"status"' not in row.meta
        assert row.size() < len(entries[0].value)
    assert len(cache) == 50


def test_printers_without_templates_are_computed_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[datetime] = []

    def row(obj: Any, now: datetime) -> list[Any]:
        seen.append(now)
        return [obj["metadata"]["name"], age(obj["metadata"]["creationTimestamp"], now)]

    plain = Printer((tables.NAME, Column("Age")), row)
    monkeypatch.setitem(tables._PRINTERS, "widgets.example.com", plain)
    e = entry("widgets.example.com", {"kind": "Widget", "metadata": meta("w")})
    cache = RowCache()
    for now in (NOW, NOW + timedelta(hours=1)):
        got = cache.table(widget_info(), [e], now=now)
        assert got == orjson.dumps(table_for(widget_info(), [e.object()], now=now))
    assert seen == [NOW, NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=1)]
    assert len(cache) == 0


def test_replaced_printer_invalidates_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = RowCache()
    e = entry("configmaps", {"kind": "ConfigMap", "metadata": meta("c"), "data": {"k": "v"}})
    cache.table(info("configmaps"), [e], now=NOW)
    other = tables.template_printer((tables.NAME,), lambda obj: ["x"])
    monkeypatch.setitem(tables._PRINTERS, "configmaps", other)
    table = orjson.loads(cache.table(info("configmaps"), [e], now=NOW))
    assert table["rows"][0]["cells"] == ["x"]
    assert len(cache) == 1


def test_one_cache_per_store_gone_with_it() -> None:
    class Store:
        def get(self, key: Key) -> Entry | None:
            return None

    one, two = Store(), Store()
    assert row_cache(one) is row_cache(one)
    assert row_cache(one) is not row_cache(two)
    cache = row_cache(one)
    ref = weakref.ref(cache)
    del cache, one
    gc.collect()
    assert ref() is None
