"""Chain names: kube-proxy's hashing under the KCTL- prefix, within iptables' limit."""

from __future__ import annotations

import pytest

from node.proxy import chains
from node.proxy.model import Endpoint, ServicePort

SP = ServicePort("ns1", "svc1", "p80", "TCP", "172.30.0.41", 80)


def test_same_hashes_as_kube_proxy() -> None:
    # kube-proxy's iptables proxier tests name these chains KUBE-SVC-XPGD46QRK7WJZT7O
    # and KUBE-SEP-SXIVWICOYRO3J4NJ.
    assert chains.service_chain(SP) == "KCTL-SVC-XPGD46QRK7WJZT7O"
    assert chains.endpoint_chain(SP, Endpoint("10.180.0.1", 80)) == "KCTL-SEP-SXIVWICOYRO3J4NJ"


def test_names_differ_by_protocol_and_endpoint_and_fit() -> None:
    udp = ServicePort("ns1", "svc1", "p80", "UDP", "172.30.0.41", 80)
    names = {
        chains.service_chain(SP),
        chains.service_chain(udp),
        chains.external_chain(SP),
        chains.endpoint_chain(SP, Endpoint("10.0.0.1", 80)),
        chains.endpoint_chain(SP, Endpoint("10.0.0.1", 81)),
    }
    assert len(names) == 5
    assert all(len(n) <= chains.MAX_CHAIN_NAME for n in names | chains.FIXED)


@pytest.mark.parametrize(
    ("name", "owned"),
    [
        ("KCTL-SERVICES", True),
        ("KCTL-PROXY-CANARY", True),
        ("KCTL-SVC-XPGD46QRK7WJZT7O", True),
        ("KCTL-SEP-SXIVWICOYRO3J4NJ", True),
        ("KCTL-SERVICE-GUARD", False),  # the node network's
        ("KCTL-POD-NOMASQ", False),
        ("KCTL-SVC-SHORT", False),
        ("KUBE-SERVICES", False),
    ],
)
def test_is_owned(name: str, owned: bool) -> None:
    assert chains.is_owned(name) is owned
