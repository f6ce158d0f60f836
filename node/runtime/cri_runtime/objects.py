"""ConfigMaps and Secrets a pod refers to, read through the API for one pod sync.

The kubelet reads them with its own (cached) clients; the agent reads them with the
API client on demand, once per object per container start, so a key added to a
ConfigMap shows in the next container that starts. Absence is an answer (``None``),
not an error: whether it is fatal depends on ``optional``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from typing import Any, Protocol

from kctl.api import errors
from kctl.client.resources import CONFIGMAPS, SECRETS


class Getter(Protocol):
    def get(self, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...


class PodObjects:
    """Cached reads of one namespace's ConfigMaps and Secrets (their data, decoded)."""

    def __init__(self, client: Getter | None, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._cache: dict[tuple[str, str], dict[str, str] | None] = {}

    async def _read(self, kind: str, name: str) -> dict[str, str] | None:
        key = (kind, name)
        if self.client is None:  # no API (``kctl node --cleanup``): nothing to read
            return None
        if key not in self._cache:
            info = CONFIGMAPS if kind == "configmap" else SECRETS
            try:
                obj = await self.client.get(info, name, self.namespace)
            except errors.NotFound:
                self._cache[key] = None
            else:
                self._cache[key] = _data(kind, obj)
        return self._cache[key]

    async def config_map(self, name: str) -> dict[str, str] | None:
        return await self._read("configmap", name)

    async def secret(self, name: str) -> dict[str, str] | None:
        return await self._read("secret", name)


def _data(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    if kind == "configmap":
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
        for k, v in (obj.get("binaryData") or {}).items():
            out[k] = base64.b64decode(v).decode(errors="replace")
        return out
    for k, v in (obj.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode(errors="replace")
    for k, v in (obj.get("stringData") or {}).items():
        out[k] = str(v)
    return out


def not_found_message(kind: str, name: str) -> str:
    """The kubelet's words: ``configmap "x" not found`` / ``secret "x" not found``."""
    return f'{kind} "{name}" not found'


def missing_key_message(kind: str, namespace: str, name: str, key: str) -> str:
    label = "ConfigMap" if kind == "configmap" else "Secret"
    return f"couldn't find key {key} in {label} {namespace}/{name}"
