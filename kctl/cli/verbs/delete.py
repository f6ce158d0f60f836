"""``kctl delete``: by file, by name, by label, or all, and wait until it is gone.

kubectl's forms, flags, messages and exit codes, because scripts depend on them:

* what: ``-f FILE|DIR|- [-R]``, ``TYPE NAME...``, ``TYPE/NAME...``, ``TYPE[,TYPE] -l
  SELECTOR``, ``TYPE --all``, with ``-A`` across namespaces (argument rules and their
  messages: :mod:`kctl.cli.targets`);
* how: ``--cascade=background|foreground|orphan`` (``true``/``false`` as kubectl: background
  and orphan) sent as the DeleteOptions' ``propagationPolicy``; ``--grace-period``,
  ``--now`` (1 s) and ``--force`` (0 s, with kubectl's warning), ``--grace-period=0``
  alone meaning 1 s as in kubectl; ``--dry-run``;
* output: ``deployment.apps "web" deleted`` (``force deleted``, `` (dry run)``) or
  ``-o name``, ``No resources found`` when a selector matched nothing; errors are
  collected and printed at the end (``Error from server (NotFound): ...``, prefixed with
  ``error when deleting "FILE":`` for ``-f``), exit 1; ``--ignore-not-found`` drops the
  NotFound ones.

Objects are deleted one request each, in the order given. ``--wait`` (the default) then
follows each object still present after its DELETE (finalizers, grace periods) with a
list+watch on its name (:func:`kctl.cli.watching.follow`) until it is gone or replaced
by a new object of the same name, or until ``--timeout``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.cli.session import Session
    from kctl.cli.targets import Failures

CASCADES = {
    "background": "Background",
    "true": "Background",
    "foreground": "Foreground",
    "orphan": "Orphan",
    "false": "Orphan",
}
FORCE_WARNING = (
    "Warning: Immediate deletion does not wait for confirmation that the running resource "
    "has been terminated. The resource may continue to run on the cluster indefinitely."
)


@app.command("delete", cls=KubectlCommand)
def delete_command(
    resources: Annotated[
        list[str] | None, typer.Argument(help="TYPE NAME..., TYPE/NAME..., or TYPE with -l/--all.")
    ] = None,
    filename: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", help="File, directory or - (stdin) naming the objects."),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-R", help="Process directories recursively.")
    ] = False,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Delete the objects with these labels.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Delete every object of the types given.")
    ] = False,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="With -l or --all: in every namespace.")
    ] = False,
    cascade: Annotated[
        str, typer.Option("--cascade", help="background, foreground or orphan (dependents).")
    ] = "background",
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the objects are gone.")
    ] = True,
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long to wait (0: forever).")
    ] = "0s",
    grace_period: Annotated[
        int, typer.Option("--grace-period", help="Seconds to terminate gracefully (-1: default).")
    ] = -1,
    force: Annotated[
        bool, typer.Option("--force", help="Delete immediately (grace period 0).")
    ] = False,
    now: Annotated[bool, typer.Option("--now", help="Grace period of 1 second.")] = False,
    ignore_not_found: Annotated[
        bool, typer.Option("--ignore-not-found", help="Not finding an object is not an error.")
    ] = False,
    dry_run: Annotated[str, typer.Option("--dry-run", help="none, client or server.")] = "none",
    output: Annotated[str | None, typer.Option("--output", "-o", help="name")] = None,
) -> None:
    """Delete resources by file names, stdin, resources and names, or by label selector."""
    from kctl.cli.session import current
    from kctl.cli.verbs.apply import parse_timeout

    settings = Settings.parse(
        cascade=cascade,
        grace_period=grace_period,
        force=force,
        now=now,
        dry_run=dry_run,
        output=output,
        wait=wait,
        timeout=parse_timeout(timeout),
        ignore_not_found=ignore_not_found,
    )
    session = current()
    args = list(resources or [])
    if filename:
        if args:
            raise CliError(
                "when paths, URLs, or stdin is provided as input, you may not specify resource "
                "arguments as well"
            )
        targets: list[Target] | None = from_files(session, filename, recursive, selector)
    else:
        targets = from_arguments(session, args, selector, all_, all_namespaces)
    if targets is None:
        print("No resources found")
        return
    if settings.grace_period == 0 and force:
        print(FORCE_WARNING, file=sys.stderr)
    raise typer.Exit(Deleter(session, settings).run(targets))


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    propagation: str
    grace_period: int | None
    dry_run: str
    output: str
    wait: bool
    timeout: float | None
    ignore_not_found: bool

    @classmethod
    def parse(
        cls,
        *,
        cascade: str,
        grace_period: int,
        force: bool,
        now: bool,
        dry_run: str,
        output: str | None,
        **rest: Any,
    ) -> Settings:
        propagation = CASCADES.get(cascade.lower())
        if propagation is None:
            raise CliError(
                f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan"'
            )
        if now:
            if grace_period != -1:
                raise CliError("--now and --grace-period cannot be specified together")
            grace_period = 1
        if grace_period == 0 and not force:
            grace_period = 1  # kubectl: --grace-period=0 needs --force to mean "now"
        if force and grace_period < 0:
            grace_period = 0
        if dry_run == "unchanged":
            dry_run = "client"
        if dry_run not in ("none", "client", "server"):
            raise CliError(
                f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".'
            )
        if output not in (None, "", "name"):
            raise CliError(
                f'unable to match a printer suitable for the output format "{output}", '
                "allowed formats are: name"
            )
        return cls(
            propagation=propagation,
            grace_period=grace_period if grace_period >= 0 else None,
            dry_run=dry_run,
            output=output or "",
            **rest,
        )

    @property
    def operation(self) -> str:
        word = "force deleted" if self.grace_period == 0 else "deleted"
        return word + {"client": " (dry run)", "server": " (server dry run)"}.get(self.dry_run, "")


# --- what to delete ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    info: ResourceInfo
    namespace: str | None
    name: str
    source: str | None = None  # the -f file it came from

    @property
    def group_kind(self) -> str:
        kind = self.info.kind.lower()
        return f"{kind}.{self.info.group}" if self.info.group else kind


def from_files(
    session: Session, paths: Sequence[str], recursive: bool, selector: str | None
) -> list[Target]:
    from kctl.cli.verbs.apply import read_manifests

    manifests = read_manifests(session, paths, recursive, selector)
    if not manifests and not selector:
        raise CliError("no objects passed to delete")
    return [Target(m.info, m.namespace, m.name, m.doc.source) for m in manifests]


def from_arguments(
    session: Session,
    args: list[str],
    selector: str | None,
    all_: bool,
    all_namespaces: bool,
) -> list[Target] | None:
    """Targets named by arguments; a selector or ``--all`` lists them (None: matched
    nothing)."""
    from kctl.cli import targets

    if all_ and selector:
        raise CliError("setting 'all' parameter but found a non empty selector. ")
    if all_ and len(args) > 1 and "/" not in args[0]:
        raise CliError("name cannot be provided when a selector is specified")
    selection = targets.parse(session, args, selector=selector, all_=all_)
    namespace = None if all_namespaces else session.namespace
    if all_namespaces and any(ref.name is not None for ref in selection.refs):
        raise CliError("a resource cannot be retrieved by name across all namespaces")
    found: list[Target] = []
    listed = False
    for ref in selection.refs:
        ns = namespace if ref.info.namespaced else None
        if ref.name is not None:
            found.append(Target(ref.info, ns if ref.info.namespaced else None, ref.name))
            continue
        listed = True
        listing = session.client.list(ref.info, ns, label_selector=selector)
        for item in listing.get("items") or []:
            md = item.get("metadata", {})
            found.append(Target(ref.info, md.get("namespace"), md.get("name", "")))
    if listed and not found:
        return None
    return found


# --- deleting and waiting ---------------------------------------------------------------------------


class Deleter:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def run(self, targets: Sequence[Target]) -> int:
        from kctl.cli.targets import Failures

        failures = Failures()
        pending: list[tuple[Target, str]] = []  # still there after the DELETE: (target, uid)
        for target in targets:
            outcome = self._delete(target, failures)
            if outcome is None:
                continue
            self._print(target)
            if outcome:
                pending.append((target, outcome))
        if self.settings.wait and self.settings.dry_run == "none" and pending:
            self._wait(pending, failures)
        if failures:
            failures.exit_if_any()
        return 0

    def _delete(self, target: Target, failures: Failures) -> str | None:
        """DELETE one object. None: it failed (recorded); "": it is gone; else the uid of
        the object left behind to wait for."""
        from kctl.api.errors import ApiError, NotFound

        client, s = self.session.client, self.settings
        try:
            if s.dry_run == "client":
                client.get(target.info, target.name, target.namespace)
                return ""
            answer = client.delete(
                target.info,
                target.name,
                target.namespace,
                propagation_policy=s.propagation,
                grace_period_seconds=s.grace_period,
                dry_run=s.dry_run == "server",
            )
        except NotFound as exc:
            if not s.ignore_not_found:
                failures.add(_in_file(exc, target))
            return None
        except ApiError as exc:
            failures.add(_in_file(exc, target))
            return None
        if not isinstance(answer, dict) or answer.get("kind") == "Status":
            return ""
        return str(answer.get("metadata", {}).get("uid") or "-")

    def _print(self, target: Target) -> None:
        if self.settings.output == "name":
            line = f"{target.group_kind}/{target.name}"
        else:
            line = f'{target.group_kind} "{target.name}" {self.settings.operation}'
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def _wait(self, pending: Sequence[tuple[Target, str]], failures: Failures) -> None:
        from kctl.api.errors import ApiError
        from kctl.cli.watching import Deadline

        deadline = Deadline(self.settings.timeout)
        for target, uid in pending:
            try:
                gone = wait_gone(self.session, target, uid, deadline)
            except ApiError as exc:
                failures.add(exc)
                continue
            if not gone:
                failures.add(
                    CliError(
                        f"timed out waiting for the condition on {target.info.plural}/{target.name}"
                    )
                )


def wait_gone(session: Session, target: Target, uid: str, deadline: Any) -> bool:
    """Follow one object until it is gone (or replaced: another uid); False at the
    deadline."""
    from kctl.cli.watching import SYNCED, follow

    present = False
    for etype, obj in follow(
        session.client, target.info, target.namespace, deadline, name=target.name
    ):
        if etype == SYNCED:
            if not present:
                return True
            continue
        same = obj.get("metadata", {}).get("uid") in (uid, None) or uid == "-"
        if etype == "DELETED" or not same:
            return True
        present = True
    return False


def _in_file(exc: Exception, target: Target) -> Exception:
    """kubectl's ``error when deleting "FILE": ...`` for objects named by a file."""
    from kctl.api.errors import ApiError

    if target.source is None or not isinstance(exc, ApiError):
        return exc
    return type(exc)(f'error when deleting "{target.source}": {exc.message}', exc.details)
