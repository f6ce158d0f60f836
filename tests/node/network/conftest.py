"""Fixtures for pod-network tests: private test ranges, own chains, the machine restored.

Tests that touch the kernel need root (CI runs as root); they use 10.250.0.0/16 for
pod CIDRs and 10.251.0.0/16 as the service CIDR, a machine registry under tmp_path,
and guard/no-masquerade chains named after the test process, so a kctl cluster running
on the same machine is never touched. Whatever a test does, the fixtures put the
machine back: sysctls, bridges, chains, netns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.network import guard, nomasq, sysctls
from node.network.cleanup import cleanup_node
from node.network.config import NetworkSettings
from node.network.manager import NodeNetwork
from tests.node.network import nets

SERVICE_CIDR = "10.251.0.0/16"
CLUSTER_DNS = ("10.251.0.10",)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, bridges, iptables)")


@pytest.fixture
def machine_sysctls_restored() -> Iterator[None]:
    before = {name: sysctls.read(name) for name in sysctls.MACHINE_SYSCTLS}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is not None and sysctls.read(name) != value:
                sysctls.write(name, value)


@pytest.fixture
def chains() -> Iterator[tuple[str, str]]:
    guard_chain, nomasq_chain = f"KCTL-TEST-G{os.getpid()}", f"KCTL-TEST-N{os.getpid()}"
    try:
        yield guard_chain, nomasq_chain
    finally:
        guard.remove(guard_chain)
        nomasq.remove(nomasq_chain)


@pytest.fixture
def make_network(
    tmp_path: Path, chains: tuple[str, str], machine_sysctls_restored: None
) -> Iterator[Callable[[str, str], NodeNetwork]]:
    """``make_network(node_name, pod_cidr)``: a NodeNetwork of this test, cleaned up after."""
    made: list[NodeNetwork] = []
    guard_chain, nomasq_chain = chains

    def make(node_name: str, pod_cidr: str) -> NodeNetwork:
        settings = NetworkSettings(
            node_name=node_name,
            data_dir=tmp_path / node_name,
            pod_cidr=pod_cidr,
            service_cidr=SERVICE_CIDR,
            cluster_dns=CLUSTER_DNS,
            machine_dir=tmp_path / "machine",
            guard_chain=guard_chain,
            nomasq_chain=nomasq_chain,
        )
        network = NodeNetwork(settings)
        made.append(network)
        return network

    try:
        yield make
    finally:
        for network in made:
            s = network.settings
            try:
                cleanup_node(s.node_name, s.data_dir, s.machine_dir, s.data_dir / "cni-cache")
            finally:
                nets.sh("ip", "link", "del", s.bridge, check=False)
