"""``kctl scale TYPE NAME --replicas=N``: set the size of anything with a scale subresource.

Wire format as kubectl 1.32: the objects are read first (so a missing one is reported
kubectl's way), then ``PATCH .../NAME/scale`` with the merge patch
``{"spec":{"replicas":N}}``. With a precondition (``--current-replicas`` or
``--resource-version``) the Scale is read and checked, then written back whole with
``PUT .../scale``, so a concurrent change makes the server answer 409 instead of the
scale landing on a size the user did not see. ``--timeout`` then waits until the
Scale's status reports the new size (``timed out waiting for "web" to be synced``).

Objects that fail to resolve do not stop the others: they are reported at the end
(``Error from server (NotFound): ...``, exit 1); when none resolved at all the message
is kubectl's ``no objects passed to scale <why>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.completion import complete_resources
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.cli.session import Session
    from kctl.cli.targets import Found

POLL_SECONDS = 1.0  # how often --timeout re-reads the Scale (kubectl's interval)


@app.command()
def scale(
    resources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="(TYPE NAME | TYPE/NAME)...",
            help="What to scale.",
            autocompletion=complete_resources,
        ),
    ] = None,
    replicas: Annotated[
        int | None, typer.Option("--replicas", help="The new number of replicas. Required.")
    ] = None,
    current_replicas: Annotated[
        int,
        typer.Option(
            "--current-replicas", help="Only scale if the current size is this (-1: no condition)."
        ),
    ] = -1,
    resource_version: Annotated[
        str | None,
        typer.Option(
            "--resource-version", help="Only scale if the object is at this resourceVersion."
        ),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Label query selecting the objects.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every object of the given types.")] = False,
    timeout: Annotated[
        str,
        typer.Option(
            "--timeout", help="Wait this long for the new size to be reached (0: do not wait)."
        ),
    ] = "0s",
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="name, yaml, json, jsonpath=...: print the objects so."
        ),
    ] = None,
    dry_run: Annotated[str, typer.Option("--dry-run", help="none, client or server.")] = "none",
) -> None:
    """Set a new size for a Deployment, ReplicaSet or other scalable object."""
    from kctl.cli import targets
    from kctl.cli.session import current
    from kctl.cli.watching import parse_duration

    if replicas is None:
        raise CliError('required flag(s) "replicas" not set')
    if replicas < 0:
        raise CliError(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
        )
    if dry_run not in ("none", "client", "server"):
        raise CliError(f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".')
    try:
        wait_seconds = parse_duration(timeout)
    except ValueError as exc:
        raise CliError(f'invalid argument "{timeout}" for "--timeout" flag: {exc}') from None

    printer = targets.Printer(output)
    session = current()
    selection = targets.parse(session, resources or [], selector=selector, all_=all_)
    failures = targets.Failures()
    found: list[Found] = []
    for item in targets.visit(session, selection):
        if isinstance(item, Exception):
            failures.add(item)
        else:
            found.append(item)
    if resource_version and len(found) > 1:
        raise CliError("cannot use --resource-version with multiple resources")
    if not found:
        raise CliError(
            "no objects passed to scale" + (f" {failures.summary()}" if failures else "")
        )

    suffix = {"none": "", "client": " (dry run)", "server": " (server dry run)"}[dry_run]
    for target in found:
        if dry_run != "client":  # a failed write ends the command, as in kubectl
            _scale_one(
                session, target, replicas, current_replicas, resource_version, dry_run == "server"
            )
            if wait_seconds > 0 and dry_run == "none":
                _wait_synced(session, target, replicas, wait_seconds)
        printer.print(target, f"scaled{suffix}")  # kubectl prints the object as it was read
    failures.exit_if_any()


def _scale_one(
    session: Session,
    target: Found,
    replicas: int,
    current_replicas: int,
    resource_version: str | None,
    dry_run: bool,
) -> None:
    client = session.client
    if current_replicas < 0 and not resource_version:
        body = {"spec": {"replicas": replicas}}
        client.patch(
            target.info,
            target.name,
            body,
            target.namespace,
            patch_type="merge",
            subresource="scale",
            dry_run=dry_run,
        )
        return
    current: dict[str, Any] = client.get(
        target.info, target.name, target.namespace, subresource="scale"
    )
    size = int(current.get("spec", {}).get("replicas") or 0)
    if current_replicas >= 0 and size != current_replicas:
        raise CliError(f"Expected replicas to be {current_replicas}, was {size}")
    rv = current.get("metadata", {}).get("resourceVersion")
    if resource_version and rv != resource_version:
        raise CliError(f"Expected resource version to be {resource_version}, was {rv}")
    current.setdefault("spec", {})["replicas"] = replicas
    client.replace(
        target.info,
        current,
        target.namespace,
        name=target.name,
        subresource="scale",
        dry_run=dry_run,
    )


def _wait_synced(session: Session, target: Found, replicas: int, seconds: float) -> None:
    """Poll the Scale until its status reports ``replicas`` (or someone else resized it)."""
    import time

    from kctl.cli.progress import progress
    from kctl.cli.watching import Deadline

    deadline = Deadline(seconds)
    with progress() as shown:
        shown.note(f"waiting for {target.qualified} to have {replicas} replicas")
        while True:
            scale_obj = session.client.get(
                target.info, target.name, target.namespace, subresource="scale"
            )
            spec = int(scale_obj.get("spec", {}).get("replicas") or 0)
            status = int(scale_obj.get("status", {}).get("replicas") or 0)
            if spec != replicas or status == replicas:
                return
            if deadline.expired:
                raise CliError(f'timed out waiting for "{target.name}" to be synced')
            time.sleep(min(POLL_SECONDS, deadline.remaining() or POLL_SECONDS))
