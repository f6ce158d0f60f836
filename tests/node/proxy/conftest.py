"""The lab fixture of the proxy's kernel tests: one per module, checked after.

After the module, iptables must hold none of the proxy's chains or jumps, and every
rule that was there before must still be there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.proxy.cleanup import cleanup_proxy
from tests.node.proxy import kernel, netlab


@pytest.fixture(scope="module")
def lab() -> Iterator[netlab.Lab]:
    lock = kernel.machine_lock()
    before = kernel.save()
    try:
        with netlab.lab(3) as the_lab:
            yield the_lab
    finally:
        cleanup_proxy()
        lock.release()
        after = kernel.save()
        assert kernel.proxy_traces(after) == []
        assert kernel.lost_rules(before, after) == set()
