"""``kctl get``: display one or many resources, as ``kubectl get`` does.

The arguments follow kubectl's resource builder: ``TYPE[,TYPE...] [NAME...]`` (a
category such as ``all`` expands to its types in discovery order, duplicates collapse)
or ``TYPE/NAME...``. Each type with its names becomes requests made in argument order,
and a failing request does not stop the others: what was found is printed, then every
error (``Error from server (NotFound): ...``), and the exit code is 1.

The default and ``-o wide`` outputs are the server's Tables (``Accept: ...as=Table``),
decorated and laid out by :mod:`kctl.cli.printers.table`; rows carry only what the
decoration needs (``includeObject=None`` unless NAMESPACE, labels or ``--sort-by`` need
metadata or the object). Other formats fetch plain objects and print one object, or a
``kind: List`` when more than one object could have been asked for. ``-w`` lists, then
watches from the list's resourceVersion, printing each change as it arrives.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kctl.api.kinds import ResourceInfo
    from kctl.cli.printers.output import Output
    from kctl.cli.session import Session
    from kctl.client.http import Client, RequestSpec

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
DEFAULT_CHUNK_SIZE = 0  # see _Flags.chunk_size


@dataclass
class _Request:
    info: ResourceInfo
    name: str | None = None  # None: list


@dataclass
class _Flags:
    output: Output
    selector: str
    field_selector: str
    all_namespaces: bool
    show_labels: bool
    label_columns: tuple[str, ...]
    sort_by: str
    no_headers: bool
    ignore_not_found: bool
    show_kind: bool
    show_managed_fields: bool
    # kubectl pages lists by 500; one request is faster against kctl's server, so
    # paging is opt-in (--chunk-size=N), and always off with --sort-by, as in kubectl.
    chunk_size: int


# --- arguments -----------------------------------------------------------------------------


def _no_type_error() -> CliError:
    sys.stderr.write(
        'You must specify the type of resource to get. Use "kctl api-resources" for a '
        "complete list of supported resources.\n\n"
    )
    return CliError(
        "Required resource not specified.\n"
        'Use "kctl explain <resource>" for a detailed description of that resource '
        "(e.g. kctl explain pods).\nSee 'kctl get -h' for help and examples"
    )


def _expand_types(session: Session, words: str) -> list[str]:
    """``all,cm`` -> type words, categories expanded to their members in discovery order."""
    out: list[str] = []
    for word in words.split(","):
        if not word:
            continue
        members = session.registry.in_category(word)
        if members:
            out.extend(m.resource for m in members)
        elif word not in out:
            out.append(word)
    return out


def plan(session: Session, args: list[str]) -> tuple[list[_Request], bool, int]:
    """The requests for the arguments, whether one object is implied (one type, one
    name), and how many type words were given (watch allows one)."""
    if not args:
        raise _no_type_error()
    slashed = [a for a in args if "/" in a]
    if slashed and len(slashed) != len(args):
        raise CliError(
            "there is no need to specify a resource type as a separate argument when passing "
            "arguments in resource/name form (e.g. 'kctl get resource/<resource_name>' instead "
            "of 'kctl get resource resource/<resource_name>'"
        )
    if slashed:
        requests = []
        for arg in args:
            word, _, name = arg.partition("/")
            if not word or not name:
                raise CliError(
                    "arguments in resource/name form must have a single resource and name"
                )
            for expanded in word.split(","):
                requests.append(_Request(session.resolve(expanded), name))
        return requests, len(requests) == 1, len(requests)
    words = _expand_types(session, args[0])
    infos: list[ResourceInfo] = []
    for word in words:
        info = session.resolve(word)
        if info not in infos:
            infos.append(info)
    names = args[1:]
    if names:
        requests = [_Request(info, name) for info in infos for name in names]
        return requests, len(names) == 1 and len(infos) == 1, len(words)
    return [_Request(info) for info in infos], False, len(words)


# --- talking to the server ---------------------------------------------------------------


def _run(client: Client, spec: RequestSpec) -> Any:
    # The client has no public way to send a prepared request with its own Accept
    # header (a Table); this and _events' stream are the two places reaching into it.
    return client._run(spec)


def _gvr(info: ResourceInfo) -> str:
    return f"{info.group}/{info.version}, Resource={info.plural}"


def _enhance_list_error(exc: Exception, info: ResourceInfo, flags: _Flags) -> Exception:
    """kubectl's ``EnhanceListError``: say what was being listed, and with which selectors."""
    from kctl.api.errors import ApiError

    if not isinstance(exc, ApiError) or exc.reason not in ("BadRequest", "NotFound"):
        return exc
    if flags.selector or flags.field_selector:
        message = (
            f'Unable to find "{_gvr(info)}" that match label selector "{flags.selector}", '
            f'field selector "{flags.field_selector}": {exc.message}'
        )
    else:
        message = f'Unable to list "{_gvr(info)}": {exc.message}'
    return type(exc)(message, exc.details)


def _include_object(flags: _Flags) -> str:
    if flags.sort_by:
        return "Object"
    if flags.all_namespaces or flags.show_labels or flags.label_columns:
        return "Metadata"
    return "None"


def _fetch(
    session: Session, req: _Request, flags: _Flags, *, table: bool
) -> Iterator[dict[str, Any]]:
    """The server's answers for one request: one object or Table for a name, one
    List or Table per page for a list."""
    client = session.client
    namespace = None if flags.all_namespaces else session.namespace
    extra = (("includeObject", _include_object(flags)),) if table else ()
    if req.name is not None:
        spec = client.requests.get(req.info, req.name, session.namespace)
        spec.params += extra
        if table:
            spec.headers["Accept"] = TABLE_ACCEPT
        yield _run(client, spec)
        return
    chunk = 0 if flags.sort_by else flags.chunk_size
    token: str | None = None
    while True:
        spec = client.requests.list(
            req.info,
            namespace,
            label_selector=flags.selector,
            field_selector=flags.field_selector,
            limit=chunk or None,
            continue_token=token,
        )
        spec.params += extra
        if table:
            spec.headers["Accept"] = TABLE_ACCEPT
        try:
            page = _run(client, spec)
        except Exception as exc:
            raise _enhance_list_error(exc, req.info, flags) from None
        yield page
        token = (page.get("metadata") or {}).get("continue")
        if not chunk or not token:
            return


def _is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "reason", "") == "NotFound"


def _report(errors: list[Exception]) -> None:
    """Print collected errors kubectl's way (one per line) and exit 1."""
    from kctl.api.errors import ApiError
    from kctl.cli.errors import format_api_error

    if not errors:
        return
    for exc in errors[:-1]:
        text = format_api_error(exc) if isinstance(exc, ApiError) else f"error: {exc}"
        sys.stderr.write(text + "\n")
    raise errors[-1]


# --- the default (table) output --------------------------------------------------------------


def _print_tables(session: Session, requests: list[_Request], flags: _Flags) -> None:
    from kctl.api.errors import ApiError
    from kctl.cli.printers.sorting import SortError, sort_rows
    from kctl.cli.printers.table import TableOptions, TableOutput, TablePrinter

    tables: list[tuple[ResourceInfo, dict[str, Any]]] = []
    errors: list[Exception] = []
    for req in requests:
        try:
            tables.extend((req.info, t) for t in _fetch(session, req, flags, table=True))
        except ApiError as exc:
            if not (flags.ignore_not_found and _is_not_found(exc)):
                errors.append(exc)
    show_kind = flags.show_kind or len({t[0] for t in tables}) > 1
    if flags.sort_by and len(tables) > 1:
        try:
            for _, table in tables:
                if table.get("rows"):
                    table["rows"] = sort_rows(table["rows"], flags.sort_by, strict=True)
        except SortError as exc:
            raise CliError(str(exc)) from None

    out = TableOutput(sys.stdout, no_headers=flags.no_headers)
    printer: TablePrinter | None = None
    last: ResourceInfo | None = None
    all_namespaced = not flags.all_namespaces
    for info, table in tables:
        all_namespaced = all_namespaced and info.namespaced
        if printer is None or last is None or info.resource != last.resource:
            out.new_type()
            kind = f"{info.kind}.{info.group}" if info.group else info.kind
            printer = TablePrinter(
                TableOptions(
                    wide=flags.output.wide,
                    no_headers=flags.no_headers,
                    with_namespace=flags.all_namespaces and info.namespaced,
                    kind=kind.lower() if show_kind else "",
                    show_labels=flags.show_labels,
                    label_columns=flags.label_columns,
                )
            )
            last = info
        if flags.sort_by and len(table.get("rows") or []) > 1:
            try:
                rows = sort_rows(table["rows"], flags.sort_by)
            except SortError as exc:
                raise CliError(str(exc)) from None
            if rows is None:  # kubectl prints nothing for this table
                continue
            table = {**table, "rows": rows}
        out.add(printer.rows(table))
    out.flush()
    if not out.written and not flags.ignore_not_found and not errors:
        if all_namespaced:
            sys.stderr.write(f"No resources found in {session.namespace} namespace.\n")
        else:
            sys.stderr.write("No resources found\n")
    _report(errors)


# --- every other output --------------------------------------------------------------------


def _items(info: ResourceInfo, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """A List's items with ``apiVersion``/``kind`` filled in (the server may omit them)."""
    if "items" not in answer:
        return [answer]
    out = []
    for item in answer.get("items") or []:
        if "kind" not in item or "apiVersion" not in item:
            item = {"apiVersion": info.api_version, "kind": info.kind, **item}
        out.append(item)
    return out


def _print_objects(session: Session, requests: list[_Request], single: bool, flags: _Flags) -> None:
    from kctl.api.errors import ApiError
    from kctl.cli.printers.output import object_printer
    from kctl.cli.printers.sorting import SortError, sort_objects

    printer = object_printer(
        flags.output, no_headers=flags.no_headers, show_managed_fields=flags.show_managed_fields
    )
    items: list[dict[str, Any]] = []
    errors: list[Exception] = []
    for req in requests:
        try:
            for answer in _fetch(session, req, flags, table=False):
                items.extend(_items(req.info, answer))
        except ApiError as exc:
            if flags.ignore_not_found and _is_not_found(exc):
                continue
            if single:
                raise
            errors.append(exc)
    if not items and flags.ignore_not_found:
        _report(errors)
        return
    obj: dict[str, Any]
    if single and len(items) == 1:
        obj = items[0]
    else:
        if flags.sort_by and items:
            try:
                items = sort_objects(items, flags.sort_by)
            except SortError as exc:
                raise CliError(str(exc)) from None
        obj = {
            "apiVersion": "v1",
            "kind": "List",
            "items": items,
            "metadata": {"resourceVersion": ""},
        }
    printer.print(obj, sys.stdout)
    sys.stdout.flush()
    _report(errors)


# --- watch ----------------------------------------------------------------------------------


def _watch(
    session: Session,
    requests: list[_Request],
    type_words: int,
    flags: _Flags,
    watch_only: bool,
    output_events: bool,
) -> None:
    from kctl.cli.printers.output import object_printer, watch_event
    from kctl.cli.printers.table import TableOptions, TableOutput, TablePrinter

    if type_words > 1:
        raise CliError("you may only specify a single resource type")
    if len(requests) > 1:
        raise CliError(
            "watch is only supported on individual resources and resource collections - "
            "more than 1 resource was found"
        )
    if flags.sort_by:
        sys.stderr.write("warning: --watch or --watch-only requested, --sort-by will be ignored\n")
        flags.sort_by = ""
    req = requests[0]
    table = flags.output.is_table
    first = next(_fetch(session, req, dataclasses.replace(flags, chunk_size=0), table=table))
    rv = str((first.get("metadata") or {}).get("resourceVersion") or "")
    field_selector = flags.field_selector
    if req.name is not None:
        rv = "0"  # a single object: the watch starts with a synthetic ADDED, not printed
        field_selector = f"metadata.name={req.name}"

    if table:
        out = TableOutput(sys.stdout, no_headers=flags.no_headers)
        out.new_type()
        printer = TablePrinter(
            TableOptions(
                wide=flags.output.wide,
                no_headers=flags.no_headers,
                with_namespace=flags.all_namespaces and req.info.namespaced,
                show_labels=flags.show_labels,
                label_columns=flags.label_columns,
            )
        )

        def show(kind: str, obj: dict[str, Any]) -> None:
            out.add(printer.rows(obj, kind if output_events else ""))
            out.flush()

        if not watch_only:
            show("ADDED", first)
    else:
        obj_printer = object_printer(
            flags.output, no_headers=flags.no_headers, show_managed_fields=flags.show_managed_fields
        )

        def show(kind: str, obj: dict[str, Any]) -> None:
            obj_printer.print(watch_event(kind, obj) if output_events else obj, sys.stdout)
            sys.stdout.flush()

        if not watch_only:
            for item in _items(req.info, first):
                show("ADDED", item)

    skip_first = req.name is not None
    namespace = None if flags.all_namespaces else session.namespace
    try:
        for kind, obj in _events(
            session, req.info, namespace, rv, flags.selector, field_selector, table
        ):
            if kind == "BOOKMARK":
                continue
            if skip_first:
                skip_first = False
                continue
            show(kind, obj)
    except KeyboardInterrupt:
        raise typer.Exit(1) from None


def _events(
    session: Session,
    info: ResourceInfo,
    namespace: str | None,
    rv: str,
    selector: str,
    field_selector: str,
    table: bool,
) -> Iterator[tuple[str, dict[str, Any]]]:
    client = session.client
    if not table:
        yield from client.watch(
            info,
            namespace,
            resource_version=rv,
            label_selector=selector,
            field_selector=field_selector,
            allow_bookmarks=False,
        )
        return
    from kctl.client.http import StreamSpec, parse_watch_line

    def build() -> RequestSpec:
        spec = client.requests.watch(
            info,
            namespace,
            resource_version=rv,
            label_selector=selector,
            field_selector=field_selector,
            allow_bookmarks=False,
        )
        spec.headers["Accept"] = TABLE_ACCEPT
        return spec

    # As _run: a Table watch needs its own Accept header.
    yield from client._stream(StreamSpec(build, parse_watch_line))


# --- the command ------------------------------------------------------------------------------


@app.command("get", context_settings={"help_option_names": ["-h", "--help"]})
def get(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="TYPE[,TYPE...] [NAME...] or TYPE/NAME...", show_default=False),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="Output format: json|yaml|name|wide|jsonpath=...|jsonpath-as-json=...|jsonpath-file=...|custom-columns=...|custom-columns-file=...",
        ),
    ] = None,
    selector: Annotated[
        str, typer.Option("-l", "--selector", help="Selector (label query) to filter on.")
    ] = "",
    field_selector: Annotated[
        str, typer.Option("--field-selector", help="Selector (field query) to filter on.")
    ] = "",
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="List across all namespaces.")
    ] = False,
    show_labels: Annotated[
        bool, typer.Option("--show-labels", help="Show all labels as the last column.")
    ] = False,
    label_columns: Annotated[
        list[str] | None,
        typer.Option(
            "-L", "--label-columns", help="Labels to show as columns (comma-separated, repeatable)."
        ),
    ] = None,
    sort_by: Annotated[
        str,
        typer.Option("--sort-by", help="Sort by a JSONPath expression, e.g. '{.metadata.name}'."),
    ] = "",
    watch: Annotated[
        bool, typer.Option("-w", "--watch", help="After listing/getting, watch for changes.")
    ] = False,
    watch_only: Annotated[
        bool, typer.Option("--watch-only", help="Watch for changes without listing first.")
    ] = False,
    output_watch_events: Annotated[
        bool, typer.Option("--output-watch-events", help="Output watch event objects with --watch.")
    ] = False,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="Don't print headers.")] = False,
    ignore_not_found: Annotated[
        bool,
        typer.Option("--ignore-not-found", help="Exit 0 if the requested object does not exist."),
    ] = False,
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size", help="Return large lists in chunks of this size (0: all at once)."
        ),
    ] = DEFAULT_CHUNK_SIZE,
    show_kind: Annotated[
        bool, typer.Option("--show-kind", help="Show the resource type with each name.")
    ] = False,
    show_managed_fields: Annotated[
        bool,
        typer.Option("--show-managed-fields", help="Keep managedFields in JSON and YAML output."),
    ] = False,
) -> None:
    """Display one or many resources."""
    import gc

    from kctl.cli.printers.output import parse_output
    from kctl.cli.session import current

    out = parse_output(output)
    if show_labels and not out.is_table:
        raise CliError(f"--show-labels option cannot be used with {out.format} printer")
    if output_watch_events and not (watch or watch_only):
        raise CliError("--output-watch-events option can only be used with --watch or --watch-only")
    flags = _Flags(
        output=out,
        selector=selector,
        field_selector=field_selector,
        all_namespaces=all_namespaces,
        show_labels=show_labels,
        label_columns=tuple(k for value in label_columns or [] for k in value.split(",") if k),
        sort_by=sort_by,
        no_headers=no_headers,
        ignore_not_found=ignore_not_found,
        show_kind=show_kind,
        show_managed_fields=show_managed_fields,
        chunk_size=max(chunk_size, 0),
    )
    session = current()
    requests, single, type_words = plan(session, list(args or []))
    # Decoding a large answer creates hundreds of thousands of small objects; the
    # cyclic collector would rescan them many times over for nothing (no cycles here).
    gc.disable()
    if watch or watch_only:
        _watch(session, requests, type_words, flags, watch_only, output_watch_events)
    elif out.is_table:
        _print_tables(session, requests, flags)
    else:
        _print_objects(session, requests, single, flags)
