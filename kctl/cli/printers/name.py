"""``-o name``: ``deployment.apps/web``, ``pod/web-1``, as kubectl's NamePrinter.

The kind is lower-cased and the API group (not the version) follows it; core kinds
have no group. Verbs that act on objects print the same with an operation appended
(``deployment.apps/web created``), so that form is here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def group_kind(obj: Mapping[str, Any]) -> str:
    """``deployment.apps`` / ``pod``: the lower-cased kind, dot, group."""
    kind = str(obj.get("kind") or "").lower()
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return f"{kind}.{group}" if group else kind


def name_of(obj: Mapping[str, Any], operation: str = "") -> str:
    """``kind.group/name`` (plus `` operation`` when given), without a newline."""
    meta = obj.get("metadata") or {}
    text = f"{group_kind(obj)}/{meta.get('name', '')}"
    return f"{text} {operation}" if operation else text
