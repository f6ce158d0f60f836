"""Pure tests: names, the conflist, pod DNS, rulesets, desired routes, the registry, sysctls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.network import cni, dns, guard, nomasq, routes, sysctls
from node.network.config import IFNAMSIZ, NetworkSettings, bridge_name, normalize_cidrs
from node.network.machine import MachineRegistry


def settings(tmp_path: Path, **kw: object) -> NetworkSettings:
    args: dict = {"node_name": "node-1", "data_dir": tmp_path / "n1", "pod_cidr": "10.244.1.0/24"}
    args.update(kw)
    return NetworkSettings(**args)


def test_bridge_name_fits_and_is_unique_per_node_on_the_machine(tmp_path: Path) -> None:
    names = {
        bridge_name("node-1", tmp_path / "a"),
        bridge_name("node-1", tmp_path / "b"),  # same name, other DATA_DIR: another node
        bridge_name("node-2", tmp_path / "a"),
        bridge_name("a-very-long-node-name-" * 5, tmp_path / "a"),
    }
    assert len(names) == 4
    assert all(n.startswith("kctl-") and len(n) <= IFNAMSIZ for n in names)
    assert bridge_name("node-1", tmp_path / "a") == bridge_name("node-1", tmp_path / "x/../a")


@pytest.mark.parametrize(
    "kw, error",
    [
        ({"pod_cidr": "fd00::/64"}, "only IPv4"),
        ({"pod_cidr": "10.0.0.0/31"}, "too small"),
        ({"service_cidr": "nonsense"}, "does not appear"),
        ({"cluster_dns": ("10.96.0.300",)}, "does not appear"),
    ],
)
def test_settings_reject_bad_input(tmp_path: Path, kw: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        settings(tmp_path, **kw)


def test_conflist_has_the_plugins_and_fields_kubernetes_expects(tmp_path: Path) -> None:
    s = settings(tmp_path, pod_cidr="10.244.7.0/24", cluster_dns=("10.96.0.10",))
    conf = cni.build_conflist(s)
    assert conf["cniVersion"] == "1.0.0"
    assert conf["name"].startswith("kctl-node-1-")  # + the (name, data dir) hash
    other_dir = settings(tmp_path / "elsewhere", pod_cidr="10.244.7.0/24")
    assert other_dir.network_name != s.network_name  # a namesake node never shares it
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap", "loopback"]
    br = conf["plugins"][0]
    assert (br["bridge"], br["isGateway"], br["ipMasq"], br["hairpinMode"]) == (
        s.bridge,
        True,
        True,
        True,
    )
    assert br["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.7.0/24", "gateway": "10.244.7.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": str(tmp_path / "n1" / "cni" / "networks"),
    }
    assert br["dns"]["nameservers"] == ["10.96.0.10"]
    assert br["dns"]["search"] == ["svc.cluster.local", "cluster.local"]
    assert conf["plugins"][1]["capabilities"] == {"portMappings": True}


def test_write_conflist_is_idempotent_and_atomic(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert cni.write_conflist(s) is True
    assert cni.write_conflist(s) is False
    assert cni.load_conflist(s.conflist_path) == cni.build_conflist(s)
    assert [p.name for p in s.conf_dir.iterdir()] == ["10-kctl.conflist"]


@pytest.mark.parametrize(
    "spec, want",
    [
        (
            {},
            dns.PodDNS(
                ["10.96.0.10"],
                ["web.svc.cluster.local", "svc.cluster.local", "cluster.local"],
                ["ndots:5"],
            ),
        ),
        (
            {
                "dnsPolicy": "None",
                "dnsConfig": {"nameservers": ["10.96.0.53"], "options": [{"name": "edns0"}]},
            },
            dns.PodDNS(["10.96.0.53"], [], ["edns0"]),
        ),
        (
            {
                "dnsPolicy": "ClusterFirst",
                "dnsConfig": {
                    "nameservers": ["10.96.0.10", "10.96.0.11"],
                    "searches": ["corp.example", "cluster.local"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}],
                },
            },
            dns.PodDNS(
                ["10.96.0.10", "10.96.0.11"],
                ["web.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"],
                ["ndots:2", "rotate"],
            ),
        ),
        # Default would be the host's resolv.conf in kubelet: never on kctl's machines.
        (
            {"dnsPolicy": "Default"},
            dns.PodDNS(
                ["10.96.0.10"],
                ["web.svc.cluster.local", "svc.cluster.local", "cluster.local"],
                ["ndots:5"],
            ),
        ),
        (
            {
                "dnsPolicy": "None",
                "dnsConfig": {"nameservers": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]},
            },
            dns.PodDNS(["10.0.0.1", "10.0.0.2", "10.0.0.3"], [], []),
        ),
    ],
)
def test_pod_dns(spec: dict, want: dns.PodDNS) -> None:
    pod = {"metadata": {"name": "p", "namespace": "web"}, "spec": spec}
    assert dns.pod_dns(pod, ["10.96.0.10"], "cluster.local") == want


def test_guard_ruleset_drops_each_service_cidr_once() -> None:
    text = guard.ruleset("KCTL-SERVICE-GUARD", ["10.96.0.1/12", "10.96.0.0/12", "10.100.0.0/16"])
    assert text.splitlines() == [
        "*security",
        ":KCTL-SERVICE-GUARD - [0:0]",
        f'-A KCTL-SERVICE-GUARD -d 10.100.0.0/16 -m comment --comment "{guard.DROP_COMMENT}" -j DROP',
        f'-A KCTL-SERVICE-GUARD -d 10.96.0.0/12 -m comment --comment "{guard.DROP_COMMENT}" -j DROP',
        "COMMIT",
    ]


def test_nomasq_ruleset_exempts_pairs_but_not_marked_traffic() -> None:
    lines = nomasq.ruleset(
        "KCTL-POD-NOMASQ", ["10.244.2.0/24", "10.244.1.0/24"], 0x4000
    ).splitlines()
    assert lines[2] == "-A KCTL-POD-NOMASQ -m mark --mark 0x4000/0x4000 -j RETURN"
    assert lines[3:-1] == [
        "-A KCTL-POD-NOMASQ -s 10.244.1.0/24 -d 10.244.2.0/24 -j ACCEPT",
        "-A KCTL-POD-NOMASQ -s 10.244.2.0/24 -d 10.244.1.0/24 -j ACCEPT",
    ]


def node(name: str, cidr: str | None, ip: str | None) -> dict:
    obj: dict = {"metadata": {"name": name}, "spec": {}, "status": {}}
    if cidr:
        obj["spec"] = {"podCIDR": cidr, "podCIDRs": [cidr]}
    if ip:
        obj["status"]["addresses"] = [
            {"type": "InternalIP", "address": ip},
            {"type": "Hostname", "address": name},
        ]
    return obj


@pytest.mark.parametrize(
    "nodes, connected, want",
    [
        # the other local node's bridge is up: its connected route is the route
        (
            [node("a", "10.244.1.0/24", "127.0.0.1"), node("b", "10.244.2.0/24", "127.0.0.1")],
            {"10.244.1.0/24", "10.244.2.0/24"},
            [],
        ),
        # local node whose network is not up yet: fail fast, never the default route
        (
            [node("b", "10.244.2.0/24", "127.0.0.1")],
            set(),
            [routes.RouteSpec("10.244.2.0/24", "unreachable")],
        ),
        (
            [node("b", "10.244.2.0/24", "192.0.2.2")],
            set(),
            [routes.RouteSpec("10.244.2.0/24", "unreachable")],
        ),
        (
            [node("b", "10.244.2.0/24", None)],
            set(),
            [routes.RouteSpec("10.244.2.0/24", "unreachable")],
        ),
        # another machine: host-gateway route via its InternalIP
        (
            [node("c", "10.244.3.0/24", "192.0.2.9")],
            set(),
            [routes.RouteSpec("10.244.3.0/24", "via", "192.0.2.9")],
        ),
        # own node, nodes without a podCIDR, IPv6 CIDRs: nothing
        ([node("a", "10.244.1.0/24", "192.0.2.9"), node("d", None, "192.0.2.10")], set(), []),
        ([node("e", "fd00:1::/64", "192.0.2.11")], set(), []),
    ],
)
def test_desired_routes(nodes: list, connected: set, want: list) -> None:
    assert routes.desired_routes("a", nodes, connected, {"127.0.0.1", "192.0.2.2"}) == want


def test_registry_counts_nodes(tmp_path: Path) -> None:
    reg = MachineRegistry(tmp_path / "m")
    with reg.locked():
        assert reg.register("kctl-aaaa", {"serviceCIDR": "10.96.0.0/12"}) is True
        assert reg.register("kctl-aaaa", {"serviceCIDR": "10.96.0.0/12"}) is False
        assert reg.register("kctl-bbbb", {"serviceCIDR": "10.100.0.0/16"}) is True
        assert guard.machine_cidrs(reg) == ["10.100.0.0/16", "10.96.0.0/12"]
        (reg.nodes_dir / "kctl-junk.json").write_text("{half")  # a crashed writer
        assert sorted(reg.records()) == ["kctl-aaaa", "kctl-bbbb"]
        assert reg.unregister("kctl-aaaa") is True
        assert reg.unregister("kctl-aaaa") is False
    with pytest.raises(ValueError):
        reg.register("../x", {})


def test_normalize_cidrs() -> None:
    assert normalize_cidrs(["10.0.0.7/8", "", "10.0.0.0/8", "192.168.1.0/24"]) == [
        "10.0.0.0/8",
        "192.168.1.0/24",
    ]


def test_sysctls_record_first_value_and_restore_only_what_is_still_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = tmp_path / "proc"
    monkeypatch.setattr(sysctls, "PROC_SYS", proc)
    for name, value in {"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.rp_filter": "2"}.items():
        sysctls.path_of(name).parent.mkdir(parents=True, exist_ok=True)
        sysctls.path_of(name).write_text(value + "\n")
    record = tmp_path / "rec.json"
    want = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0"}
    assert sorted(sysctls.apply(want, record)) == sorted(want)
    assert sysctls.apply(want, record) == []  # second node: nothing changes, record kept
    assert json.loads(record.read_text())["net.ipv4.ip_forward"] == {"previous": "0", "set": "1"}
    sysctls.write("net.ipv4.conf.all.rp_filter", "1")  # someone else changed it since
    assert sysctls.restore(record) == ["net.ipv4.ip_forward"]
    assert sysctls.read("net.ipv4.ip_forward") == "0"
    assert sysctls.read("net.ipv4.conf.all.rp_filter") == "1"
    assert not record.exists()
    with pytest.raises(sysctls.SysctlError, match="no such sysctl"):
        sysctls.apply({"net.nope": "1"})
