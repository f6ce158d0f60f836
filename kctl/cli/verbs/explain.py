"""``kctl explain TYPE[.field.path] [--recursive]``: documentation of a kind's fields.

The schemas are kctl's own (the upstream definitions the server validates with, or a
kctl kind's JSON Schema), so explain needs no server. The layout is kubectl 1.32's
(its OpenAPI v3 "plaintext" template):

* ``GROUP:`` (left out for the core group), ``KIND:``, ``VERSION:``, a blank line;
* for a field path, ``FIELD: name <type>`` and two blank lines;
* ``DESCRIPTION:``, the field's description followed by the description of the type
  it refers to, wrapped at 76 columns (go-wordwrap's rules) and indented 4;
* ``FIELDS:``, one ``  name<TAB><type>`` line per property in name order (`` -required-``
  when the parent requires it) followed by its wrapped description and a blank
  line; with ``--recursive`` only the names, nested two spaces per level.

Types print as kubectl guesses them: ``<[]Container>``, ``<map[string]string>``, a
referenced object's short name (``<ObjectMeta>``), or a referenced primitive's type
(``Time`` prints as ``<string>``). Walking a path steps through arrays to their items.
The upstream definitions carry an ``enum`` on ``apiVersion``/``kind`` that real
OpenAPI documents do not have; it is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

WRAP = 76
INDENT = "    "
Schema = dict[str, Any]


def wrap(text: str, limit: int = WRAP) -> str:
    """go-wordwrap's ``WrapString``: break at whitespace once a line would pass
    ``limit``; existing newlines are kept, over-long words are not split."""
    out: list[str] = []
    current = 0
    word: list[str] = []
    space: list[str] = []
    for ch in text:
        if ch == "\n":
            if not word:
                if current + len(space) > limit:
                    current = 0
                else:
                    out.extend(space)
            else:
                out.extend(space)
                out.extend(word)
                word = []
            space = []
            out.append(ch)
            current = 0
        elif ch.isspace() and ch != "\xa0":
            if not space or word:
                current += len(space) + len(word)
                out.extend(space)
                out.extend(word)
                space, word = [], []
            space.append(ch)
        else:
            word.append(ch)
            if current + len(space) + len(word) > limit and len(word) < limit:
                out.append("\n")
                current = 0
                space = []
    if not word:
        if current + len(space) <= limit:
            out.extend(space)
    else:
        out.extend(space)
        out.extend(word)
    return "".join(out)


def indent(text: str, pad: str = INDENT) -> str:
    """Sprig's ``indent``: every line, empty ones included, gets the pad."""
    return pad + text.replace("\n", "\n" + pad)


@dataclass(frozen=True)
class Schemas:
    """A schema document: definitions by name, for following ``$ref``."""

    defs: dict[str, Schema]

    def target(self, schema: Schema) -> tuple[str, Schema] | None:
        """The definition a schema refers to (directly or through a one-item allOf)."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return name, self.defs.get(name, {})
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and not schema.get("properties"):
            return self.target(all_of[0])
        return None

    def resolve(self, schema: Schema) -> Schema:
        for _ in range(32):
            found = self.target(schema)
            if found is None:
                return schema
            schema = found[1]
        return schema

    def element(self, schema: Schema) -> Schema:
        """What a path steps into: the resolved schema, through array items."""
        resolved = self.resolve(schema)
        while isinstance(resolved.get("items"), dict):
            resolved = self.resolve(resolved["items"])
        return resolved

    def element_name(self, schema: Schema) -> str:
        """The definition name a path steps into ("" for an inline schema)."""
        while isinstance(schema.get("items"), dict):
            schema = schema["items"]
        found = self.target(schema)
        return found[0] if found else ""

    def type_name(self, schema: Schema) -> str:
        """kubectl's ``typeGuess``."""
        if isinstance(schema.get("items"), dict):
            return "[]" + self.type_name(schema["items"])
        if isinstance(schema.get("additionalProperties"), dict):
            return "map[string]" + self.type_name(schema["additionalProperties"])
        found = self.target(schema)
        if found is not None:
            name, definition = found
            kind = _type(definition)
            if not kind or kind == "object":
                return name.rsplit(".", 1)[-1] or "Object"
            return kind
        return _type(schema) or "Object"

    def description(self, schema: Schema) -> str:
        """A field's description, then that of the type it refers to (the FIELD view;
        the FIELDS list shows only the field's own)."""
        parts = [str(schema.get("description") or "")]
        inner = schema
        while True:
            if isinstance(inner.get("items"), dict):
                inner = inner["items"]
            elif isinstance(inner.get("additionalProperties"), dict):
                inner = inner["additionalProperties"]
            else:
                break
        found = self.target(inner)
        if found is not None:
            parts.append(str(found[1].get("description") or ""))
        return "\n".join(p for p in parts if p)


def _type(schema: Schema) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "")
    return str(kind or "")


def _properties(schema: Schema, top: bool = False) -> dict[str, Schema]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    if not top:
        return props
    # the upstream definitions pin apiVersion/kind with an enum real documents lack
    return {
        k: ({a: b for a, b in v.items() if a != "enum"} if k in ("apiVersion", "kind") else v)
        for k, v in props.items()
    }


def _schemas_for(info: ResourceInfo) -> tuple[Schemas, Schema]:
    if info.upstream_definition:
        from kctl.api import upstream

        defs = upstream.definitions(strict=False)
        return Schemas(defs), defs[info.upstream_definition]
    own = info.schema.get("openAPIV3Schema")
    if isinstance(own, dict):
        return Schemas(dict(own.get("$defs") or {})), own
    return Schemas({}), {}


def _fields(
    schemas: Schemas, parent: Schema, recursive: bool, level: int, seen: tuple[str, ...], top: bool
) -> list[str]:
    required = set(parent.get("required") or [])
    lines: list[str] = []
    for name, prop in sorted(_properties(parent, top).items()):
        head = f"{'  ' * level}{name}\t<{schemas.type_name(prop)}>"
        lines.append(head + (" -required-" if name in required else ""))
        if recursive:
            ref = schemas.element_name(prop)
            if ref and ref in seen:  # a recursive type (JSONSchemaProps): stop
                continue
            child = schemas.element(prop)
            lines.extend(_fields(schemas, child, True, level + 1, (*seen, ref), False))
        else:
            lines.append(indent(wrap(str(prop.get("description") or ""))))
            lines.append("")
    return lines


def render(info: ResourceInfo, path: list[str], recursive: bool) -> str:
    """The whole explanation; raises CliError (after the header) for a missing field."""
    schemas, root = _schemas_for(info)
    head = (f"GROUP:      {info.group}\n" if info.group else "") + (
        f"KIND:       {info.kind}\nVERSION:    {info.version}\n\n"
    )
    schema, parent, field = root, root, ""
    for name in path:
        props = _properties(schemas.element(parent) if parent is not root else root)
        if name not in props:
            typer.echo(head, nl=False)
            raise CliError(f'field "{name}" does not exist')
        schema, field = props[name], name
        parent = schema
    out = [head]
    if path:
        out.append(f"FIELD: {field} <{schemas.type_name(schema)}>\n\n\n")
        description = schemas.description(schema)
    else:
        description = str(root.get("description") or "")
    out.append("DESCRIPTION:\n" + indent(wrap(description or "<empty>") + "\n") + "\n")
    container = schemas.element(schema) if path else root
    fields = _fields(schemas, container, recursive, 1, (), not path)
    if fields:
        out.append("FIELDS:\n" + "\n".join(fields) + "\n")
    out.append("\n")
    return "".join(out)


@app.command("explain")
def explain(
    resource: Annotated[
        str | None, typer.Argument(help="TYPE[.FIELD[.FIELD...]]", show_default=False)
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Print the fields of fields (names only).")
    ] = False,
    api_version: Annotated[
        str, typer.Option("--api-version", help="The API version of the resource (e.g. apps/v1).")
    ] = "",
    output: Annotated[
        str, typer.Option("--output", help="Accepted for kubectl compatibility: plaintext.")
    ] = "plaintext",
) -> None:
    """Describe fields and structure of a resource type, from its schema."""
    from kctl.cli.session import current

    if not resource:
        raise CliError(
            'You must specify the type of resource to explain. Use "kctl api-resources" for a '
            "complete list of supported resources."
        )
    if output not in ("plaintext", "plaintext-openapiv2"):
        raise CliError(f"unsupported output format: {output}")
    word, *path = resource.split(".")
    session = current()
    info = session.resolve(word)
    if api_version and api_version != info.api_version:
        group, _, version = api_version.rpartition("/")
        found = session.registry.by_gvr(group, version, info.plural)
        if found is None:
            raise CliError(f'couldn\'t find resource for "{api_version}, Resource={info.plural}"')
        info = found
    typer.echo(render(info, path, recursive), nl=False)
