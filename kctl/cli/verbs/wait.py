"""``kctl wait TYPE/NAME --for=...``: block until objects reach a state, as kubectl.

``--for`` takes kubectl's forms:

* ``condition=Available`` (or ``=False``...): an entry of ``status.conditions`` with that
  type (case-insensitive) and status; ignored while the object's
  ``status.observedGeneration`` (or the condition's own) lags ``metadata.generation``,
  so a stale "Available" from before an update does not count;
* ``jsonpath='{.status.readyReplicas}'=3``: the expression yields exactly one scalar
  equal to the value (``jsonpath='{...}'`` alone: yields anything);
* ``delete``: the object is gone (or replaced: a new UID); absent from the start is
  success, silently, as kubectl does;
* ``create``: the object exists.

Each object is followed by list+watch (:func:`kctl.cli.watching.follow`) under one
deadline shared by all of them (``--timeout``, default 30s; 0 checks once; negative
waits a week). Success prints ``deployment.apps/web condition met``; a timeout is
``error: timed out waiting for the condition on deployments/web``, exit 1.

JSONPath is client-go's dialect (:mod:`kctl.cli.printers.jsonpath`, the ``-o jsonpath``
engine), with missing keys allowed: a path that selects nothing is "not yet".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.completion import complete_resources
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.cli.session import Session
    from kctl.cli.targets import Failures, Found, Printer, Ref
    from kctl.cli.watching import Deadline

A_WEEK = 7 * 24 * 3600.0


# --- the condition -----------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """What ``--for`` asks: ``kind`` is delete | create | condition | jsonpath."""

    kind: str
    name: str = ""  # condition type
    value: str | None = None  # wanted status / jsonpath value (None: any)
    path: str = ""  # jsonpath expression without braces


def parse_for(text: str) -> Condition:
    lowered = text.lower()
    if lowered in ("delete", "create"):
        return Condition(lowered)
    if lowered.startswith("condition="):
        name, eq, value = text[len("condition=") :].partition("=")
        return Condition("condition", name=name, value=value if eq else "true")
    if lowered.startswith("jsonpath="):
        expr = text[len("jsonpath=") :]
        path, wanted = _split_jsonpath(expr)
        _jsonpath(path)
        return Condition("jsonpath", path=path, value=wanted)
    raise CliError(f'unrecognized condition: "{text}"')


def _split_jsonpath(expr: str) -> tuple[str, str | None]:
    """``{.a.b}=v`` / ``.a.b=v`` / ``{.a}`` -> (".a.b", "v" | None): kubectl's forms."""
    if expr.startswith("{"):
        end = expr.find("}")
        if end < 0:
            raise CliError(f"unclosed action in jsonpath {expr}")
        path, rest = expr[1:end], expr[end + 1 :]
    else:
        path, eq, after = expr.partition("=")
        rest = "=" + after if eq else ""
    if rest and not rest.startswith("="):
        raise CliError("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3")
    if not path.strip("{} "):
        raise CliError("jsonpath expression cannot be empty")
    value = rest[1:] if rest else None
    if value == "":
        raise CliError("jsonpath wait has to have a value after equal sign")
    return path.strip(), value


def _condition_met(obj: dict[str, Any], cond: Condition) -> bool:
    generation = obj.get("metadata", {}).get("generation")
    status = obj.get("status") or {}
    for entry in status.get("conditions") or []:
        if str(entry.get("type", "")).lower() != cond.name.lower() or "status" not in entry:
            continue
        if generation is not None:
            observed = entry.get("observedGeneration", status.get("observedGeneration"))
            if observed is not None and int(observed) < int(generation):
                return False
        return str(entry["status"]).lower() == (cond.value or "").lower()
    return False


def _jsonpath(path: str) -> Any:
    """The parsed expression (kubectl parses it before waiting: errors come first)."""
    from kctl.cli.printers.jsonpath import JSONPath, JSONPathError, relaxed

    try:
        return JSONPath(relaxed(path))
    except JSONPathError as exc:
        raise CliError(str(exc)) from None


def _jsonpath_met(obj: dict[str, Any], cond: Condition) -> bool:
    from kctl.cli.printers.gofmt import sprint
    from kctl.cli.printers.jsonpath import JSONPathError

    try:
        results = _jsonpath(cond.path).find_results(obj)
    except JSONPathError as exc:
        raise CliError(str(exc)) from None
    if not results or not results[0]:
        return False
    if len(results) > 1:
        raise CliError("given jsonpath expression matches more than one list")
    if len(results[0]) > 1:
        raise CliError("given jsonpath expression matches more than one value")
    if cond.value is None:
        return True
    value = results[0][0]
    if isinstance(value, (dict, list)):
        raise CliError("jsonpath leads to a nested object or list which is not supported")
    return sprint(value).strip() == cond.value.strip()  # fmt's %v, as kubectl compares


def checker(cond: Condition) -> Callable[[dict[str, Any]], bool]:
    if cond.kind == "condition":
        return lambda obj: _condition_met(obj, cond)
    if cond.kind == "jsonpath":
        return lambda obj: _jsonpath_met(obj, cond)
    return lambda obj: True  # create: existing is enough


# --- the command ---------------------------------------------------------------------------


@app.command(cls=KubectlCommand)
def wait(
    resources: Annotated[
        list[str] | None,
        typer.Argument(metavar="(TYPE NAME | TYPE/NAME)...", autocompletion=complete_resources),
    ] = None,
    for_: Annotated[
        str,
        typer.Option(
            "--for", help="delete | create | condition=NAME[=VALUE] | jsonpath='{EXPR}'[=VALUE]"
        ),
    ] = "",
    timeout: Annotated[
        str,
        typer.Option(
            "--timeout", help="Give up after this long (0: check once, negative: a week)."
        ),
    ] = "30s",
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Label query selecting the objects.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every object of the given types.")] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="name, yaml, json, jsonpath=...: print the objects so."
        ),
    ] = None,
) -> None:
    """Wait for a condition on one or many objects."""
    from kctl.api.errors import ApiError, NotFound
    from kctl.cli import targets
    from kctl.cli.session import current
    from kctl.cli.watching import Deadline, parse_duration

    cond = parse_for(for_)
    try:
        seconds = parse_duration(timeout)
    except ValueError as exc:
        raise CliError(f'invalid argument "{timeout}" for "--timeout" flag: {exc}') from None
    printer = targets.Printer(output)
    session = current()
    selection = targets.parse(session, resources or [], selector=selector, all_=all_)
    deadline = Deadline(A_WEEK if seconds < 0 else seconds)
    failures = targets.Failures()
    visited = 0
    named = {ref.name: ref for ref in selection.refs if ref.name is not None}
    for item in targets.visit(session, selection):
        if isinstance(item, NotFound) and cond.kind in ("delete", "create"):
            ref = named.get(str(item.details.get("name")))
            if cond.kind == "create" and ref is not None:
                visited += 1
                _wait_for_creation(session, ref, deadline, printer, failures)
            continue  # deleting something absent: nothing to wait for
        if isinstance(item, Exception):
            failures.add(item)
            continue
        visited += 1
        try:
            final = _wait_one(session, item, cond, deadline)
            if final is not None:
                printer.print(item, "condition met", final)
            elif seconds == 0:  # checked once, as asked
                failures.add(CliError(f"condition not met for {item.resource_ref}"))
            else:
                failures.add(
                    CliError(f"timed out waiting for the condition on {item.resource_ref}")
                )
        except (CliError, ApiError) as exc:
            failures.add(exc)
    if visited == 0 and not failures and cond.kind != "delete":
        raise CliError("no matching resources found")
    failures.exit_if_any()


def _wait_one(
    session: Session, target: Found, cond: Condition, deadline: Deadline
) -> dict[str, Any] | None:
    """Follow one object until the condition holds (its last state) or the deadline
    passes (None)."""
    from kctl.cli.progress import progress
    from kctl.cli.watching import SYNCED, follow

    check = checker(cond)
    uid = target.obj.get("metadata", {}).get("uid")
    what = (
        cond.kind if cond.kind in ("delete", "create") else f"{cond.kind}={cond.name or cond.path}"
    )
    with progress() as shown:
        shown.note(f"waiting for {target.resource_ref} ({what})")
        present = False
        for etype, obj in follow(
            session.client, target.info, target.namespace, deadline, name=target.name
        ):
            if etype == SYNCED:
                if cond.kind == "delete" and not present:
                    return target.obj  # gone between the GET and the list
                continue
            replaced = obj.get("metadata", {}).get("uid") != uid
            if cond.kind == "delete":
                if etype == "DELETED" or replaced:
                    return obj
                present = True
                continue
            if etype == "DELETED":
                if cond.kind == "create":
                    continue
                raise CliError(f"{target.qualified} was deleted while waiting")
            if check(obj):
                return obj
    return None


def _wait_for_creation(
    session: Session, ref: Ref, deadline: Deadline, printer: Printer, failures: Failures
) -> None:
    """``--for=create`` on a named object that does not exist yet: watch for it."""
    from kctl.cli.targets import Found
    from kctl.cli.watching import follow

    assert ref.name is not None
    for etype, obj in follow(session.client, ref.info, session.namespace, deadline, name=ref.name):
        if etype in ("ADDED", "MODIFIED"):
            printer.print(Found(ref.info, obj), "condition met")
            return
    failures.add(CliError(f"timed out waiting for the condition on {ref.info.plural}/{ref.name}"))
