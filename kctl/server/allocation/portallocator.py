"""The NodePort range as an allocation range (kube-apiserver's ``portallocator``).

``--service-node-port-range`` is ``30000-32767`` by default; ``BASE+SIZE`` is accepted
too, as ``net.ParsePortRange`` does. Error texts are kube-apiserver's.
"""

from __future__ import annotations

from dataclasses import dataclass

from kctl.server.allocation.ipallocator import ConfigError
from kctl.server.allocation.pool import Pool, static_band

DEFAULT_RANGE = "30000-32767"
ALLOCATED = "provided port is already allocated"
FULL = "range is full"


@dataclass(frozen=True)
class PortRange:
    base: int
    size: int
    pool: Pool

    @classmethod
    def parse(cls, text: str) -> PortRange:
        spec = text.strip()
        try:
            if "+" in spec:
                first, extra = spec.split("+", 1)
                base, size = int(first), int(extra) + 1
            elif "-" in spec:
                first, last = spec.split("-", 1)
                base, size = int(first), int(last) - int(first) + 1
            else:
                base, size = int(spec), 1
        except ValueError:
            raise ConfigError(f"invalid port range {text!r}") from None
        if base < 1 or size < 1 or base + size - 1 > 65535:
            raise ConfigError(f"invalid port range {text!r}")
        return cls(base, size, Pool(base, size, static_band(size, 16, 32, 128)))

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}"

    def out_of_range(self) -> str:
        return f"provided port is not in the valid range. The range of valid ports is {self}"
