"""The proxy's two backends driven against the lab (:mod:`netlab`), behind one interface.

The kernel tests that both modes must pass are written once against :class:`LabBackend`;
this module holds what differs: how a syncer of the mode is built, what someone else's
damage to its rules looks like, how its objects in the kernel are listed and planted,
its addresses (apart from the other mode's, all in 10.96.0.0/12), and its check that
the kernel is left as found.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from node.proxy import chains, nft, nftables
from node.proxy import iptables as ipt
from node.proxy.cleanup import cleanup_proxy
from node.proxy.model import ModelCache, ServicePort
from node.proxy.ruleset import RulesConfig
from node.proxy.sync import NftablesBackend, ProxySyncer, SyncSettings
from tests.node.proxy import kernel, netlab
from tests.node.proxy.fixtures import endpoints, service

PORT = {"name": "http", "port": 80, "targetPort": netlab.PORT}
EP_PORT = [{"name": "http", "port": netlab.PORT}]
SETTINGS = SyncSettings(min_sync_interval=0.05, canary_interval=0.2)
PROXY_TABLE = f"table {nftables.QUALIFIED}"
RECENT = Path("/proc/net/xt_recent")  # iptables' ClientIP affinity lists, one per endpoint


class Cluster:
    """Services and Endpoints by key, as the informer caches would hold them."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.cache = ModelCache()
        self._rv = 0

    def rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def set(self, name: str, ips: list[str], cip: str, **kw: Any) -> None:
        self.services[f"default/{name}"] = service(
            name, cip, [{**PORT, **kw.pop("port", {})}], rv=self.rv(), **kw
        )
        self.endpoints[f"default/{name}"] = endpoints(name, [(ips, [], EP_PORT)], rv=self.rv())

    def source(self) -> list[ServicePort]:
        return self.cache.build(self.services.items(), self.endpoints.get)


async def fetch_many(ip: str, port: int, n: int) -> Counter[str]:
    return Counter([await asyncio.to_thread(netlab.fetch, ip, port) for _ in range(n)])


def nft_tables() -> set[str]:
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True)
    return set(out.stdout.splitlines())


class LabBackend(abc.ABC):
    name: str  # the proxy mode
    net: str  # the first three octets of the mode's ClusterIPs
    node_port: int  # the first of the mode's NodePorts; tests count down from it

    def ip(self, host: int) -> str:
        return f"{self.net}.{host}"

    @abc.abstractmethod
    def syncer(self, cluster: Cluster) -> ProxySyncer: ...

    @abc.abstractmethod
    async def damage(self) -> None:
        """What someone else does to the mode's rules, which the canary must notice."""

    @abc.abstractmethod
    async def objects(self) -> frozenset[str]:
        """The mode's objects in the kernel: ``"chain NAME"``, ``"affinity NAME"`` (the
        ClientIP state of one endpoint) and, for nftables, ``"set NAME"``."""

    @abc.abstractmethod
    async def plant_leftovers(self) -> None:
        """One stale chain (nftables: and an affinity set), as a crashed agent leaves them."""

    @abc.abstractmethod
    def as_found(self) -> contextlib.AbstractContextManager[None]:
        """Around a run of tests: afterwards nothing of the mode is left, and nothing
        else of its kind is gone."""


class IptablesLab(LabBackend):
    name = "iptables"
    net = "10.111.222"
    node_port = 30999

    def syncer(self, cluster: Cluster) -> ProxySyncer:
        return ProxySyncer(cluster.source, RulesConfig(cluster_cidr=netlab.CIDR), SETTINGS)

    async def damage(self) -> None:
        for chain in ("KCTL-SERVICES", "KCTL-PROXY-CANARY"):  # someone flushes nat
            await ipt.iptables("nat", "-F", chain)

    async def objects(self) -> frozenset[str]:
        found = {f"chain {c}" for c in await ipt.owned_chains("nat")}
        if RECENT.is_dir():
            found |= {f"affinity {p.name}" for p in RECENT.iterdir() if chains.is_owned(p.name)}
        return frozenset(found)

    async def plant_leftovers(self) -> None:
        await ipt.restore("*nat\n:KCTL-SEP-AAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n")

    @contextlib.contextmanager
    def as_found(self) -> Iterator[None]:
        before = kernel.save()
        yield
        cleanup_proxy()
        after = kernel.save()
        assert kernel.proxy_traces(after) == []
        assert kernel.lost_rules(before, after) == set()


class NftablesLab(LabBackend):
    name = "nftables"
    net = "10.111.223"
    node_port = 30989

    def syncer(self, cluster: Cluster) -> ProxySyncer:
        config = RulesConfig(cluster_cidr=netlab.CIDR)
        return ProxySyncer(cluster.source, config, SETTINGS, backend=NftablesBackend(config))

    async def damage(self) -> None:
        assert await asyncio.to_thread(nft.delete_table)  # someone deletes the table

    async def objects(self) -> frozenset[str]:
        found = await nft.existing()
        return frozenset(
            {f"chain {c}" for c in found.chains}
            | {f"affinity {s}" for s in found.sets if s.startswith("affinity-")}
            | {f"set {s}" for s in found.sets if not s.startswith("affinity-")}
        )

    async def plant_leftovers(self) -> None:
        await nft.load(
            f"add chain {nftables.QUALIFIED} service-AAAAAAAA-x/y/tcp/\n"
            f"add set {nftables.QUALIFIED} affinity-AAAAAAAA-x {{ type ipv4_addr; }}\n"
        )

    @contextlib.contextmanager
    def as_found(self) -> Iterator[None]:
        before = nft_tables() - {PROXY_TABLE}
        yield
        cleanup_proxy()
        assert PROXY_TABLE not in nft_tables()
        assert before <= nft_tables()


IPTABLES = IptablesLab()
NFTABLES = NftablesLab()
