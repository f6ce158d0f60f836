"""The object cache: indexes stay right, and a big list is fast."""

from __future__ import annotations

import time

from kctl.store import Entry, Event, Key
from kctl.store.cache import ObjectCache


def _entry(ns: str, name: str, revision: int) -> Entry:
    return Entry(Key("pods", ns, name), revision, b"{}")


def test_indexes_follow_changes() -> None:
    cache = ObjectCache()
    a1 = _entry("a", "x", 1)
    assert cache.apply(Event("ADDED", a1)) is None
    cache.put(_entry("b", "y", 2))
    assert [e.key.name for e in cache.list("pods")] == ["x", "y"]
    a3 = _entry("a", "x", 3)
    assert cache.apply(Event("MODIFIED", a3)) is a1
    assert cache.list("pods", "a") == [a3]
    assert cache.apply(Event("DELETED", _entry("a", "x", 4))) is a3
    assert cache.list("pods", "a") == [] and cache.get(a1.key) is None
    assert [e.key.name for e in cache.list("pods")] == ["y"]
    assert cache.list("nodes") == [] and len(cache) == 1


def test_list_of_10000_pods_is_fast() -> None:
    cache = ObjectCache()
    for i in range(10_000):
        cache.put(_entry(f"ns{i % 10}", f"pod-{i:05d}", i + 1))
    start = time.perf_counter()
    entries = cache.list("pods")  # cold: sorts
    cold = time.perf_counter() - start
    start = time.perf_counter()
    again = cache.list("pods")  # warm: a copy of the sorted list
    warm = time.perf_counter() - start
    assert len(entries) == 10_000 and entries == again and entries is not again
    assert entries[0].key == Key("pods", "ns0", "pod-00000")
    assert cold < 0.1 and warm < 0.01, (cold, warm)
