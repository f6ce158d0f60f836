"""Namespaces: status and conditions, then the namespace's resource quotas and
limit ranges.

kubectl lists ResourceQuotas and LimitRanges in the namespace and leaves each
section out entirely when the server answers the list with 404, i.e. when it does
not serve the kind; a served kind with no objects prints ``No resource quota.`` /
``No LimitRange resource.``. Namespaces carry no events section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.cli.describers.common import (
    Obj,
    annotations_block,
    labels_block,
    meta,
    quantity,
    quantity_string,
    spec,
    status,
)
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import rfc1123z
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, PrefixWriter

_SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited "
    "lifespan on a node before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods usually "
    "include long running pods whose container command is not expected to terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods have "
    "a best effort quality of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. These "
    "pods have a burstable or guaranteed quality of service.",
}


def describe_namespace(ctx: DescribeContext, ns: Obj) -> str:
    md = meta(ns)
    name = str(md.get("name", ""))
    quotas = ctx.try_list("", "ResourceQuota", name)
    limit_ranges = ctx.try_list("", "LimitRange", name)

    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{name}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    w.write(LEVEL_0, f"Status:\t{status(ns).get('phase', '')}\n")
    conditions = status(ns).get("conditions") or []
    if conditions:
        w.write(LEVEL_0, "Conditions:\n")
        w.write(LEVEL_1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(LEVEL_1, "----\t------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                LEVEL_1,
                f"{c.get('type', '')}\t{c.get('status', '')}\t"
                f"{rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                f"{c.get('message', '')}\n",
            )
    if quotas is not None:
        w.write(LEVEL_0, "\n")
        _quotas(w, quotas)
    if limit_ranges is not None:
        w.write(LEVEL_0, "\n")
        _limit_ranges(w, limit_ranges)
    return w.getvalue()


def _quotas(w: PrefixWriter, quotas: list[dict[str, Any]]) -> None:
    """``DescribeResourceQuotas``."""
    if not quotas:
        w.write(LEVEL_0, "No resource quota.\n")
        return
    w.write(LEVEL_0, "Resource Quotas\n")
    for quota in sorted(quotas, key=lambda q: str(meta(q).get("name", ""))):
        w.write(LEVEL_1, f"Name:\t{meta(quota).get('name', '')}\n")
        scopes = sorted(str(s) for s in spec(quota).get("scopes") or [])
        if scopes:
            w.write(LEVEL_1, f"Scopes:\t{', '.join(scopes)}\n")
            for scope in scopes:
                if scope in _SCOPE_HELP:
                    w.write(LEVEL_1, f"* {_SCOPE_HELP[scope]}\n")
        w.write(LEVEL_1, "Resource\tUsed\tHard\n")
        w.write(LEVEL_1, "--------\t---\t---\n")
        hard: Mapping[str, Any] = status(quota).get("hard") or {}
        used: Mapping[str, Any] = status(quota).get("used") or {}
        for resource in sorted(hard):
            w.write(
                LEVEL_1,
                f"{resource}\t{quantity_string(used.get(resource))}\t{quantity_string(hard[resource])}\n",
            )


def _limit_ranges(w: PrefixWriter, limit_ranges: list[dict[str, Any]]) -> None:
    """``DescribeLimitRanges`` (resources sorted, where kubectl walks a Go map)."""
    if not limit_ranges:
        w.write(LEVEL_0, "No LimitRange resource.\n")
        return
    w.write(
        LEVEL_0,
        "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\t"
        "Max Limit/Request Ratio\n",
    )
    w.write(
        LEVEL_0,
        " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n",
    )
    columns = ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")
    for limit_range in limit_ranges:
        for item in spec(limit_range).get("limits") or []:
            names = sorted({name for col in columns for name in item.get(col) or {}})
            for name in names:
                cells = [
                    quantity(item[col][name]).canonical() if name in (item.get(col) or {}) else "-"
                    for col in columns
                ]
                w.write(LEVEL_0, f" {item.get('type', '')}\t{name}\t" + "\t".join(cells) + "\n")
