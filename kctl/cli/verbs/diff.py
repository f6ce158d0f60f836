"""``kctl diff -f FILE|DIR|-``: what ``kctl apply`` would change, as a unified diff.

The "after" side is the server's own answer to the apply, asked as a dry run
(``dryRun=All``, server-side apply with the same field manager), so defaults, merges
and field ownership are exactly what ``apply`` would produce; the "before" side is the
live object (nothing for an object that does not exist yet). This reuses apply's
phases (:mod:`kctl.cli.verbs.apply`): the same local checks, live fetch and parallel
dry runs, so a document apply would reject fails ``diff`` the same way.

Both sides are printed as kubectl prints YAML and, like kubectl's, without
``managedFields`` (the only field kubectl drops: a spec change shows its ``generation``
bump too, so the two tools' diffs are line for line the same); Secret values are masked
as kubectl masks them.
The output has kubectl's shape (it runs ``diff -u -N LIVE MERGED`` over two temporary
directories with one file per object, ``apps.v1.Deployment.default.web``) but is
computed in-process, coloured on a terminal. Exit codes are kubectl's: 0 no
difference, 1 differences, 2 (>1) for any error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.cli.manifests import Manifest

ERROR_EXIT = 2
DROPPED_METADATA = ("managedFields",)
_RESET, _BOLD, _RED, _GREEN, _CYAN = "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[36m"


@app.command("diff", cls=KubectlCommand)
def diff_command(
    filename: Annotated[
        list[str] | None,
        typer.Option(
            "--filename", "-f", help="File, directory or - (stdin) to compare; repeatable."
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-R", help="Process directories recursively.")
    ] = False,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Only objects with these labels.")
    ] = None,
    server_side: Annotated[
        bool,
        typer.Option("--server-side", help="Accepted for kubectl; kctl always diffs server-side."),
    ] = False,
    force_conflicts: Annotated[
        bool, typer.Option("--force-conflicts", help="Diff as if applied with --force-conflicts.")
    ] = False,
    field_manager: Annotated[
        str, typer.Option("--field-manager", help="The manager apply would use.")
    ] = "kctl",
) -> None:
    """Diff the live objects against what applying the files would make of them."""
    try:
        code = run_diff(filename or [], recursive, selector, force_conflicts, field_manager)
    except typer.Exit:
        raise
    except Exception as exc:  # kubectl diff: every error exits >1, never 1
        from kctl.cli.errors import report
        from kctl.cli.session import current

        report(exc, current().flags.verbosity)
        code = ERROR_EXIT
    raise typer.Exit(code)


def run_diff(
    paths: Sequence[str], recursive: bool, selector: str | None, force: bool, manager: str
) -> int:
    from kctl.cli.errors import CliError
    from kctl.cli.session import current
    from kctl.cli.verbs.apply import (
        WORKERS,
        Options,
        Workers,
        check_locally,
        fetch_live,
        plan,
        read_manifests,
    )

    if not paths:
        raise CliError("must specify one of -f and -k")
    session = current()
    manifests = read_manifests(session, paths, recursive, selector)
    if not manifests:
        raise CliError("no objects passed to diff")
    options = Options(force=force, manager=manager)
    rejected = check_locally(manifests, options.field_validation)
    if not rejected:
        with Workers(session.config, min(WORKERS, len(manifests))) as workers:
            live = fetch_live(workers, manifests)
            planned, rejected = plan(workers, manifests, live, options)
    if rejected:
        for rejection in rejected:
            print(rejection.render(as_apply=False), file=sys.stderr)
        return ERROR_EXIT
    texts = [
        (file_name(m), *comparable_texts(live[m.key], planned[m.key], m.info.kind == "Secret"))
        for m in manifests
    ]
    return print_diffs(texts, color=_color_wanted())


def file_name(m: Manifest) -> str:
    """kubectl's per-object file name: ``apps.v1.Deployment.default.web``."""
    group = f"{m.info.group}." if m.info.group else ""
    return f"{group}{m.info.version}.{m.info.kind}.{m.namespace or ''}.{m.name}"


def comparable_texts(
    live: dict[str, Any] | None, merged: dict[str, Any] | None, secret: bool
) -> tuple[str, str]:
    """Both sides as YAML ("" for a missing side), noise dropped, secrets masked."""
    from kctl.cli.printers.yaml import dumps

    before = _without_noise(live) if live is not None else None
    after = _without_noise(merged) if merged is not None else None
    if secret:
        before, after = mask_secret(before, after)
    return (dumps(before) if before is not None else "", dumps(after) if after is not None else "")


def _without_noise(obj: dict[str, Any]) -> dict[str, Any]:
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in DROPPED_METADATA}
    return {**obj, "metadata": md}


def mask_secret(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """kubectl's masking: every value ``***``; a changed one ``*** (before)`` on the
    live side and ``*** (after)`` on the other, so a change shows without the secret."""
    for section in ("data", "stringData"):
        old = dict((before or {}).get(section) or {})
        new = dict((after or {}).get(section) or {})
        for key in set(old) | set(new):
            changed = key in old and key in new and old[key] != new[key]
            if key in old:
                old[key] = "*** (before)" if changed else "***"
            if key in new:
                new[key] = "*** (after)" if changed else "***"
        if before is not None and section in before:
            before = {**before, section: old}
        if after is not None and section in after:
            after = {**after, section: new}
    return before, after


def print_diffs(texts: Sequence[tuple[str, str, str]], *, color: bool) -> int:
    """``diff -u -N LIVE-x/NAME MERGED-y/NAME`` for each changed object, in file-name
    order (as ``diff -r`` walks the directories); 1 if anything differs."""
    import difflib
    import random
    import tempfile
    from datetime import datetime

    tmp = tempfile.gettempdir()
    live_dir = f"{tmp}/LIVE-{random.randrange(10**9, 10**10)}"
    merged_dir = f"{tmp}/MERGED-{random.randrange(10**9, 10**10)}"
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S.%f000 %z")
    changed = 0
    out = sys.stdout
    for name, before, after in sorted(texts):
        if before == after:
            continue
        changed += 1
        a, b = f"{live_dir}/{name}", f"{merged_dir}/{name}"
        lines = [f"diff -u -N {a} {b}"]
        lines.extend(
            difflib.unified_diff(
                before.splitlines(),
                after.splitlines(),
                a,
                b,
                stamp,
                stamp,
                lineterm="",
            )
        )
        for line in lines:
            out.write((_paint(line) if color else line) + "\n")
    out.flush()
    return 1 if changed else 0


def _paint(line: str) -> str:
    if line.startswith(("diff ", "--- ", "+++ ")):
        return f"{_BOLD}{line}{_RESET}"
    if line.startswith("@@"):
        return f"{_CYAN}{line}{_RESET}"
    if line.startswith("-"):
        return f"{_RED}{line}{_RESET}"
    if line.startswith("+"):
        return f"{_GREEN}{line}{_RESET}"
    return line


def _color_wanted() -> bool:
    import os

    from kctl.cli.progress import is_live_terminal

    return is_live_terminal(sys.stdout) and "NO_COLOR" not in os.environ
