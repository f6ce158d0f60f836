"""Pod CIDR allocation: carving the cluster CIDR into equal per-node blocks.

:class:`CidrSet` is Kubernetes' ``cidrset``: the cluster CIDR (say 10.244.0.0/16) is
cut into ``2**(mask - cluster_mask)`` blocks of the node mask size (/24 -> 256 blocks);
a block's index is its offset in the cluster range shifted by the host bits. Allocation
scans from the block after the last one handed out (so a released block is not reused
at once, which keeps a just-deleted node's routes from pointing at a new node), and
``occupy`` marks blocks that nodes already carry -- including ones larger or smaller
than a block, which mark every block they overlap.

:class:`CidrAllocator` holds one set per configured cluster CIDR (one per IP family in
a dual-stack cluster) and hands a node one block from each, all or nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A node mask at most this many bits longer than the cluster mask (Kubernetes' limit).
MAX_MASK_DIFF = 16
DEFAULT_MASKS = {4: 24, 6: 64}


class CidrError(ValueError):
    """A CIDR that does not fit the cluster's ranges (bad settings or a foreign node)."""


class CidrsExhausted(Exception):
    """Every block of a cluster CIDR is in use."""

    def __init__(self, cluster: IPNetwork) -> None:
        super().__init__(
            "CIDR allocation failed; there are no remaining CIDRs left to allocate "
            f"in the accepted range {cluster}"
        )
        self.cluster = cluster


class CidrSet:
    def __init__(self, cluster: IPNetwork, mask: int) -> None:
        if mask < cluster.prefixlen:
            raise CidrError(f"node CIDR mask /{mask} is shorter than the cluster CIDR {cluster}")
        if mask - cluster.prefixlen > MAX_MASK_DIFF:
            raise CidrError(
                f"node CIDR mask /{mask} is more than {MAX_MASK_DIFF} bits longer than "
                f"the cluster CIDR {cluster}"
            )
        self.cluster = cluster
        self.mask = mask
        self.size = 1 << (mask - cluster.prefixlen)
        self._shift = cluster.max_prefixlen - mask
        self._base = int(cluster.network_address)
        self._used: set[int] = set()
        self._next = 0

    def __len__(self) -> int:
        """Blocks in use."""
        return len(self._used)

    def block(self, index: int) -> IPNetwork:
        address = self._base + (index << self._shift)
        return ipaddress.ip_network((address, self.mask))

    def allocate_next(self) -> IPNetwork:
        for step in range(self.size):
            index = (self._next + step) % self.size
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.size
                return self.block(index)
        raise CidrsExhausted(self.cluster)

    def _indices(self, cidr: IPNetwork) -> range:
        if cidr.version != self.cluster.version or not cidr.overlaps(self.cluster):
            raise CidrError(f"cidr {cidr} is out the range of cluster cidr {self.cluster}")
        if self.cluster.subnet_of(cidr):  # type: ignore[arg-type]
            return range(self.size)
        first = (int(cidr.network_address) - self._base) >> self._shift
        last = (int(cidr.broadcast_address) - self._base) >> self._shift
        return range(first, last + 1)

    def occupy(self, cidr: IPNetwork) -> None:
        self._used.update(self._indices(cidr))

    def release(self, cidr: IPNetwork) -> None:
        self._used.difference_update(self._indices(cidr))

    def is_used(self, cidr: IPNetwork) -> bool:
        return all(i in self._used for i in self._indices(cidr))


def parse_cidrs(text: str) -> list[IPNetwork]:
    """``"10.244.0.0/16,fd00:10:244::/56"`` -> networks (at most one per IP family)."""
    nets: list[IPNetwork] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            raise CidrError(f"invalid cluster CIDR {part!r}: {exc}") from None
    if not nets:
        raise CidrError("no cluster CIDR configured")
    if len({n.version for n in nets}) != len(nets):
        raise CidrError(f"at most one cluster CIDR per IP family: {text!r}")
    return nets


class CidrAllocator:
    """One :class:`CidrSet` per cluster CIDR; a node gets a block from each."""

    def __init__(self, clusters: Sequence[IPNetwork], masks: dict[int, int]) -> None:
        self.sets = [CidrSet(c, masks.get(c.version, DEFAULT_MASKS[c.version])) for c in clusters]

    def allocate(self) -> list[str]:
        """One block per cluster CIDR, in their order; all or nothing."""
        taken: list[tuple[CidrSet, IPNetwork]] = []
        try:
            for cidr_set in self.sets:
                taken.append((cidr_set, cidr_set.allocate_next()))
        except CidrsExhausted:
            for cidr_set, net in taken:
                cidr_set.release(net)
            raise
        return [str(net) for _, net in taken]

    def _each(self, cidrs: Iterable[str]) -> list[tuple[CidrSet, IPNetwork]]:
        pairs = []
        for text in cidrs:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError as exc:
                raise CidrError(f"invalid pod CIDR {text!r}: {exc}") from None
            cidr_set = next((s for s in self.sets if s.cluster.version == net.version), None)
            if cidr_set is None:
                raise CidrError(f"no cluster CIDR of IPv{net.version} for {net}")
            pairs.append((cidr_set, net))
        return pairs

    def occupy(self, cidrs: Iterable[str]) -> None:
        """Mark a node's existing pod CIDRs as used (CidrError if outside the ranges)."""
        for cidr_set, net in self._each(cidrs):
            cidr_set.occupy(net)

    def release(self, cidrs: Iterable[str]) -> None:
        for cidr_set, net in self._each(cidrs):
            cidr_set.release(net)
