"""The service-CIDR guard, for real: in a network namespace of its own, then its sharing.

The functional test runs inside a fresh netns (iptables is per namespace), where the
service CIDR is routed to a veth pair inside it: without the guard a packet to a
ClusterIP is sent (and lost there), with the guard it is dropped before it leaves (the
sender gets EPERM), while DNATed traffic (what the proxy makes of a ClusterIP) passes.
Nothing in that namespace can reach any other network, even if the guard failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from node.network import guard, iptables
from node.network.cleanup import cleanup_node
from node.network.manager import NodeNetwork
from tests.node.network import nets
from tests.node.network.conftest import SERVICE_CIDR, needs_root

pytestmark = needs_root

SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for ip in sys.argv[1:]:
    try:
        s.sendto(b"x", (ip, 53)); print(ip, "sent")
    except PermissionError:
        print(ip, "dropped")
"""
GUARD = "from node.network import guard; guard.{call}"


def send(ns: str, *ips: str) -> dict[str, str]:
    out = nets.in_netns(ns, sys.executable, "-c", SEND, *ips).stdout
    return dict(line.split() for line in out.splitlines())


def test_guard_drops_untranslated_clusterip_traffic_and_passes_dnat() -> None:
    with nets.netns("guard") as ns:
        run = lambda *argv: nets.in_netns(ns, *argv)  # noqa: E731
        run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", "kctl-gd0", "type", "veth", "peer", "name", "kctl-gd1")
        run("ip", "addr", "add", "10.252.0.1/24", "dev", "kctl-gd0")
        run("ip", "link", "set", "kctl-gd0", "up")
        run("ip", "link", "set", "kctl-gd1", "up")
        run("ip", "route", "add", SERVICE_CIDR, "dev", "kctl-gd0")
        # what a proxy does for a ClusterIP with an endpoint
        run(
            "iptables",
            "-t",
            "nat",
            "-A",
            "OUTPUT",
            "-d",
            "10.251.0.7",
            "-p",
            "udp",
            "-j",
            "DNAT",
            "--to-destination",
            "10.252.0.9",
        )

        assert send(ns, "10.251.0.5", "10.251.0.7") == {"10.251.0.5": "sent", "10.251.0.7": "sent"}
        nets.python_in(ns, GUARD.format(call=f"install('KCTL-SERVICE-GUARD', [{SERVICE_CIDR!r}])"))
        nets.python_in(
            ns, GUARD.format(call=f"install('KCTL-SERVICE-GUARD', [{SERVICE_CIDR!r}])")
        )  # idempotent
        rules = run("iptables", "-t", "security", "-S").stdout
        assert rules.count("-j KCTL-SERVICE-GUARD") == 2, (
            rules
        )  # one jump in OUTPUT, one in FORWARD
        assert rules.count("-j DROP") == 1, rules
        assert send(ns, "10.251.0.5", "10.251.0.7", "10.252.0.20") == {
            "10.251.0.5": "dropped",  # no endpoint: never leaves
            "10.251.0.7": "sent",  # DNATed to a pod address: passes
            "10.252.0.20": "sent",  # not a service address
        }
        nets.python_in(ns, GUARD.format(call="remove('KCTL-SERVICE-GUARD')"))
        assert "KCTL" not in run("iptables", "-t", "security", "-S").stdout
        assert send(ns, "10.251.0.5") == {"10.251.0.5": "sent"}


def test_guard_is_shared_and_goes_with_the_last_node(
    make_network: Callable[[str, str], NodeNetwork], chains: tuple[str, str]
) -> None:
    guard_chain, _ = chains
    a = make_network("test-ga", "10.250.5.0/24")
    b = make_network("test-gb", "10.250.6.0/24")
    a.setup()
    a.setup()  # an agent restart: nothing doubles
    b.setup()
    assert guard.installed_cidrs(guard_chain) == [SERVICE_CIDR]
    for hook in guard.HOOKS:
        rules = iptables.chain_rules("security", hook)
        assert sum(guard_chain in r for r in rules) == 1, rules
    assert cleanup_node("test-ga", a.settings.data_dir, a.settings.machine_dir).last_node is False
    assert guard.installed_cidrs(guard_chain) == [SERVICE_CIDR]
    assert b.status().ready
    assert cleanup_node("test-gb", b.settings.data_dir, b.settings.machine_dir).last_node is True
    assert guard.installed_cidrs(guard_chain) is None
    assert not iptables.chain_exists("security", guard_chain)
    # cleaning up again is harmless
    assert cleanup_node("test-gb", b.settings.data_dir, b.settings.machine_dir).removed == []
