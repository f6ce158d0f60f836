"""Service cluster IP and node port allocation (kube-apiserver's service REST storage).

:mod:`.pool`, :mod:`.ipallocator` and :mod:`.portallocator` are the ranges;
:mod:`.service` holds Kubernetes' rules about which fields a Service holds;
:mod:`.ledger` knows which numbers the stored Services occupy; :mod:`.allocator` is the
hook the resource handlers call on every Service write.
"""

from kctl.server.allocation.allocator import AllocationSettings, ServiceAllocator
from kctl.server.allocation.ipallocator import ConfigError

__all__ = ["AllocationSettings", "ConfigError", "ServiceAllocator"]
