"""``kctl config get-contexts|current-context|use-context|view``: the kubeconfig, as kubectl.

These read the same files kubectl reads (``--kubeconfig``, else ``$KUBECONFIG``'s list,
else ``~/.kube/config``), merged with kubectl's first-file-wins rule per name, and
print what kubectl prints, so ``kctl config view --minify`` can be diffed against
``kubectl config view --minify``:

* ``view`` redacts secrets unless ``--raw``/``--flatten``: tokens and passwords become
  ``REDACTED``, embedded certificates and keys ``DATA+OMITTED``. ``--minify`` keeps only
  the current context (or ``--context``), its cluster and user; ``--flatten`` embeds
  referenced certificate files. YAML keys come out sorted, lists sorted by name and
  empty lists as ``null``, like kubectl's; ``-o json`` uses kubectl's field order.
* ``use-context`` rewrites ``current-context`` in the file kubectl would: the explicit
  one, else the first existing file of ``$KUBECONFIG``, else ``~/.kube/config``; like
  kubectl it rewrites that file in its own layout (sorted keys, entries by name).

The raw YAML documents are used rather than :mod:`kctl.client.kubeconfig`'s parsed
form, because ``view`` must show every field the user wrote, not only those the client
needs.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

config_app = typer.Typer(no_args_is_help=True, help="Read and switch kubeconfig contexts.")
app.add_typer(config_app, name="config")

SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))
REDACTED = "REDACTED"
OMITTED = "DATA+OMITTED"
FILE_FIELDS = {  # section entry key -> (path field, data field) kubectl resolves and embeds
    "cluster": [("certificate-authority", "certificate-authority-data")],
    "user": [("client-certificate", "client-certificate-data"), ("client-key", "client-key-data")],
}
JSON_ORDER = {
    "cluster": [
        "server",
        "tls-server-name",
        "insecure-skip-tls-verify",
        "certificate-authority",
        "certificate-authority-data",
        "proxy-url",
        "disable-compression",
        "extensions",
    ],
    "user": [
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "token",
        "tokenFile",
        "as",
        "as-uid",
        "as-groups",
        "as-user-extra",
        "username",
        "password",
        "auth-provider",
        "exec",
        "extensions",
    ],
    "context": ["cluster", "user", "namespace", "extensions"],
}


# --- reading -----------------------------------------------------------------------------


def _files() -> tuple[list[Path], bool]:
    """The files in precedence order, and whether they must all exist (explicit)."""
    from kctl.cli.session import current
    from kctl.client.kubeconfig import kubeconfig_paths

    return kubeconfig_paths(current().flags.kubeconfig)


def _load(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe").load(path.read_text()) or {}
    except (OSError, YAMLError) as exc:
        raise CliError(f'error loading config file "{path}": {exc}') from None
    if not isinstance(doc, dict):
        raise CliError(f'error loading config file "{path}": not a kubeconfig mapping')
    return doc


def merged() -> tuple[dict[str, Any], dict[int, Path]]:
    """The kubeconfig files merged as kubectl merges them (first definition wins), and
    for each entry (by ``id``) the directory its relative file references start from."""
    paths, required = _files()
    out: dict[str, Any] = {"current-context": "", "preferences": {}}
    named: dict[str, dict[str, Any]] = {section: {} for section, _ in SECTIONS}
    bases: dict[int, Path] = {}
    for path in paths:
        if not path.exists():
            if required:
                raise CliError(f"stat {path}: no such file or directory")
            continue
        doc = _load(path)
        for section, _ in SECTIONS:
            for entry in doc.get(section) or []:
                if (
                    isinstance(entry, dict)
                    and entry.get("name")
                    and entry["name"] not in named[section]
                ):
                    named[section][str(entry["name"])] = entry
                    bases[id(entry)] = path.parent
        if not out["current-context"] and doc.get("current-context"):
            out["current-context"] = str(doc["current-context"])
    for section, _ in SECTIONS:
        out[section] = _by_name(list(named[section].values()))
    return out, bases


def _by_name(entries: list[Any]) -> list[Any]:
    return sorted(entries, key=lambda e: str(e.get("name", "")) if isinstance(e, dict) else "")


def _entry(doc: dict[str, Any], section: str, name: str) -> dict[str, Any] | None:
    return next((e for e in doc.get(section) or [] if e.get("name") == name), None)


# --- the commands --------------------------------------------------------------------------


@config_app.command("current-context")
def current_context() -> None:
    """Print the current context's name."""
    name = merged()[0]["current-context"]
    if not name:
        raise CliError("current-context is not set")
    typer.echo(name)


@config_app.command("get-contexts")
def get_contexts(
    names: Annotated[list[str] | None, typer.Argument(metavar="[NAME]...")] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="name: only the names.")
    ] = None,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="No header line.")] = False,
) -> None:
    """List the contexts (all, or the named ones)."""
    from kctl.cli.printers.tabwriter import tabulate
    from kctl.cli.targets import Failures

    if output not in (None, "", "name"):
        raise CliError(f"output must be one of '' or 'name': {output}")
    doc, _ = merged()
    contexts = {str(e["name"]): e.get("context") or {} for e in doc["contexts"]}
    missing = [n for n in names or [] if n not in contexts]
    shown = sorted(n for n in (names or contexts) if n in contexts)
    if output == "name":
        for name in shown:
            typer.echo(name)
    else:
        rows = [] if no_headers else [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
        for name in shown:
            ctx = contexts[name]
            mark = "*" if name == doc["current-context"] else ""
            rows.append(
                [
                    mark,
                    name,
                    str(ctx.get("cluster") or ""),
                    str(ctx.get("user") or ""),
                    str(ctx.get("namespace") or ""),
                ]
            )
        sys.stdout.write(tabulate(rows))
    failures = Failures()
    for name in missing:
        failures.add(CliError(f"context {name} not found"))
    failures.exit_if_any()


@config_app.command("use-context")
def use_context(name: Annotated[str, typer.Argument(metavar="CONTEXT_NAME")]) -> None:
    """Make CONTEXT_NAME the current context (written to the kubeconfig)."""
    if _entry(merged()[0], "contexts", name) is None:
        raise CliError(f'no context exists with the name: "{name}"')
    target = _current_context_file()
    doc: dict[str, Any] = (
        _load(target) if target.exists() else {"apiVersion": "v1", "kind": "Config"}
    )
    doc["current-context"] = name
    for section, _ in SECTIONS:  # kubectl rewrites the file in its own order
        if isinstance(doc.get(section), list):
            doc[section] = _by_name(doc[section])
    _write(target, doc)
    typer.echo(f'Switched to context "{name}".')


def _current_context_file() -> Path:
    """Where kubectl writes current-context (client-go's GetDefaultFilename): the
    explicit file, else the only $KUBECONFIG file, else its first existing one (its last
    when none exists), else ~/.kube/config."""
    paths, _ = _files()
    if len(paths) == 1:
        return paths[0]
    existing = [p for p in paths if p.exists()]
    return existing[0] if existing else paths[-1]


def _write(path: Path, doc: dict[str, Any]) -> None:
    """Replace the file atomically, keeping its permissions (0600 for a new one)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(dump_yaml(doc))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@config_app.command("view")
def view(
    minify: Annotated[
        bool, typer.Option("--minify", help="Only the current context, its cluster and user.")
    ] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Show secrets and embedded data as they are.")
    ] = False,
    flatten: Annotated[
        bool, typer.Option("--flatten", help="Embed referenced files (implies --raw).")
    ] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json.")] = "yaml",
) -> None:
    """Print the merged kubeconfig, secrets redacted unless --raw."""
    from kctl.cli.session import current

    if output not in ("yaml", "json"):
        raise CliError(
            f'unable to match a printer suitable for the output format "{output}", '
            "allowed formats are: json,yaml"
        )
    doc, bases = merged()
    if minify:
        if current().flags.context:
            doc["current-context"] = current().flags.context
        doc = _minify(doc)
    if flatten:
        _flatten(doc, bases)
    elif not raw:
        _redact(doc)
    config = {"apiVersion": "v1", "kind": "Config", **doc}
    for section, _ in SECTIONS:
        config[section] = config.get(section) or None
    sys.stdout.write(dump_json(config) if output == "json" else dump_yaml(config))


def _minify(doc: dict[str, Any]) -> dict[str, Any]:
    name = doc["current-context"]
    if not name:
        raise CliError("current-context must exist in order to minify")
    context = _entry(doc, "contexts", name)
    if context is None:
        raise CliError(f"cannot locate context {name}")
    inner = context.get("context") or {}
    out = {**doc, "contexts": [context], "clusters": [], "users": []}
    for section, key, label in (("clusters", "cluster", "cluster"), ("users", "user", "user")):
        ref = inner.get(key)
        if ref:
            entry = _entry(doc, section, str(ref))
            if entry is None:
                raise CliError(f"cannot locate {label} {ref}")
            out[section] = [entry]
    return out


def _redact(doc: dict[str, Any]) -> None:
    """kubectl's RedactSecrets + ShortenConfig."""
    for entry in doc.get("users") or []:
        user = entry.get("user") or {}
        for field in ("token", "password"):
            if user.get(field):
                user[field] = REDACTED
        for field in ("client-certificate-data", "client-key-data"):
            if user.get(field):
                user[field] = OMITTED
    for entry in doc.get("clusters") or []:
        cluster = entry.get("cluster") or {}
        if cluster.get("certificate-authority-data"):
            cluster["certificate-authority-data"] = OMITTED


def _flatten(doc: dict[str, Any], bases: dict[int, Path]) -> None:
    """Replace file references by their contents (base64 ``*-data``); a relative
    reference is relative to the file that holds it."""
    for section, key in SECTIONS:
        for entry in doc.get(section) or []:
            inner = entry.get(key) or {}
            for path_field, data_field in FILE_FIELDS.get(key, []):
                path = inner.pop(path_field, None)
                if path:
                    full = bases.get(id(entry), Path.cwd()) / Path(str(path)).expanduser()
                    try:
                        inner[data_field] = base64.b64encode(full.read_bytes()).decode()
                    except OSError as exc:
                        raise CliError(f"open {path}: {exc.strerror}") from None


# --- output --------------------------------------------------------------------------------


def dump_yaml(doc: dict[str, Any]) -> str:
    """YAML as kubectl writes it (sigs.k8s.io/yaml: sorted keys, Go's quoting)."""
    from kctl.cli.printers.yaml import dumps

    return dumps(doc)


def dump_json(doc: dict[str, Any]) -> str:
    """JSON in kubectl's (Go struct) field order, 4-space indent, Go's HTML escaping."""
    import json

    from kctl.cli.printers.gofmt import html_escape

    def ordered(section: str, key: str, entry: dict[str, Any]) -> dict[str, Any]:
        inner = entry.get(key) or {}
        fields = [f for f in JSON_ORDER[key] if f in inner] + [
            f for f in inner if f not in JSON_ORDER[key]
        ]
        return {"name": entry.get("name"), key: {f: inner[f] for f in fields}}

    out: dict[str, Any] = {
        "kind": "Config",
        "apiVersion": "v1",
        "preferences": doc.get("preferences") or {},
    }
    for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        entries = doc.get(section)
        out[section] = [ordered(section, key, e) for e in entries] if entries else None
    out["current-context"] = doc.get("current-context") or ""
    return html_escape(json.dumps(out, indent=4, ensure_ascii=False)) + "\n"
