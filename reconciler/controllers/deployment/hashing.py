"""The ``pod-template-hash``: how a Deployment names and recognises its ReplicaSets.

Kubernetes' ``controller.ComputeHash`` feeds the pod template to FNV-32a, appends the
Deployment's ``status.collisionCount`` (as 8 little-endian bytes, only when it is set)
so that a name collision can be escaped, and renders the decimal sum with
``rand.SafeEncodeString`` (an alphabet without vowels, so no words are spelled). The
bytes fed here are a canonical JSON rendering of the template instead of Go's ``spew``
dump: stable across processes and versions, different whenever the template differs.

``EqualIgnoreHash`` decides which ReplicaSet is the Deployment's *new* one: the pod
templates are equal once the hash label is removed. Both functions normalise the same
way -- the hash label dropped, ``null``/empty maps/empty lists treated as absent, as
``apiequality.Semantic.DeepEqual`` treats nil and empty alike -- so a template that
hashes equal also compares equal.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import orjson

HASH_LABEL = "pod-template-hash"  # apps.DefaultDeploymentUniqueLabelKey

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString's alphabet
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes, seed: int = _FNV32_OFFSET) -> int:
    h = seed
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(text: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped into a vowel-free alphabet."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in text.encode())


def _normalise(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            item = _normalise(item)
            if item is None or item == {} or item == []:
                continue
            out[str(key)] = item
        return out
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def template_without_hash(template: Mapping[str, Any] | None) -> dict[str, Any]:
    """The pod template, normalised, without the ``pod-template-hash`` label."""
    template = dict(template or {})
    md = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (md.get("labels") or {}).items() if k != HASH_LABEL}
    md["labels"] = labels
    template["metadata"] = md
    normalised: dict[str, Any] = _normalise(template)
    return normalised


def compute_hash(template: Mapping[str, Any] | None, collision_count: int | None) -> str:
    """``controller.ComputeHash`` of a pod template and the collision count."""
    data = orjson.dumps(template_without_hash(template), option=orjson.OPT_SORT_KEYS)
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0\0\0\0", h)
    return safe_encode_string(str(h))


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """``EqualIgnoreHash``: equal pod templates once the hash label is ignored."""
    return template_without_hash(a) == template_without_hash(b)
