"""The service CIDR as an allocation range (kube-apiserver's ``ipallocator``).

Addresses are handled as integers (``int(ip_address(...))``), so the range of a /12 is
a :class:`~.pool.Pool` of a million numbers and nothing is materialised per address.
As upstream, the network address and (IPv4) the broadcast address are never part of
the range: requesting them is "not in the valid range". The first usable address
(10.96.0.1, the ``kubernetes`` Service) and the cluster DNS address (10.96.0.10) are
reserved: dynamic allocation never hands them out, a request for them is honoured.
Error texts are kube-apiserver's, because kubectl prints them verbatim.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from kctl.server.allocation.pool import Pool, static_band

ALLOCATED = "provided IP is already allocated"
FULL = "range is full"


class ConfigError(ValueError):
    """A service CIDR or reserved address the server cannot work with."""


def ip_value(text: str) -> int | None:
    """The integer of an IP address string, None when it is not one."""
    try:
        return int(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class ServiceCIDR:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    pool: Pool
    reserved: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, cidr: str, reserved: tuple[str, ...] = ()) -> ServiceCIDR:
        """``--service-cidr``; ``reserved`` adds addresses (the cluster DNS) to the first
        usable one."""
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise ConfigError(f"invalid service CIDR {cidr!r}: {exc}") from None
        base = int(network.network_address)
        size = network.num_addresses - 1  # the network address is never handed out
        if network.version == 4:
            size -= 1  # nor the broadcast address
        if size < 1:
            raise ConfigError(f"the service CIDR {cidr} has no usable address")
        pool = Pool(base + 1, size, static_band(size, 16, 16, 256))
        held = {pool.first}
        for text in reserved:
            value = ip_value(text)
            if value is None:
                raise ConfigError(f"invalid reserved service address {text!r}")
            if value in pool:
                held.add(value)
        return cls(network, pool, frozenset(held))

    @property
    def family(self) -> str:
        return "IPv4" if self.network.version == 4 else "IPv6"

    def address(self, value: int) -> str:
        return str(ipaddress.ip_address(value))

    def out_of_range(self, ip: str) -> str:
        """kube-apiserver's ``ErrNotInRange`` text."""
        return (
            f"the provided IP ({ip}) is not in the valid range. "
            f"The range of valid IPs is {self.network}"
        )
