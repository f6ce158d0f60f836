"""``kctl api-resources``: the resource types the server serves, as kubectl lists them.

The list comes from the server's discovery documents (``/api/v1`` and each group's
preferred version under ``/apis``), not from kctl's own schema files, so it shows what
the cluster really serves. Subresources are left out; rows are sorted by API group
(core first), then name, or by ``--sort-by=name|kind``; the filters are kubectl's
(``--namespaced``, ``--api-group``, ``--verbs``, ``--categories``), and the header is
printed even when nothing matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.client.http import Client


@dataclass(frozen=True)
class Resource:
    name: str
    group: str
    group_version: str
    namespaced: bool
    kind: str
    short_names: tuple[str, ...]
    verbs: tuple[str, ...]
    categories: tuple[str, ...]


def discover(client: Client) -> list[Resource]:
    """Every served resource of each group's preferred version, in discovery order."""
    versions: list[tuple[str, str]] = [
        ("", v) for v in (client.request("GET", "/api").get("versions") or [])[:1]
    ]
    for group in client.request("GET", "/apis").get("groups") or []:
        preferred = group.get("preferredVersion") or (group.get("versions") or [{}])[0]
        if preferred.get("groupVersion"):
            versions.append((str(group.get("name", "")), str(preferred["groupVersion"])))
    out: list[Resource] = []
    for group, gv in versions:
        path = f"/api/{gv}" if not group else f"/apis/{gv}"
        doc: dict[str, Any] = client.request("GET", path)
        for r in doc.get("resources") or []:
            if "/" in str(r.get("name", "")):
                continue
            out.append(
                Resource(
                    name=str(r["name"]),
                    group=group,
                    group_version=gv,
                    namespaced=bool(r.get("namespaced")),
                    kind=str(r.get("kind", "")),
                    short_names=tuple(r.get("shortNames") or ()),
                    verbs=tuple(r.get("verbs") or ()),
                    categories=tuple(r.get("categories") or ()),
                )
            )
    return out


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise typer.BadParameter(f'invalid argument "{value}" for "--namespaced" flag')


def _namespaced(extra: list[str]) -> bool | None:
    """``--namespaced`` or ``--namespaced=BOOL`` (a flag with an optional value, which
    click cannot declare, so it arrives among the extra arguments)."""
    scope: bool | None = None
    for arg in extra:
        name, sep, value = arg.partition("=")
        if name != "--namespaced":
            raise typer.BadParameter(f"unknown flag: {arg}")
        scope = _bool(value) if sep else True
    return scope


@app.command(
    "api-resources",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
def api_resources(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("-o", "--output", help="Output format: wide|name.")] = "",
    api_group: Annotated[
        str | None,
        typer.Option("--api-group", help="Limit to resources in the specified API group."),
    ] = None,
    verbs: Annotated[
        list[str] | None,
        typer.Option("--verbs", help="Limit to resources that support the specified verbs."),
    ] = None,
    categories: Annotated[
        list[str] | None,
        typer.Option("--categories", help="Limit to resources in the specified categories."),
    ] = None,
    sort_by: Annotated[str, typer.Option("--sort-by", help="Sort by name or kind.")] = "",
    no_headers: Annotated[bool, typer.Option("--no-headers", help="Don't print headers.")] = False,
    cached: Annotated[
        bool,
        typer.Option(
            "--cached", help="Accepted for kubectl compatibility (kctl always asks the server)."
        ),
    ] = False,
) -> None:
    """Print the supported API resources on the server.

    --namespaced[=true|false] lists only namespaced (or only cluster-scoped) resources."""
    from kctl.cli.printers.tabwriter import tabulate
    from kctl.cli.session import current

    if output not in ("", "wide", "name"):
        raise CliError(f"--output {output} is not available")
    if sort_by not in ("", "name", "kind"):
        raise CliError("--sort-by accepts only name or kind")
    want_verbs = [v for value in verbs or [] for v in value.split(",") if v]
    want_categories = [c for value in categories or [] for c in value.split(",") if c]
    scope = _namespaced(list(ctx.args))

    rows = []
    for r in discover(current().client):
        if scope is not None and r.namespaced != scope:
            continue
        if api_group is not None and r.group != api_group:
            continue
        if want_verbs and not all(v in r.verbs for v in want_verbs):
            continue
        if want_categories and not all(c in r.categories for c in want_categories):
            continue
        rows.append(r)
    key = {"name": lambda r: r.name, "kind": lambda r: r.kind}.get(sort_by, lambda r: r.group)
    rows.sort(key=lambda r: (key(r), r.name))

    if output == "name":
        for r in rows:
            typer.echo(f"{r.name}.{r.group}" if r.group else r.name)
        return
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if output == "wide":
        header += ["VERBS", "CATEGORIES"]
    lines = [] if no_headers else [header]
    for r in rows:
        line = [r.name, ",".join(r.short_names), r.group_version, str(r.namespaced).lower(), r.kind]
        if output == "wide":
            line += [",".join(r.verbs), ",".join(r.categories)]
        lines.append(line)
    typer.echo(tabulate(lines), nl=False)
