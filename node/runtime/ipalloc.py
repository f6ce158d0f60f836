"""Pod IP addresses for runtimes that have no CNI plugin to ask (the hollow runtime).

:class:`IpAllocator` hands out the addresses of one pod CIDR the way CNI's host-local
IPAM does: the network address, the gateway (the first host, which the bridge owns) and
the broadcast address are never given out; allocation continues after the last address
given, so a just-released IP is not reused at once (a stale Endpoints entry then points
nowhere rather than at a stranger).

:class:`SlotAssigner` gives each node of a process its own block of a reserved range,
for hollow nodes whose ``spec.podCIDR`` never arrives (no node IPAM controller) and for
their fake host addresses. A node's block is derived from a hash of its name, so it
stays the same across agent restarts, and probing makes blocks distinct within a process.
"""

from __future__ import annotations

import ipaddress
import zlib

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 6598 shared address space: never a cluster's pod or service range by default.
FAKE_POD_SUPERNET = "100.64.0.0/10"
FAKE_POD_PREFIX = 24
# Loopback beyond 127.0.0.0/9: connections fail fast (refused), nothing to route.
FAKE_HOST_SUPERNET = "127.128.0.0/9"


class RangeExhausted(Exception):
    """Every address (or block) of the range is in use."""


class IpAllocator:
    """Addresses of one CIDR, keyed by owner (a pod uid)."""

    def __init__(self, cidr: str) -> None:
        self.network: IPNetwork = ipaddress.ip_network(cidr, strict=False)
        base = int(self.network.network_address)
        size = self.network.num_addresses
        if size <= 2:  # /31, /32 (and v6 equivalents): every address is a host
            self._first, self._last = base, base + size - 1
        else:
            # Skip the network address and the gateway; v4 also loses its broadcast.
            self._first = base + 2
            self._last = base + size - (2 if self.network.version == 4 else 1)
        self._cursor = self._first - 1
        self._by_owner: dict[str, int] = {}
        self._used: set[int] = set()

    @property
    def capacity(self) -> int:
        return max(0, self._last - self._first + 1)

    def __len__(self) -> int:
        return len(self._by_owner)

    def __contains__(self, address: str) -> bool:
        try:
            value = int(ipaddress.ip_address(address))
        except ValueError:
            return False
        return self._first <= value <= self._last

    def get(self, owner: str) -> str | None:
        value = self._by_owner.get(owner)
        return None if value is None else str(ipaddress.ip_address(value))

    def allocate(self, owner: str, preferred: str | None = None) -> str:
        """The owner's address (the same one on every call until released).

        ``preferred`` is taken if it is in range and free: a pod that already has an
        IP in its status keeps it across agent restarts.
        """
        known = self.get(owner)
        if known is not None:
            return known
        if preferred and preferred in self:
            value = int(ipaddress.ip_address(preferred))
            if value not in self._used:
                return self._take(owner, value)
        capacity = self.capacity
        if len(self._used) >= capacity:
            raise RangeExhausted(f"no free address left in {self.network}")
        value = self._cursor
        for _ in range(capacity):
            value = value + 1 if value < self._last else self._first
            if value not in self._used:
                self._cursor = value
                return self._take(owner, value)
        raise RangeExhausted(f"no free address left in {self.network}")  # pragma: no cover

    def _take(self, owner: str, value: int) -> str:
        self._used.add(value)
        self._by_owner[owner] = value
        return str(ipaddress.ip_address(value))

    def release(self, owner: str) -> None:
        value = self._by_owner.pop(owner, None)
        if value is not None:
            self._used.discard(value)


class SlotAssigner:
    """Distinct, name-stable blocks of ``prefix`` bits carved from ``supernet``."""

    def __init__(self, supernet: str, prefix: int) -> None:
        self.supernet: IPNetwork = ipaddress.ip_network(supernet, strict=True)
        if prefix < self.supernet.prefixlen or prefix > self.supernet.max_prefixlen:
            raise ValueError(f"/{prefix} blocks do not fit in {supernet}")
        self.prefix = prefix
        self._slots = 1 << (prefix - self.supernet.prefixlen)
        self._block = 1 << (self.supernet.max_prefixlen - prefix)
        self._by_name: dict[str, int] = {}
        self._taken: set[int] = set()

    def assign(self, name: str) -> str:
        """The block of ``name`` as a CIDR (``100.64.17.0/24``)."""
        slot = self._by_name.get(name)
        if slot is None:
            if len(self._taken) >= self._slots:
                raise RangeExhausted(f"no free /{self.prefix} left in {self.supernet}")
            slot = zlib.crc32(name.encode()) % self._slots
            while slot in self._taken:
                slot = (slot + 1) % self._slots
            self._taken.add(slot)
            self._by_name[name] = slot
        start = int(self.supernet.network_address) + slot * self._block
        return f"{ipaddress.ip_address(start)}/{self.prefix}"

    def address(self, name: str) -> str:
        """The first address of ``name``'s block (a host address when blocks are /32)."""
        return self.assign(name).split("/", 1)[0]

    def release(self, name: str) -> None:
        slot = self._by_name.pop(name, None)
        if slot is not None:
            self._taken.discard(slot)
