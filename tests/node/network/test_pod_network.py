"""Real pod networking: two nodes' bridges on this machine, CNI plugins, a netns per pod.

Needs root, /usr/lib/cni (containernetworking-plugins) and iptables; uses 10.250.0.0/16
only, and talks only to addresses inside the namespaces it creates.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

from node.network import bridge, cni, guard, invoke, iptables, sysctls
from node.network.cleanup import cleanup_node
from node.network.manager import NodeNetwork
from tests.node.network import nets
from tests.node.network.conftest import SERVICE_CIDR, needs_root

pytestmark = needs_root

MakeNetwork = Callable[[str, str], NodeNetwork]


def node_obj(name: str, cidr: str, ip: str = "127.0.0.1") -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
    }


def invoker_for(network: NodeNetwork) -> invoke.CniInvoker:
    s = network.settings
    return invoke.CniInvoker((s.cni_bin_dir,), s.data_dir / "cni-cache")


def add_pod(network: NodeNetwork, ns: str) -> tuple[invoke.CniRuntime, str]:
    rt = invoke.CniRuntime(container_id=ns, netns=nets.netns_path(ns), args={"K8S_POD_NAME": ns})
    result = invoker_for(network).add(cni.load_conflist(network.settings.conflist_path), rt)
    ip = invoke.pod_ip(result)
    assert ip is not None, result
    return rt, ip


def del_pod(network: NodeNetwork, rt: invoke.CniRuntime) -> None:
    invoker_for(network).delete(cni.load_conflist(network.settings.conflist_path), rt)


PEER_SERVER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 18080)); s.listen(1); s.settimeout(10)
print("listening", flush=True)
c, peer = s.accept(); print(peer[0], flush=True); c.close()
"""


UNREACHABLE_PROBE = """
import errno, socket, time
t = time.monotonic()
try:
    socket.create_connection(("{ip}", 18080), timeout=3)
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, "timeout") if time.monotonic() - t < 1.5 else "slow")
"""


def test_two_nodes_pods_reach_each_other_without_nat_and_nothing_is_left(
    make_network: MakeNetwork, tmp_path: Path
) -> None:
    links_before, netns_before = nets.links(), nets.netns_names()
    a = make_network("test-a", "10.250.1.0/24")
    b = make_network("test-b", "10.250.2.0/24")
    assert a.status().ready is False and a.status().reason == "NetworkPluginNotReady"
    a.setup()
    b.setup()
    assert a.status().ready, a.status()
    assert b.status().ready, b.status()
    assert sysctls.read("net.ipv4.ip_forward") == "1"
    assert sysctls.read(f"net.ipv4.conf.{a.settings.bridge}.route_localnet") == "1"
    assert guard.installed_cidrs(a.settings.guard_chain) == [SERVICE_CIDR]

    # a third node of the machine whose network is not up: no route off the machine
    nodes = [
        node_obj("test-a", "10.250.1.0/24"),
        node_obj("test-b", "10.250.2.0/24"),
        node_obj("test-c", "10.250.3.0/24"),
    ]
    assert [r.dst for r in a.sync_routes(nodes)] == ["10.250.3.0/24"]
    assert (
        "unreachable 10.250.3.0/24 proto 107 metric 1000"
        in nets.sh("ip", "route", "show", "10.250.3.0/24").stdout
    )

    with nets.netns("pa") as ns_a, nets.netns("pb") as ns_b:
        rt_a, ip_a = add_pod(a, ns_a)
        rt_b, ip_b = add_pod(b, ns_b)
        assert ipaddress.ip_address(ip_a) in a.settings.pod_network
        assert ipaddress.ip_address(ip_b) in b.settings.pod_network
        assert len(bridge.bridge_state(a.settings.bridge).ports) == 1
        assert list((a.settings.ipam_dir / a.settings.network_name).glob("10.250.1.*")), (
            "IPAM record"
        )

        assert nets.ping(ns_a, a.settings.gateway)
        assert nets.ping(ns_b, b.settings.gateway)
        assert nets.ping(ns_a, ip_b), "pod on node a -> pod on node b"
        assert nets.ping(ns_b, ip_a), "pod on node b -> pod on node a"
        # lo is up (loopback plugin)
        assert "UP" in nets.in_netns(ns_a, "ip", "link", "show", "lo").stdout

        # b sees a's own address: pod-to-pod across nodes is not masqueraded
        server = nets.subprocess_in(ns_b, PEER_SERVER)
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "listening"
            nets.python_in(
                ns_a,
                f"import socket; socket.create_connection(({ip_b!r}, 18080), timeout=5).close()",
            )
            assert server.stdout.readline().strip() == ip_a
        finally:
            server.kill()
            server.wait()

        # the not-yet-up node's CIDR fails at once instead of leaving the machine
        probe = nets.python_in(ns_a, UNREACHABLE_PROBE.format(ip="10.250.3.9"))
        assert probe.stdout.split() == ["EHOSTUNREACH"], probe.stdout

        del_pod(a, rt_a)
        del_pod(b, rt_b)
        assert bridge.bridge_state(a.settings.bridge).ports == ()
        assert not list((a.settings.ipam_dir / a.settings.network_name).glob("10.250.1.*"))

    # cleanup: a first (b still there: shared pieces stay), then b (the last node)
    report = cleanup_node(
        "test-a", a.settings.data_dir, a.settings.machine_dir, a.settings.data_dir / "cni-cache"
    )
    assert report.last_node is False
    assert not bridge.bridge_state(a.settings.bridge).exists
    assert "10.250.3.0/24" not in nets.sh("ip", "route", "show").stdout
    assert guard.installed_cidrs(a.settings.guard_chain) == [SERVICE_CIDR]
    assert not a.settings.ipam_dir.exists() and not a.settings.conflist_path.exists()

    report = cleanup_node(
        "test-b", b.settings.data_dir, b.settings.machine_dir, b.settings.data_dir / "cni-cache"
    )
    assert report.last_node is True
    assert guard.installed_cidrs(b.settings.guard_chain) is None
    assert not iptables.chain_exists("security", b.settings.guard_chain)
    assert not iptables.chain_exists("nat", b.settings.nomasq_chain)
    assert nets.links() - links_before == set()  # (others may run beside this test)
    assert nets.netns_names() - netns_before == set()
    assert not list((tmp_path / "machine" / "nodes").glob("*.json"))
    for network in (a, b):
        assert network.settings.network_name not in "".join(
            iptables.chain_rules("nat", "POSTROUTING")
        )


def test_cleanup_removes_what_a_crashed_pod_left(make_network: MakeNetwork) -> None:
    """Pods never DELeted: cleanup still removes the veth, the ipMasq chain and IPAM records."""
    a = make_network("test-crash", "10.250.4.0/24")
    a.setup()
    with nets.netns("crash") as ns:
        add_pod(a, ns)
        marker = f'name: \\"{a.settings.network_name}\\" id: '
        assert any(marker in rule for rule in iptables.chain_rules("nat", "POSTROUTING"))
        report = cleanup_node(
            "test-crash",
            a.settings.data_dir,
            a.settings.machine_dir,
            a.settings.data_dir / "cni-cache",
        )
        assert any(r.startswith("veth ") for r in report.removed), report.removed
        assert any(r.startswith("nat chain CNI-") for r in report.removed), report.removed
        assert not any(marker in rule for rule in iptables.chain_rules("nat", "POSTROUTING"))
        assert not a.settings.ipam_dir.exists()
        assert "eth0" not in nets.in_netns(ns, "ip", "-o", "link").stdout
    assert report.last_node
