"""Deployments and ReplicaSets.

A Deployment's ``OldReplicaSets``/``NewReplicaSet`` lines come from the ReplicaSets
matching its selector *and* controlled by it (owner reference with its UID), as
kubectl's deployment utilities find them: the new one is the oldest whose pod
template equals the Deployment's once the ``pod-template-hash`` label is set aside,
every other owned ReplicaSet is old. A ReplicaSet's ``Pods Status`` counts the pods
it controls, by phase.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kctl.api.errors import ApiError
from kctl.cli.describers import events
from kctl.cli.describers.common import (
    Obj,
    annotations_block,
    controlled_by,
    is_controlled_by,
    labels_block,
    meta,
    spec,
    status,
)
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import int_or_string, rfc1123z
from kctl.cli.describers.podspec import pod_template_block
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, PrefixWriter

TEMPLATE_HASH_LABEL = "pod-template-hash"


def _selector(obj: Obj) -> str:
    from kctl.api.tables import selector_string

    return selector_string(spec(obj).get("selector"))


def describe_deployment(ctx: DescribeContext, deploy: Obj) -> str:
    md, d_spec, d_status = meta(deploy), spec(deploy), status(deploy)
    found = events.search(ctx, deploy, "Deployment") if ctx.show_events else None
    old_sets, new_set = owned_replicasets(ctx, deploy)

    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    w.write(LEVEL_0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    w.write(LEVEL_0, f"Selector:\t{_selector(deploy)}\n")

    def n(key: str) -> int:
        return int(d_status.get(key) or 0)

    w.write(
        LEVEL_0,
        f"Replicas:\t{int(d_spec.get('replicas') or 0)} desired | {n('updatedReplicas')} updated"
        f" | {n('replicas')} total | {n('availableReplicas')} available"
        f" | {n('unavailableReplicas')} unavailable\n",
    )
    strategy = d_spec.get("strategy") or {}
    w.write(LEVEL_0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.write(LEVEL_0, f"MinReadySeconds:\t{int(d_spec.get('minReadySeconds') or 0)}\n")
    if strategy.get("rollingUpdate") is not None:
        ru = strategy["rollingUpdate"]
        w.write(
            LEVEL_0,
            f"RollingUpdateStrategy:\t{int_or_string(ru.get('maxUnavailable'))} max unavailable, "
            f"{int_or_string(ru.get('maxSurge'))} max surge\n",
        )
    pod_template_block(w, d_spec.get("template"))
    _conditions(w, d_status)
    if old_sets or new_set is not None:
        w.write(LEVEL_0, f"OldReplicaSets:\t{_replicasets_line(old_sets)}\n")
        w.write(LEVEL_0, f"NewReplicaSet:\t{_replicasets_line([new_set] if new_set else [])}\n")
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()


def _conditions(w: PrefixWriter, obj_status: Mapping[str, Any]) -> None:
    conditions = obj_status.get("conditions") or []
    if conditions:
        w.write(LEVEL_0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(LEVEL_1, "----\t------\t------\n")
        for c in conditions:
            w.write(
                LEVEL_1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n"
            )


def _replicasets_line(sets: list[Obj]) -> str:
    text = ", ".join(
        f"{meta(rs).get('name', '')} ({int(status(rs).get('replicas') or 0)}/"
        f"{int(spec(rs).get('replicas') or 0)} replicas created)"
        for rs in sets
    )
    return text or "<none>"


def _without_hash(template: Any) -> Any:
    """A template with the hash label removed and empty values dropped, so that
    JSON that differs only where Go's semantic equality does not (nil vs empty)
    compares equal."""
    clean = copy.deepcopy(template) if isinstance(template, Mapping) else {}
    labels = (clean.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(TEMPLATE_HASH_LABEL, None)
    return _prune(clean)


def _prune(value: Any) -> Any:
    if isinstance(value, Mapping):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def owned_replicasets(ctx: DescribeContext, deploy: Obj) -> tuple[list[Obj], Obj | None]:
    """(old ReplicaSets, the new one or None); none at all when they cannot be listed."""
    from kctl.api.duration import parse_timestamp

    info = ctx.served("apps", "ReplicaSet")
    if info is None:
        return [], None
    try:
        listed = ctx.list_all(info, meta(deploy).get("namespace"), label_selector=_selector(deploy))
    except ApiError:
        return [], None
    owned: list[Obj] = [rs for rs in listed if is_controlled_by(rs, deploy)]

    def created(rs: Obj) -> tuple[float, str]:
        stamp = meta(rs).get("creationTimestamp")
        when = parse_timestamp(stamp).timestamp() if stamp else float("-inf")
        return when, str(meta(rs).get("name", ""))

    owned.sort(key=created)
    wanted = _without_hash(spec(deploy).get("template"))
    new_set = next((rs for rs in owned if _without_hash(spec(rs).get("template")) == wanted), None)
    old_sets = [rs for rs in owned if rs is not new_set]
    return old_sets, new_set


def describe_replicaset(ctx: DescribeContext, rs: Obj) -> str:
    md, rs_spec = meta(rs), spec(rs)
    pods_line = _pods_status(ctx, rs)
    found = events.search(ctx, rs, "ReplicaSet") if ctx.show_events else None

    from kctl.api.tables import format_label_selector

    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    w.write(LEVEL_0, f"Selector:\t{format_label_selector(rs_spec.get('selector'))}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    if owner := controlled_by(rs):
        w.write(LEVEL_0, f"Controlled By:\t{owner}\n")
    w.write(
        LEVEL_0,
        f"Replicas:\t{int(status(rs).get('replicas') or 0)} current / "
        f"{int(rs_spec.get('replicas') or 0)} desired\n",
    )
    w.write(LEVEL_0, f"Pods Status:\t{pods_line}\n")
    pod_template_block(w, rs_spec.get("template"))
    _conditions(w, status(rs))
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()


def _pods_status(ctx: DescribeContext, owner: Obj) -> str:
    """``N Running / N Waiting / N Succeeded / N Failed`` over the pods ``owner``
    controls among those its selector matches."""
    info = ctx.served("", "Pod")
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    if info is not None:
        try:
            pods = ctx.list_all(info, meta(owner).get("namespace"), label_selector=_selector(owner))
        except ApiError as exc:
            return f"error in fetching pods: {exc}"
        for pod in pods:
            phase = str(status(pod).get("phase") or "")
            if is_controlled_by(pod, owner) and phase in counts:
                counts[phase] += 1
    return (
        f"{counts['Running']} Running / {counts['Pending']} Waiting / "
        f"{counts['Succeeded']} Succeeded / {counts['Failed']} Failed"
    )
