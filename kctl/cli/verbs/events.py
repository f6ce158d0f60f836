"""``kctl events``: the namespace's events, oldest first, as ``kubectl events`` shows them.

Unlike ``get events`` (the server's Table), ``kubectl events`` prints its own columns
client-side: LAST SEEN (``5m``, or ``30s (x7 over 2h)`` for repeated events), TYPE,
REASON, OBJECT as ``Kind/name``, MESSAGE trimmed; NAMESPACE first with ``-A``. Events
are sorted by when they last happened (the series' last observation, else
``lastTimestamp``, else ``eventTime``), filtered by ``--types`` and, for
``--for TYPE/NAME``, by a field selector on the involved object's kind, apiVersion and
name. ``-w`` watches (the server first replays existing events) and skips deletions,
which for events only mean expiry.

``-o yaml|json|name|jsonpath...`` print an ``EventList`` whose items carry the fields
a typed Event always serializes (``eventTime: null``, empty reporting fields).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.cli.session import Session

HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
CHUNK = 500
_ZERO = datetime.min.replace(tzinfo=UTC)


def _since(timestamp: Any, now: datetime) -> str:
    from kctl.api.duration import age

    return age(str(timestamp), now) if timestamp else "<unknown>"


def last_seen(event: Mapping[str, Any], now: datetime) -> str:
    """kubectl's ``getInterval``."""
    first = (
        _since(event.get("eventTime"), now)
        if event.get("eventTime")
        else _since(event.get("firstTimestamp"), now)
    )
    series = event.get("series")
    if series:
        last = _since(series.get("lastObservedTime"), now)
        return f"{last} (x{int(series.get('count') or 0)} over {first})"
    count = int(event.get("count") or 0)
    if count > 1:
        return f"{_since(event.get('lastTimestamp'), now)} (x{count} over {first})"
    return first


def _sort_time(event: Mapping[str, Any]) -> datetime:
    """kubectl's ``eventTime``: the series' last observation, else ``lastTimestamp``,
    else ``eventTime`` (unset sorts first)."""
    from kctl.api.duration import parse_timestamp

    series = event.get("series")
    if series:
        value = series.get("lastObservedTime")
    else:
        value = event.get("lastTimestamp") or event.get("eventTime")
    try:
        return parse_timestamp(str(value)) if value else _ZERO
    except ValueError:
        return _ZERO


def row(event: Mapping[str, Any], now: datetime, all_namespaces: bool) -> list[str]:
    from kctl.cli.printers.table import cell_text

    involved = event.get("involvedObject") or {}
    cells = [
        last_seen(event, now),
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        f"{involved.get('kind') or ''}/{involved.get('name') or ''}",
        str(event.get("message") or "").strip(),
    ]
    if all_namespaces:
        cells.insert(0, str((event.get("metadata") or {}).get("namespace") or ""))
    return [cell_text(c) for c in cells]


def typed(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a typed ``corev1.Event`` serializes (fields without omitempty)."""
    out = {"apiVersion": "v1", "kind": "Event", **event}
    out.setdefault("source", {})
    out.setdefault("eventTime", None)
    out.setdefault("reportingComponent", "")
    out.setdefault("reportingInstance", "")
    out.setdefault("firstTimestamp", None)
    out.setdefault("lastTimestamp", None)
    return out


def _types(values: list[str] | None) -> list[str]:
    types = [t for value in values or [] for t in value.split(",") if t]
    for t in types:
        if t.lower() not in ("normal", "warning"):
            raise CliError("valid --types are Normal or Warning")
    return types


def _for_selector(session: Session, target: str) -> str:
    word, sep, name = target.partition("/")
    if not sep or not word or not name:
        raise CliError("--for must be in resource/name form")
    info = session.resolve(word)
    return (
        f"involvedObject.kind={info.kind},involvedObject.apiVersion={info.api_version},"
        f"involvedObject.name={name}"
    )


def _wanted(event: Mapping[str, Any], types: list[str]) -> bool:
    return not types or any(t.lower() == str(event.get("type") or "").lower() for t in types)


@app.command("events")
def events(
    args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
    for_object: Annotated[
        str, typer.Option("--for", help="Only events about this object: TYPE/NAME.")
    ] = "",
    types: Annotated[
        list[str] | None, typer.Option("--types", help="Only these event types: Normal,Warning.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="Events of all namespaces.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("-w", "--watch", help="After listing, watch for more events.")
    ] = False,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Output format: json|yaml|name|jsonpath=..."),
    ] = None,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="Don't print headers.")] = False,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="List in chunks of this size.")
    ] = CHUNK,
) -> None:
    """List events."""
    from kctl.cli.printers.output import parse_output
    from kctl.cli.session import current

    wanted_types = _types(types)
    out = parse_output(output)
    if out.wide:
        raise CliError(
            'unable to match a printer suitable for the output format "wide", allowed formats '
            "are: go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,"
            "name,template,templatefile,yaml"
        )
    session = current()
    selector = _for_selector(session, for_object) if for_object else ""
    namespace = None if all_namespaces else session.namespace
    info = session.resolve("events")
    client = session.client

    if watch:
        _watch(session, namespace, selector, wanted_types, all_namespaces, no_headers, out)
        return
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = client.list(
            info,
            namespace,
            field_selector=selector or None,
            limit=chunk_size or None,
            continue_token=token,
        )
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token or not chunk_size:
            break
    items = [e for e in items if _wanted(e, wanted_types)]
    if not items:
        if all_namespaces:
            sys.stderr.write("No events found.\n")
        else:
            sys.stderr.write(f"No events found in {session.namespace} namespace.\n")
        return
    items.sort(key=_sort_time)
    if out.format == "name":
        return  # kubectl 1.32 prints nothing for -o name (its list is typed, not unstructured)
    if not out.is_table:
        from kctl.cli.printers.output import object_printer

        event_list = {
            "apiVersion": "v1",
            "kind": "EventList",
            "metadata": {},
            "items": [typed(e) for e in items],
        }
        object_printer(out, no_headers=no_headers).print(event_list, sys.stdout)
        return
    from kctl.cli.printers.tabwriter import tabulate

    now = datetime.now(UTC)
    header = (["NAMESPACE"] if all_namespaces else []) + HEADER
    lines = ([] if no_headers else [header]) + [row(e, now, all_namespaces) for e in items]
    sys.stdout.write(tabulate(lines))


def _watch(
    session: Session,
    namespace: str | None,
    selector: str,
    types: list[str],
    all_namespaces: bool,
    no_headers: bool,
    out: Any,
) -> None:
    from kctl.cli.printers.output import object_printer
    from kctl.cli.printers.tabwriter import TabWriter

    info = session.resolve("events")
    writer = TabWriter()
    header = not no_headers
    printer = None if out.is_table else object_printer(out, no_headers=no_headers)
    try:
        for kind, event in session.client.watch(
            info, namespace, field_selector=selector or None, allow_bookmarks=False
        ):
            if kind in ("DELETED", "BOOKMARK") or not _wanted(event, types):
                continue
            if printer is not None:
                printer.print(typed(event), sys.stdout)
                sys.stdout.flush()
                continue
            if header:
                writer.write([(["NAMESPACE"] if all_namespaces else []) + HEADER])
                header = False
            writer.write([row(event, datetime.now(UTC), all_namespaces)])
            sys.stdout.write(writer.flush())
            sys.stdout.flush()
    except KeyboardInterrupt:
        raise typer.Exit(1) from None
