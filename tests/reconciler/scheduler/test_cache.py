from __future__ import annotations

from reconciler.scheduler.podinfo import parse_pod
from tests.reconciler.scheduler.helpers import cluster, node, pod


def _requested(cache, name: str) -> tuple[int, int]:
    slot = cache.nodes.slot_of[name]
    return int(cache.nodes.req_cpu[slot]), int(cache.nodes.req_pods[slot])


def test_assume_confirm_forget() -> None:
    cache = cluster([node("a"), node("b")])
    p = parse_pod(pod("p", cpu="1"))
    cache.assume(p, "a")
    assert _requested(cache, "a") == (1000, 1) and cache.is_assumed(p.key)
    # The informer shows it bound where we assumed: confirmed, counted once.
    cache.add_pod(parse_pod(pod("p", cpu="1", node_name="a")))
    assert _requested(cache, "a") == (1000, 1) and not cache.is_assumed(p.key)
    cache.forget(p.key)  # a late failure report must not undo a confirmed pod
    assert _requested(cache, "a") == (1000, 1)


def test_forget_releases_the_node() -> None:
    cache = cluster([node("a")])
    p = parse_pod(pod("p", cpu="1"))
    cache.assume(p, "a")
    cache.forget(p.key)
    assert _requested(cache, "a") == (0, 0) and len(cache) == 0


def test_bound_elsewhere_moves_the_pod() -> None:
    cache = cluster([node("a"), node("b")])
    cache.assume(parse_pod(pod("p", cpu="1")), "a")
    cache.add_pod(parse_pod(pod("p", cpu="1", node_name="b")))
    assert _requested(cache, "a") == (0, 0) and _requested(cache, "b") == (1000, 1)


def test_remove_pod_and_node_recreation() -> None:
    cache = cluster([node("a")], [pod("x", cpu="1", node_name="a")])
    cache.remove_node("a")
    cache.set_node(node("a"))  # its pods count again
    assert _requested(cache, "a") == (1000, 1)
    assert cache.remove_pod("default/x")
    assert _requested(cache, "a") == (0, 0)
    assert not cache.remove_pod("default/x")


def test_node_heartbeat_is_not_a_change() -> None:
    cache = cluster([node("a")])
    beat = node("a")
    beat["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastHeartbeatTime": "now"}]
    assert not cache.set_node(beat)
    assert cache.set_node(node("a", cpu="8"))


def test_matching_uses_the_label_index() -> None:
    from kctl.api.selectors import from_label_selector

    cache = cluster(
        [node("a")],
        [
            pod("w1", labels={"app": "web", "v": "1"}, node_name="a"),
            pod("w2", labels={"app": "web"}, node_name="a"),
            pod("o", ns="other", labels={"app": "web"}, node_name="a"),
        ],
    )
    sel = from_label_selector({"matchLabels": {"app": "web"}})
    assert sorted(p.name for p, _ in cache.matching(sel, frozenset({"default"}))) == ["w1", "w2"]
    assert len(list(cache.matching(sel, None))) == 3
    sel2 = from_label_selector(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "v", "operator": "Exists"}]}
    )
    assert [p.name for p, _ in cache.matching(sel2, frozenset({"default"}))] == ["w1"]


def test_confirmation_holds_the_newest_pod_object() -> None:
    # The assumed PodInfo carries the unbound pod; once the informer shows the pod bound
    # (and later Running) the cache must not keep the older objects alive.
    cache = cluster([node("a")])
    cache.assume(parse_pod(pod("p", cpu="1")), "a")
    bound = parse_pod(pod("p", cpu="1", node_name="a"))
    cache.add_pod(bound)
    running = pod("p", cpu="1", node_name="a")
    running["status"] = {"phase": "Running"}
    latest = parse_pod(running)
    cache.add_pod(latest)
    assert cache.pods["default/p"][0] is latest
    assert cache.by_node["a"]["default/p"] is latest
    assert _requested(cache, "a") == (1000, 1)
