"""Kubernetes' own JSON Schemas, loaded at run time from the kubernetes-validate package.

The core kinds' schemas are not copied into this repository (notes/schemas.md): the
package ships the upstream definitions, pinned here to the API version kctl serves
(1.32, the minor that /version reports). Every definition lives in one
``_definitions.json`` whose ``$ref`` values are local (``#/$defs/<name>``).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import orjson

KUBERNETES_VERSION = "1.32.0"


@functools.cache
def definitions(strict: bool = True) -> dict[str, dict[str, Any]]:
    """All upstream definitions by name (``io.k8s.api.apps.v1.Deployment`` ...)."""
    variant = f"v{KUBERNETES_VERSION}-local{'-strict' if strict else ''}"
    path = resources.files("kubernetes_validate") / "kubernetes-json-schema" / variant / "_definitions.json"
    return orjson.loads(path.read_bytes())["$defs"]


def ref_name(ref: str) -> str:
    """``#/$defs/io.k8s.api.core.v1.Pod`` (or a path-prefixed form) -> the definition name."""
    return ref.rsplit("/", 1)[-1]
