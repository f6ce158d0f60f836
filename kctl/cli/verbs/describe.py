"""``kctl describe``: kubectl's describe, same arguments, same text.

Arguments are read as kubectl reads them: ``TYPE NAME...``, ``TYPE/NAME...``, or a
``TYPE`` (comma-separated types allowed) with ``-l`` to describe every match. Objects
are described in the order kubectl visits them and separated by two blank lines.
kubectl's quirks that users rely on are kept: ``describe pods web`` with no pod named
``web`` describes every pod whose name starts with ``web``; objects that are found
are described even when others are not, and the misses are reported at the end
(exit code 1); no match at all prints ``No resources found in NS namespace.``.

The describers themselves live in :mod:`kctl.cli.describers`, imported when the
command runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.cli.describers.context import DescribeContext
    from kctl.cli.session import Session


@dataclass
class _Request:
    """What the arguments ask for: types, and names (none means "list")."""

    types: list[str]
    names: list[tuple[str, str]]  # (type word, name), in visiting order
    by_name: bool


def _parse_args(args: list[str], selector: str) -> _Request:
    """kubectl's resource-argument rules, with its messages."""
    if any("/" in a for a in args):
        if "/" not in args[0]:
            raise CliError(
                "there is no need to specify a resource type as a separate argument when "
                "passing arguments in resource/name form (e.g. 'kctl get resource/"
                "<resource_name>' instead of 'kctl get resource resource/<resource_name>'"
            )
        if selector:
            raise CliError(
                "selectors and the all flag cannot be used when passing resource/name arguments"
            )
        pairs = []
        for arg in args:
            word, _, name = arg.partition("/")
            if "/" in name:
                raise CliError("arguments in resource/name form may not have more than one slash")
            if not word or not name:
                raise CliError(
                    "arguments in resource/name form must have a single resource and name"
                )
            pairs.append((word, name))
        return _Request([w for w, _ in pairs], pairs, True)
    types = [t for t in args[0].split(",") if t]
    names = args[1:]
    if names and selector:
        raise CliError("name cannot be provided when a selector is specified")
    return _Request(types, [(t, n) for t in types for n in names], bool(names))


def _with_kind(obj: dict[str, Any], info: ResourceInfo) -> dict[str, Any]:
    obj.setdefault("kind", info.kind)
    obj.setdefault("apiVersion", info.api_version)
    return obj


_ALL_NAMESPACES = ("--all-namespaces", "-A")
_TRUE, _FALSE = ("true", "t", "1"), ("false", "f", "0")


class _KubectlBoolFlags(typer.core.TyperCommand):
    """Boolean flags the way kubectl (pflag) takes them: ``--show-events`` alone means
    true and never swallows the next word, ``--show-events=false`` turns it off."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        normalized: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                normalized.extend(args[i:])
                break
            name, eq, value = arg.partition("=")
            if name == "--show-events":
                normalized.append(f"--show-events={value if eq else 'true'}")
            elif name in _ALL_NAMESPACES and eq:
                if value.lower() in _TRUE:
                    normalized.append(name)
                elif value.lower() not in _FALSE:
                    raise typer.BadParameter(f"invalid argument {value!r} for {name}")
            else:
                normalized.append(arg)
        result: list[str] = super().parse_args(ctx, normalized)
        return result


def _show_events_value(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise typer.BadParameter(f"invalid argument {text!r} for --show-events: use true or false")


@app.command(
    "describe",
    cls=_KubectlBoolFlags,
    help="Show details of a specific resource or group of resources, as kubectl describe does.",
)
def describe(
    args: Annotated[list[str] | None, typer.Argument(help="TYPE [NAME...] or TYPE/NAME...")] = None,
    selector: Annotated[
        str, typer.Option("--selector", "-l", help="Label selector (e.g. -l app=web).")
    ] = "",
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Across all namespaces.")
    ] = False,
    show_events: Annotated[
        str,
        typer.Option(
            "--show-events", help="Show events related to the described object (true|false)."
        ),
    ] = "true",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="List in chunks of this many objects (0: all).")
    ] = 500,
) -> None:
    from kctl.cli.session import current

    if not args:
        raise CliError(
            'You must specify the type of resource to describe. Use "kctl api-resources" for a '
            "complete list of supported resources."
        )
    session = current()
    request = _parse_args(args, selector)
    if request.by_name and all_namespaces:
        raise CliError("a resource cannot be retrieved by name across all namespaces")
    _run(
        session,
        args,
        request,
        selector,
        all_namespaces,
        _show_events_value(show_events),
        chunk_size,
    )


def _run(
    session: Session,
    args: list[str],
    request: _Request,
    selector: str,
    all_namespaces: bool,
    show_events: bool,
    chunk_size: int,
) -> None:
    from kctl.api.errors import ApiError, NotFound
    from kctl.cli.describers import DescribeContext, describe

    infos = {word: session.resolve(word) for word in request.types}
    ctx = DescribeContext(session.client, session.registry, show_events, chunk_size)
    namespace = session.namespace

    found: list[tuple[ResourceInfo, dict[str, Any]]] = []
    errors: list[Exception] = []
    if request.by_name:
        for word, name in request.names:
            info = infos[word]
            try:
                obj = session.client.get(info, name, namespace if info.namespaced else None)
                found.append((info, _with_kind(obj, info)))
            except ApiError as exc:
                errors.append(exc)
        if len(args) == 2 and any(isinstance(e, NotFound) for e in errors):
            _describe_matching(ctx, args, infos, namespace, errors)
            return
    else:
        for word in request.types:
            info = infos[word]
            scope = None if all_namespaces or not info.namespaced else namespace
            try:
                listed = ctx.list_all(info, scope, label_selector=selector or None)
            except ApiError as exc:
                errors.append(exc)
                continue
            found.extend((info, _with_kind(obj, info)) for obj in listed)

    first = True
    seen: set[str] = set()
    for info, obj in found:
        try:
            text = describe(ctx, info.group, obj)
        except ApiError as exc:
            if str(exc) not in seen:
                seen.add(str(exc))
                errors.append(exc)
            continue
        sys.stdout.write(text if first else "\n\n" + text)
        first = False
    sys.stdout.flush()
    if not found and not errors:
        where = "" if all_namespaces else f" in {namespace} namespace."
        print(f"No resources found{where}", file=sys.stderr)
    _fail_on(errors)


def _describe_matching(
    ctx: DescribeContext,
    args: list[str],
    infos: dict[str, ResourceInfo],
    namespace: str,
    errors: list[Exception],
) -> None:
    """kubectl's fallback for ``describe TYPE NAME`` with no object ``NAME``: describe
    every object of TYPE whose name starts with NAME, each followed by a blank line."""
    from kctl.cli.describers import describe

    word, prefix = args
    if "/" in word or "," in word:
        _fail_on(errors)
        return
    info = infos[word]
    matched = False
    for obj in ctx.list_all(info, namespace if info.namespaced else None):
        if str((obj.get("metadata") or {}).get("name", "")).startswith(prefix):
            matched = True
            sys.stdout.write(describe(ctx, info.group, _with_kind(obj, info)) + "\n")
    sys.stdout.flush()
    if not matched:
        _fail_on(errors)


def _fail_on(errors: list[Exception]) -> None:
    """Report every error kubectl's way, one per line, and exit 1."""
    if not errors:
        return
    from kctl.api.errors import ApiError
    from kctl.cli.errors import format_api_error

    for exc in errors:
        text = format_api_error(exc) if isinstance(exc, ApiError) else f"error: {exc}"
        print(text, file=sys.stderr)
    raise typer.Exit(1)
