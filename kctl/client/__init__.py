"""kctl's API client library: kubeconfig loading, the REST client, event recording.

Names are resolved lazily (PEP 562) so that ``import kctl.client.kubeconfig`` -- or a
CLI command that never talks to a server -- does not pay for importing httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kctl.client.events import AsyncEventRecorder, EventRecorder
    from kctl.client.http import AsyncClient, Client, ConnectionFailed
    from kctl.client.kubeconfig import (
        ClientConfig,
        ConfigError,
        KubeConfig,
        load_client_config,
        load_kubeconfig,
        write_kubeconfig,
    )

_EXPORTS = {
    "AsyncClient": "kctl.client.http",
    "Client": "kctl.client.http",
    "ConnectionFailed": "kctl.client.http",
    "AsyncEventRecorder": "kctl.client.events",
    "EventRecorder": "kctl.client.events",
    "ClientConfig": "kctl.client.kubeconfig",
    "ConfigError": "kctl.client.kubeconfig",
    "KubeConfig": "kctl.client.kubeconfig",
    "load_client_config": "kctl.client.kubeconfig",
    "load_kubeconfig": "kctl.client.kubeconfig",
    "write_kubeconfig": "kctl.client.kubeconfig",
}

__all__ = [
    "AsyncClient",
    "AsyncEventRecorder",
    "Client",
    "ClientConfig",
    "ConfigError",
    "ConnectionFailed",
    "EventRecorder",
    "KubeConfig",
    "load_client_config",
    "load_kubeconfig",
    "write_kubeconfig",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kctl.client' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
