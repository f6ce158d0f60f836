"""Picking a free number from a range, as kube-apiserver's allocators do.

Both Service allocators (cluster IPs, node ports) are a range of integers with a few
taken. kube-apiserver (KEP-3070 for IPs, KEP-3668 for node ports) splits each range
into a small lower *static* band and the *dynamic* rest: dynamic allocation starts at a
random offset in the upper band and only falls back to the lower band when the upper
one is full, so addresses people hand out by hand (10.96.0.10 for DNS) rarely collide
with automatic ones. The band size is ``min(max(low, size // step), high)``.

Which numbers are taken is not stored here: callers pass a predicate backed by their
own bookkeeping (:mod:`.ledger`), so a pool is immutable and shared freely.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

_RNG = random.Random()


def static_band(size: int, low: int, step: int, high: int) -> int:
    """kube-apiserver's ``calculateRangeOffset``: ranges of ``low`` or fewer have none."""
    if size <= low:
        return 0
    return min(max(low, size // step), high)


@dataclass(frozen=True)
class Pool:
    """The integers ``first .. first + size - 1``; the first ``static`` of them are the
    static band."""

    first: int
    size: int
    static: int = 0

    def __contains__(self, value: int) -> bool:
        return self.first <= value < self.first + self.size

    def pick(self, taken: Callable[[int], bool], rng: random.Random | None = None) -> int | None:
        """A free number (dynamic band first, from a random offset), or None when full."""
        rng = rng or _RNG
        for start, size in ((self.static, self.size - self.static), (0, self.static)):
            if size <= 0:
                continue
            offset = rng.randrange(size)
            for i in range(size):
                value = self.first + start + (offset + i) % size
                if not taken(value):
                    return value
        return None
