"""The ``Events:`` section every describer ends with, and how its events are found.

kubectl finds events with a field selector on the involved object (name, namespace,
kind and uid; pods leave the kind out, nodes ask twice, by uid and by name, because
the kubelet reports node events with the node's name as uid) and lists them in the
object's namespace, or in all namespaces for cluster-scoped objects. The table's
``Age`` is kubectl's: the first-seen age, or ``<last> (xN over <first>)`` for
repeated events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.api.duration import parse_timestamp
from kctl.api.errors import ApiError
from kctl.cli.describers.common import Obj, meta
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import since
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, PrefixWriter


def _escape(value: str) -> str:
    """``fields.EscapeValue``."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def involved_selector(name: str, namespace: str, kind: str | None, uid: str | None) -> str:
    """``EventInterface.GetFieldSelector``, rendered with sorted field names."""
    fields = {"involvedObject.name": name, "involvedObject.namespace": namespace}
    if kind:
        fields["involvedObject.kind"] = kind
    if uid:
        fields["involvedObject.uid"] = uid
    return ",".join(f"{k}={_escape(v)}" for k, v in sorted(fields.items()))


def search(
    ctx: DescribeContext,
    obj: Obj,
    kind: str | None,
    *,
    uid: str | None = None,
    strict: bool = False,
) -> list[dict[str, Any]]:
    """Events about ``obj`` (``kind=None`` leaves the kind out of the selector).

    Failures are ignored, as kubectl ignores them (the section then reads
    ``<none>``), unless ``strict``: the ConfigMap describer fails on them."""
    md = meta(obj)
    namespace = str(md.get("namespace") or "")
    info = ctx.served("", "Event")
    if info is None:
        return []
    selector = involved_selector(
        str(md.get("name") or ""), namespace, kind, uid if uid is not None else md.get("uid")
    )
    try:
        return ctx.list_all(info, namespace or None, field_selector=selector)
    except ApiError:
        if strict:
            raise
        return []


def _sort_time(event: Mapping[str, Any]) -> float:
    """kubectl 1.32's ``SortableEvents`` key: ``lastTimestamp`` only, so events of the
    newer API (``eventTime``, no last timestamp) come first, in list order."""
    stamp = event.get("lastTimestamp")
    try:
        return parse_timestamp(stamp).timestamp() if stamp else float("-inf")
    except ValueError:
        return float("-inf")


def interval(event: Mapping[str, Any]) -> str:
    """The ``Age`` cell: ``10s``, or ``10s (x3 over 2m)`` for a repeated event."""
    first = (
        since(event.get("eventTime"))
        if event.get("eventTime")
        else since(event.get("firstTimestamp"))
    )
    series = event.get("series")
    if series:
        return f"{since(series.get('lastObservedTime'))} (x{int(series.get('count') or 0)} over {first})"
    count = int(event.get("count") or 0)
    if count > 1:
        return f"{since(event.get('lastTimestamp'))} (x{count} over {first})"
    return first


def write_events(w: PrefixWriter, events: list[dict[str, Any]]) -> None:
    """``DescribeEvents``: ``Events:  <none>`` (aligned with the lines above) or the
    table, oldest first."""
    if not events:
        w.write(LEVEL_0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(LEVEL_0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(LEVEL_1, "----\t------\t----\t----\t-------\n")
    for event in sorted(events, key=_sort_time):
        source = (event.get("source") or {}).get("component") or event.get("reportingComponent")
        w.write(
            LEVEL_1,
            f"{event.get('type', '')}\t{event.get('reason', '')}\t{interval(event)}\t"
            f"{source or ''}\t{str(event.get('message') or '').strip()}\n",
        )


def section(
    ctx: DescribeContext, w: PrefixWriter, obj: Obj, kind: str | None, **kwargs: Any
) -> None:
    """Search and write, when ``--show-events`` is on."""
    if ctx.show_events:
        write_events(w, search(ctx, obj, kind, **kwargs))
