"""``-o/--output``: which format, and a printer for it.

Every verb that prints objects (``get``, ``create -o``, ``apply -o``...) accepts
kubectl's ``-o`` values and should print them alike, so the parsing and the printers
for whole objects live here: :func:`parse_output` validates the flag with kubectl's
messages, :func:`object_printer` returns something with ``print(obj, out)`` for every
non-table format. A printer is stateful where kubectl's is (YAML puts ``---`` between
documents, custom-columns prints its header once), so a watch reuses one printer.

A watch event with ``--output-watch-events`` is passed as ``{"type": ..., "object":
...}`` with :func:`watch_event`; JSON prints it on one line, like kubectl.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from kctl.cli.errors import CliError

ALLOWED = (
    "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,"
    "jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"
)
_TEMPLATED = (
    "jsonpath",
    "jsonpath-as-json",
    "jsonpath-file",
    "custom-columns",
    "custom-columns-file",
    "go-template",
    "go-template-file",
    "template",
    "templatefile",
)


@dataclass(frozen=True)
class Output:
    """A parsed ``-o`` value: ``format`` ("" for the default table) and its argument."""

    format: str = ""
    argument: str = ""

    @property
    def is_table(self) -> bool:
        return self.format in ("", "wide")

    @property
    def wide(self) -> bool:
        return self.format == "wide"


def parse_output(value: str | None) -> Output:
    """``-o`` as kubectl reads it; unknown formats fail with kubectl's message."""
    value = value or ""
    fmt, sep, arg = value.partition("=")
    if fmt in ("", "wide", "yaml", "json", "name") and not sep:
        return Output(fmt)
    if fmt in _TEMPLATED:
        if fmt.startswith(("go-template", "template")):
            raise CliError(f"the {fmt} output format is not supported by kctl; use jsonpath")
        if not arg:
            if fmt.startswith("custom-columns"):
                raise CliError("custom-columns format specified but no custom columns given")
            raise CliError("template format specified but no template given")
        return Output(fmt, arg)
    raise CliError(
        f'unable to match a printer suitable for the output format "{value}", '
        f"allowed formats are: {ALLOWED}"
    )


class ObjectPrinter(Protocol):
    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None: ...


def watch_event(event_type: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What ``--output-watch-events`` prints for one event."""
    return {"type": event_type, "object": obj}


def _is_event(obj: Mapping[str, Any]) -> bool:
    return set(obj) == {"type", "object"}


def without_managed_fields(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """kubectl hides ``metadata.managedFields`` in YAML and JSON unless asked."""
    if _is_event(obj):
        return {"type": obj["type"], "object": without_managed_fields(obj["object"])}
    items = obj.get("items")
    if isinstance(items, list):
        return {**obj, "items": [without_managed_fields(i) for i in items]}
    meta = obj.get("metadata")
    if isinstance(meta, Mapping) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def list_items(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A List's items, or the object itself."""
    items = obj.get("items")
    if isinstance(items, list) and str(obj.get("kind", "")).endswith("List"):
        return items
    return [obj]


class YamlPrinter:
    def __init__(self, show_managed_fields: bool = False) -> None:
        self.show_managed_fields = show_managed_fields
        self.count = 0

    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None:
        from kctl.cli.printers import yaml
        from kctl.cli.printers.yaml import YamlError

        if not self.show_managed_fields:
            obj = without_managed_fields(obj)
        try:
            text = yaml.dumps(obj)
        except YamlError as exc:
            raise CliError(str(exc)) from None
        self.count += 1
        out.write(("---\n" if self.count > 1 else "") + text)


class JsonPrinter:
    def __init__(self, show_managed_fields: bool = False) -> None:
        self.show_managed_fields = show_managed_fields

    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None:
        from kctl.cli.printers import json

        if not self.show_managed_fields:
            obj = without_managed_fields(obj)
        if _is_event(obj):
            out.write(json.dumps_event(obj["type"], obj["object"]))
        else:
            out.write(json.dumps(obj))


class NamePrinter:
    def __init__(self, operation: str = "") -> None:
        self.operation = operation

    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None:
        from kctl.cli.printers.name import name_of

        if _is_event(obj):
            obj = obj["object"]
        for item in list_items(obj):
            out.write(name_of(item, self.operation) + "\n")


class JSONPathPrinter:
    def __init__(self, template: str, *, as_json: bool = False) -> None:
        from kctl.cli.printers.jsonpath import JSONPath, JSONPathError

        self.template = template
        self.as_json = as_json
        try:
            self.path = JSONPath(template)
        except JSONPathError as exc:
            raise CliError(f"error parsing jsonpath {template}, {exc}") from None

    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None:
        from kctl.cli.printers.gofmt import go_quote, go_repr
        from kctl.cli.printers.jsonpath import JSONPathError

        try:
            text = self.path.execute(obj, as_json=self.as_json)
        except JSONPathError as exc:
            raise CliError(
                f"error executing jsonpath {go_quote(self.template)}: Error executing template: "
                f"{exc}. Printing more information for debugging the template:\n"
                f"\ttemplate was:\n\t\t{self.template}\n"
                f"\tobject given to jsonpath engine was:\n\t\t{go_repr(obj)}\n\n"
            ) from None
        out.write(text)


class CustomColumnsPrinter:
    def __init__(self, spec: str, *, from_file: bool = False, no_headers: bool = False) -> None:
        from kctl.cli.printers import custom_columns
        from kctl.cli.printers.jsonpath import JSONPathError
        from kctl.cli.printers.tabwriter import TabWriter

        try:
            self.columns = (
                custom_columns.parse_file(spec) if from_file else custom_columns.parse_spec(spec)
            )
        except JSONPathError as exc:
            raise CliError(str(exc)) from None
        self.headers = not no_headers
        self.writer = TabWriter()

    def print(self, obj: Mapping[str, Any], out: IO[str]) -> None:
        from kctl.cli.printers import custom_columns

        if _is_event(obj):
            obj = obj["object"]
        self.writer.write(custom_columns.rows(self.columns, list_items(obj), headers=self.headers))
        self.headers = False
        out.write(self.writer.flush())


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        reason = exc.strerror.lower() if exc.strerror else str(exc)
        raise CliError(f"error reading {what} {path}, open {path}: {reason}") from None


def object_printer(
    output: Output, *, no_headers: bool = False, show_managed_fields: bool = False
) -> ObjectPrinter:
    """The printer for a non-table ``-o`` format."""
    fmt, arg = output.format, output.argument
    if fmt == "yaml":
        return YamlPrinter(show_managed_fields)
    if fmt == "json":
        return JsonPrinter(show_managed_fields)
    if fmt == "name":
        return NamePrinter()
    if fmt == "jsonpath":
        return JSONPathPrinter(arg)
    if fmt == "jsonpath-as-json":
        return JSONPathPrinter(arg, as_json=True)
    if fmt == "jsonpath-file":
        return JSONPathPrinter(_read(arg, "--template"))
    if fmt == "custom-columns":
        return CustomColumnsPrinter(arg, no_headers=no_headers)
    if fmt == "custom-columns-file":
        return CustomColumnsPrinter(_read(arg, "template"), from_file=True, no_headers=no_headers)
    raise CliError(f"output format {fmt!r} does not print objects")
