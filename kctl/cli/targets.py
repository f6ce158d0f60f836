"""The objects a verb acts on, named the kubectl way, and its per-object failures.

Every object-acting verb (scale, label, annotate, rollout, wait...) takes the same
arguments: ``TYPE NAME...``, ``TYPE/NAME...``, ``TYPE1,TYPE2 NAME``, or ``TYPE`` with
``-l SELECTOR`` / ``--all``, and kubectl's resource builder checks them with fixed
messages users search for. :func:`parse` applies those rules once; :func:`visit`
fetches the objects in argument order and *continues on error*, as kubectl's builder
does, so ``kctl label deploy web nope x=1`` labels ``web`` and then reports ``nope``.

:class:`Failures` collects those per-object errors and prints them at the end the way
kubectl's ``CheckErr`` prints an aggregate: one error as usual (``error: ...`` or
``Error from server (NotFound): ...``), several errors one per line, API errors in
their ``Error from server`` form and the others as bare messages. Exit code 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.cli.session import Session

MISSING_RESOURCES = (
    "You must provide one or more resources by argument or filename.\n"
    "Example resource specifications include:\n"
    "   '-f rsrc.yaml'\n"
    "   '--filename=rsrc.json'\n"
    "   '<resource> <name>'\n"
    "   '<resource>'"
)
_TYPE_WITH_SLASH_FORM = (
    "there is no need to specify a resource type as a separate argument when passing "
    "arguments in resource/name form (e.g. 'kctl get resource/<resource_name>' instead of "
    "'kctl get resource resource/<resource_name>'"
)


@dataclass(frozen=True)
class Ref:
    """One thing the user named: an object (``name``) or every object of a type
    matching the selector (``name is None``)."""

    info: ResourceInfo
    name: str | None


@dataclass(frozen=True)
class Selection:
    refs: tuple[Ref, ...]
    selector: str | None
    single: bool  # exactly one object was named (kubectl's "single item implied")


@dataclass
class Found:
    """An object fetched from the server, with the kind it was fetched as."""

    info: ResourceInfo
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        return self.obj.get("metadata", {}).get("namespace")

    @property
    def qualified(self) -> str:
        """kubectl's name-printer form: ``deployment.apps/web``, ``pod/p1``."""
        return qualified_name(self.info, self.name)

    @property
    def resource_ref(self) -> str:
        """``deployments/web``: the form kubectl uses in wait's messages."""
        return f"{self.info.plural}/{self.name}"


def qualified_name(info: ResourceInfo, name: str) -> str:
    """``deployment.apps/web`` for an object known by its kind and name."""
    from kctl.cli.printers.name import name_of

    return name_of({"kind": info.kind, "apiVersion": info.api_version, "metadata": {"name": name}})


def parse(
    session: Session,
    args: Sequence[str],
    *,
    selector: str | None = None,
    all_: bool = False,
    missing: str = MISSING_RESOURCES,
    bare_type_selects_all: bool = False,
) -> Selection:
    """Check and resolve resource arguments with kubectl's rules and messages.
    ``bare_type_selects_all``: ``TYPE`` alone means every object of it (rollout)."""
    if not args:
        raise CliError(missing)
    with_slash = [a for a in args if "/" in a]
    if with_slash:
        if len(with_slash) != len(args):
            raise CliError(_TYPE_WITH_SLASH_FORM)
        if selector or all_:
            raise CliError(
                "selectors and the all flag cannot be used when passing resource/name arguments"
            )
        refs = []
        for arg in args:
            word, _, name = arg.partition("/")
            if not word or not name or "/" in name:
                raise CliError(
                    f"arguments in resource/name form must have a single resource and name: {arg}"
                )
            refs.append(Ref(session.resolve(word), name))
        return Selection(tuple(refs), None, len(refs) == 1)
    infos = [session.resolve(word) for word in args[0].split(",") if word]
    names = list(args[1:])
    if names and selector:
        raise CliError("name cannot be provided when a selector is specified")
    if not names:
        if not selector and not all_ and not bare_type_selects_all:
            raise CliError("resource(s) were provided, but no name was specified")
        return Selection(tuple(Ref(info, None) for info in infos), selector, False)
    refs = [Ref(info, name) for info in infos for name in names]
    return Selection(tuple(refs), None, len(refs) == 1)


def visit(session: Session, selection: Selection) -> Iterator[Found | Exception]:
    """The selected objects in argument order; a failed GET or LIST is yielded (not
    raised) so the caller goes on with the rest, as kubectl does."""
    from kctl.api.errors import ApiError, NotFound

    client, namespace = session.client, session.namespace
    for ref in selection.refs:
        ns = namespace if ref.info.namespaced else None
        try:
            if ref.name is not None:
                yield Found(ref.info, client.get(ref.info, ref.name, ns))
                continue
            listing = client.list(ref.info, ns, label_selector=selection.selector)
        except NotFound as exc:
            yield _missing_namespace(session, ns) or exc
            continue
        except ApiError as exc:
            yield exc
            continue
        for item in listing.get("items") or []:
            yield Found(ref.info, item)


class Printer:
    """How a verb reports an object it acted on: ``deployment.apps/web scaled`` by
    default, or any object format of ``-o`` (name, yaml, json, jsonpath...), through the
    shared printers, as kubectl's PrintFlags do. Built before any request, so a bad
    ``-o`` fails first."""

    def __init__(self, output: str | None) -> None:
        from kctl.cli.printers.output import object_printer, parse_output

        self.printer = None
        if output:
            parsed = parse_output(output)
            if parsed.is_table:
                raise CliError(
                    f'unable to match a printer suitable for the output format "{output}", '
                    "allowed formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,name,yaml"
                )
            self.printer = object_printer(parsed)

    def print(self, found: Found, operation: str, obj: dict[str, Any] | None = None) -> None:
        """``obj``: what to print in an object format (default: the object as read)."""
        if self.printer is None:
            typer.echo(f"{found.qualified} {operation}")
            return
        body = dict(obj or found.obj)
        body.setdefault("kind", found.info.kind)
        body.setdefault("apiVersion", found.info.api_version)
        self.printer.print(body, sys.stdout)


def _missing_namespace(session: Session, namespace: str | None) -> Exception | None:
    """When an object is not found, kubectl says so about its namespace if that is
    what is missing (``namespaces "x" not found``)."""
    from kctl.api.errors import ApiError, NotFound

    if not namespace:
        return None
    try:
        session.client.get(session.resolve("namespaces"), namespace)
    except NotFound as exc:
        return exc
    except ApiError:
        return None
    return None


def no_resources_found(session: Session, selection: Selection) -> None:
    """kubectl's note (on stderr) when a selector or ``--all`` matched nothing."""
    if any(ref.info.namespaced for ref in selection.refs):
        print(f"No resources found in {session.namespace} namespace.", file=sys.stderr)
    else:
        print("No resources found", file=sys.stderr)


@dataclass
class Failures:
    """Per-object errors, reported together at the end (kubectl's aggregate)."""

    items: list[tuple[Exception, str | None]] = field(default_factory=list)

    def add(self, exc: Exception, line: str | None = None) -> None:
        """``line``: how the error reads among several (default: its own message)."""
        self.items.append((exc, line))

    def __bool__(self) -> bool:
        return bool(self.items)

    def summary(self) -> str:
        """The errors as one message: ``msg`` or ``[msg1, msg2]`` (Go's aggregate)."""
        messages = [str(exc) for exc, _ in self.items]
        return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"

    def exit_if_any(self) -> None:
        """Print the collected errors and exit 1; return quietly when there are none."""
        if not self.items:
            return
        from kctl.api.errors import ApiError
        from kctl.cli.errors import format_api_error, report

        if len(self.items) == 1:
            from kctl.cli.session import current

            raise typer.Exit(report(self.items[0][0], current().flags.verbosity))
        for exc, line in self.items:
            if line is None:
                line = format_api_error(exc) if isinstance(exc, ApiError) else str(exc)
            print(line, file=sys.stderr)
        raise typer.Exit(1)
