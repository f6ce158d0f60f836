"""``label`` and ``annotate``: one implementation of editing a metadata string map.

Both verbs read the objects, add ``key=value`` pairs and remove ``key-`` ones, refuse
to change an existing value without ``--overwrite``, and send a JSON merge patch
(``application/merge-patch+json``, ``fieldManager=kubectl-label|kubectl-annotate``)
holding only the changed keys (``null`` removes), plus ``metadata.resourceVersion``
when ``--resource-version`` asks for an optimistic lock. They differ only in wording
and a few rules, which :class:`MapEdit` carries:

* how pairs are parsed (a label value is validated on the client, ``a=b=c`` is an
  invalid label but a valid annotation ``a`` = ``b=c``);
* the overwrite error (``'team' already has a value (blue), and --overwrite is false``
  vs ``--overwrite is false but found the following declared annotation(s): ...``;
  ``kubernetes.io/change-cause`` may always be overwritten);
* the result word: ``labeled`` / ``not labeled`` / ``unlabeled`` (kubectl compares the
  JSON of the object before and after, so ``unlabeled`` means "it got shorter") vs
  always ``annotated``; ``label`` also notes removals of absent keys
  (``label "x" not found.``).
"""

# No ``from __future__ import annotations``: make_command's signature is read by typer
# at run time and names help texts from the closure.
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.completion import complete_resources
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.cli.session import Session
    from kctl.cli.targets import Found, Printer

CHANGE_CAUSE = "kubernetes.io/change-cause"

Pairs = tuple[dict[str, str], list[str]]


class OverwriteRefused(CliError):
    """A key already has another value and ``--overwrite`` was not given."""


@dataclass(frozen=True)
class MapEdit:
    """What distinguishes ``label`` from ``annotate``."""

    field: str  # metadata.<field>
    noun: str  # label | annotation
    field_manager: str
    parse: Callable[[Sequence[str]], Pairs]
    overwrite_error: Callable[[dict[str, str], dict[str, str]], str | None]
    outcome: Callable[[int, int, bool, bool], str]  # old len, new len, changed, overwrite
    note_missing_removals: bool


def split_args(args: Sequence[str], noun: str) -> tuple[list[str], list[str]]:
    """``deploy web a=1 b-`` -> resources, pairs (kubectl's GetResourcesAndPairs)."""
    resources: list[str] = []
    pairs: list[str] = []
    for arg in args:
        is_pair = ("=" in arg and not arg.startswith("=")) or (arg.endswith("-") and arg != "-")
        if is_pair:
            pairs.append(arg)
        elif pairs:
            raise CliError(f"all resources must be specified before {noun} changes: {arg}")
        else:
            resources.append(arg)
    return resources, pairs


# --- label -------------------------------------------------------------------------------


def _parse_labels(specs: Sequence[str]) -> Pairs:
    from kctl.api.meta import label_value_errors

    new: dict[str, str] = {}
    remove: list[str] = []
    for spec in specs:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise CliError(f"invalid label spec: {spec}")
            errs = label_value_errors(parts[1])
            if errs:
                raise CliError(f'invalid label value: "{spec}": {";".join(errs)}')
            new[parts[0]] = parts[1]
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise CliError(f"unknown label spec: {spec}")
    if any(key in new for key in remove):
        raise CliError("can not both modify and remove a label in the same command")
    return new, remove


def _label_overwrite_error(current: dict[str, str], new: dict[str, str]) -> str | None:
    errors = [
        f"'{key}' already has a value ({current[key]}), and --overwrite is false"
        for key, value in new.items()
        if key in current and current[key] != value
    ]
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _label_outcome(old_len: int, new_len: int, changed: bool, overwrite: bool) -> str:
    if not changed:
        return "not labeled"
    return "unlabeled" if not overwrite and new_len < old_len else "labeled"


LABEL = MapEdit(
    field="labels",
    noun="label",
    field_manager="kubectl-label",
    parse=_parse_labels,
    overwrite_error=_label_overwrite_error,
    outcome=_label_outcome,
    note_missing_removals=True,
)


# --- annotate -----------------------------------------------------------------------------


def _parse_annotations(specs: Sequence[str]) -> Pairs:
    new: dict[str, str] = {}
    remove: list[str] = []
    invalid: list[str] = []
    for spec in specs:
        if "=" in spec and not spec.startswith("="):
            key, _, value = spec.partition("=")
            new[key] = value
        elif spec.endswith("-") and spec != "-":
            remove.append(spec[:-1])
        else:
            invalid.append(spec)
    if invalid:
        raise CliError(f"invalid annotation format: {', '.join(invalid)}")
    both = [key for key in remove if key in new]
    if both:
        raise CliError(
            "can not both modify and remove the following annotation(s) in the same command: "
            + ", ".join(both)
        )
    return new, remove


def _annotation_overwrite_error(current: dict[str, str], new: dict[str, str]) -> str | None:
    found = [
        f"'{key}' already has a value ({current[key]})"
        for key, value in new.items()
        if key != CHANGE_CAUSE and key in current and current[key] != value
    ]
    if not found:
        return None
    return "--overwrite is false but found the following declared annotation(s): " + "; ".join(
        found
    )


ANNOTATE = MapEdit(
    field="annotations",
    noun="annotation",
    field_manager="kubectl-annotate",
    parse=_parse_annotations,
    overwrite_error=_annotation_overwrite_error,
    outcome=lambda old_len, new_len, changed, overwrite: "annotated",
    note_missing_removals=False,
)


# --- the shared command --------------------------------------------------------------------


@dataclass
class EditOptions:
    overwrite: bool = False
    selector: str | None = None
    all_: bool = False
    list_: bool = False
    resource_version: str | None = None
    output: str | None = None
    dry_run: str = "none"


def _encoded_len(values: dict[str, str]) -> int:
    import orjson

    return len(orjson.dumps(values, option=orjson.OPT_SORT_KEYS))


def _merge_patch(old: dict[str, str], new: dict[str, str]) -> dict[str, Any]:
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch


def run(edit: MapEdit, args: Sequence[str], opts: EditOptions) -> None:
    """The whole verb: parse, validate, visit every object, report failures."""
    from kctl.api.errors import ApiError
    from kctl.cli import targets
    from kctl.cli.session import current

    if opts.dry_run not in ("none", "client", "server"):
        raise CliError(
            f'Invalid dry-run value ({opts.dry_run}). Must be "none", "server", or "client".'
        )
    resources, pair_args = split_args(args, edit.noun)
    new, remove = edit.parse(pair_args)
    if opts.list_ and opts.output:
        raise CliError("--list and --output may not be specified together")
    printer = targets.Printer(opts.output)
    if opts.all_ and opts.selector:
        raise CliError("cannot set --all and --selector at the same time")
    if not resources:
        raise CliError(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>"
        )
    if not new and not remove and not opts.list_:
        raise CliError(f"at least one {edit.noun} update is required")

    session = current()
    selection = targets.parse(session, resources, selector=opts.selector, all_=opts.all_)
    if not selection.single and opts.resource_version:
        raise CliError("--resource-version may only be used with a single resource")
    failures = targets.Failures()
    for found in targets.visit(session, selection):
        if isinstance(found, Exception):
            failures.add(found)
            continue
        try:
            _edit_one(session, edit, found, (new, remove), opts, selection.single, printer)
        except (CliError, ApiError) as exc:
            failures.add(exc)
    failures.exit_if_any()


def _edit_one(
    session: "Session",
    edit: MapEdit,
    found: "Found",
    changes: Pairs,
    opts: EditOptions,
    single: bool,
    printer: "Printer",
) -> None:
    new, remove = changes
    meta = found.obj.setdefault("metadata", {})
    old = dict(meta.get(edit.field) or {})
    if not opts.overwrite:
        refused = edit.overwrite_error(old, new)
        if refused:
            raise OverwriteRefused(refused)
    updated = {**old, **new}
    for key in remove:
        updated.pop(key, None)

    if opts.list_:
        _list(edit, found, updated, single)
        return
    if edit.note_missing_removals and opts.dry_run != "client":
        for key in remove:
            if key not in old:
                typer.echo(f'{edit.noun} "{key}" not found.')
    # kubectl compares the object's JSON before and after: a map that was absent is
    # written as {} and a --resource-version is added, both making it "changed"
    present = meta.get(edit.field) is not None
    changed = updated != old or not present or bool(opts.resource_version)
    old_len = _encoded_len(old) if present else 0
    new_len = _encoded_len(updated) + (0 if present else len(edit.field) + 4)
    if opts.resource_version:
        new_len += len(opts.resource_version) + 20
    outcome = edit.outcome(old_len, new_len, changed, opts.overwrite)

    shown = {**found.obj, "metadata": {**meta, edit.field: updated}}
    if opts.dry_run != "client":
        patch_meta: dict[str, Any] = {}
        delta = _merge_patch(old, updated)
        if delta:
            patch_meta[edit.field] = delta
        if opts.resource_version:
            patch_meta["resourceVersion"] = opts.resource_version
        shown = session.client.patch(
            found.info,
            found.name,
            {"metadata": patch_meta} if patch_meta else {},
            found.namespace,
            patch_type="merge",
            field_manager=edit.field_manager,
            dry_run=opts.dry_run == "server",
        )
    suffix = {"none": "", "client": " (dry run)", "server": " (server dry run)"}[opts.dry_run]
    printer.print(found, f"{outcome}{suffix}", shown)


def _list(edit: MapEdit, found: "Found", values: dict[str, str], single: bool) -> None:
    indent = ""
    if not single:
        indent = " "
        kind = found.info.kind
        typer.echo(f"Listing {edit.field} for {kind}.{found.info.group}/{found.name}:")
    for key, value in values.items():
        typer.echo(f"{indent}{key}={value}")


def make_command(edit: MapEdit) -> Callable[..., None]:
    """The typer command for ``edit`` (``label`` or ``annotate``): one signature for both."""
    things = edit.field

    def command(
        args: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="(TYPE NAME | TYPE/NAME)... KEY=VAL... KEY-...",
                help=f"The objects, then the {things} to set (key=value) or remove (key-).",
                autocompletion=complete_resources,
            ),
        ] = None,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help=f"Allow changing existing {things}.")
        ] = False,
        selector: Annotated[
            str | None, typer.Option("--selector", "-l", help="Label query selecting the objects.")
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="Every object of the types.")] = False,
        list_: Annotated[
            bool, typer.Option("--list", help=f"List the {things} instead of changing them.")
        ] = False,
        resource_version: Annotated[
            str | None,
            typer.Option("--resource-version", help="Only if the object is at this version."),
        ] = None,
        output: Annotated[
            str | None, typer.Option("--output", "-o", help="name: print only type/name.")
        ] = None,
        dry_run: Annotated[str, typer.Option("--dry-run", help="none, client or server.")] = "none",
    ) -> None:
        opts = EditOptions(overwrite, selector, all_, list_, resource_version, output, dry_run)
        run(edit, args or [], opts)

    command.__doc__ = f"Add, change or remove {things} of objects."
    return command
