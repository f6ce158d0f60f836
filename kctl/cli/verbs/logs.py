"""``kctl logs POD|TYPE/NAME``: a container's log, read through the API as kubectl does.

Wire format (kubectl 1.32's): ``GET /api/v1/namespaces/NS/pods/NAME/log`` with
``container``, ``follow=true``, ``previous=true``, ``sinceSeconds`` (``--since``,
rounded up to whole seconds) or ``sinceTime``, ``tailLines``, ``timestamps=true``,
``limitBytes``; the answer is ``text/plain``, chunked and kept open with ``follow``.
The API server forwards the request to the pod's node agent; until one serves it the
server answers ``503 ServiceUnavailable``, printed as kubectl prints it.

Which pod and container: :mod:`kctl.cli.podpick` (``deploy/web`` takes the best pod of
the Deployment's selector, waiting up to ``--pod-running-timeout`` for one). With
``-l`` every matching pod is read (``--tail`` defaults to 10 then, as in kubectl);
several ``-f`` streams run side by side, at most ``--max-log-requests`` of them.
``--prefix`` starts each line with ``[pod/NAME/CONTAINER]``.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.completion import complete_pods
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.cli.session import Session

USAGE = (
    "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
    "POD or TYPE/NAME is a required argument for the logs command\n"
    "See 'kctl logs -h' for help and examples"
)
SELECTOR_DEFAULT_TAIL = 10


@dataclass(frozen=True)
class LogRequest:
    """One container's log to read."""

    pod: str
    namespace: str
    container: str
    params: dict[str, Any]
    prefix: str  # "" or "[pod/NAME/CONTAINER] "

    @property
    def path(self) -> str:
        from kctl.cli.session import current
        from kctl.client.http import resource_path

        return resource_path(current().resolve("pods"), self.namespace, self.pod, "log")


@app.command(cls=KubectlCommand)
def logs(
    target: Annotated[
        str | None, typer.Argument(metavar="(POD | TYPE/NAME)", autocompletion=complete_pods)
    ] = None,
    container_arg: Annotated[str | None, typer.Argument(metavar="[CONTAINER]", hidden=True)] = None,
    container: Annotated[
        str | None, typer.Option("--container", "-c", help="The container to read.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream the log as it grows.")
    ] = False,
    tail: Annotated[
        int, typer.Option("--tail", help="Only the last N lines (-1: all; 10 with -l).")
    ] = -1,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only lines newer than this duration (5s, 2m, 3h)."),
    ] = None,
    since_time: Annotated[
        str | None, typer.Option("--since-time", help="Only lines after this RFC 3339 time.")
    ] = None,
    previous: Annotated[
        bool,
        typer.Option("--previous", "-p", help="The previous (crashed) instance of the container."),
    ] = False,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", help="Start each line with its timestamp.")
    ] = False,
    limit_bytes: Annotated[
        int, typer.Option("--limit-bytes", help="At most this many bytes (0: no limit).")
    ] = 0,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="Every pod matching this label query.")
    ] = None,
    all_containers: Annotated[
        bool, typer.Option("--all-containers", help="Every container of the pod(s).")
    ] = False,
    prefix: Annotated[
        bool, typer.Option("--prefix", help="Start each line with [pod/NAME/CONTAINER].")
    ] = False,
    max_log_requests: Annotated[
        int,
        typer.Option("--max-log-requests", help="At most this many concurrent -f streams with -l."),
    ] = 5,
    pod_running_timeout: Annotated[
        str,
        typer.Option(
            "--pod-running-timeout", help="How long to wait for a pod of TYPE/NAME to exist."
        ),
    ] = "20s",
    ignore_errors: Annotated[
        bool, typer.Option("--ignore-errors", help="With several streams, go on when one fails.")
    ] = False,
) -> None:
    """Print the logs of a container in a pod."""
    from kctl.cli.session import current
    from kctl.cli.watching import parse_duration

    if selector and target:
        raise CliError(
            "only a selector (-l) or a POD name is allowed\nSee 'kctl logs -h' for help and examples"
        )
    if not selector and not target:
        raise CliError(USAGE)
    container = container or container_arg
    if since and since_time:
        raise CliError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if all_containers and container:
        raise CliError(
            f"--all-containers=true should not be specified with container name {container}"
        )
    params: dict[str, Any] = {}
    if follow:
        params["follow"] = True
    if previous:
        params["previous"] = True
    try:
        if since:
            import math

            params["sinceSeconds"] = math.ceil(parse_duration(since))
        wait_seconds = parse_duration(pod_running_timeout)
    except ValueError as exc:
        raise CliError(f"invalid duration: {exc}") from None
    if since_time:
        params["sinceTime"] = since_time
    if selector and tail == -1:
        tail = SELECTOR_DEFAULT_TAIL
    if tail >= 0:
        params["tailLines"] = tail
    if timestamps:
        params["timestamps"] = True
    if limit_bytes > 0:
        params["limitBytes"] = limit_bytes

    session = current()
    pods = _pods(session, target, selector, wait_seconds)
    if not pods:
        print(f"No resources found in {session.namespace} namespace.", file=sys.stderr)
        return
    requests = [
        r for pod in pods for r in _requests(pod, container, all_containers, params, prefix)
    ]
    if follow and len(requests) > 1:
        if len(requests) > max_log_requests:
            raise CliError(
                f"you are attempting to follow {len(requests)} log streams, but maximum allowed "
                f"concurrency is {max_log_requests}, use --max-log-requests to increase the limit"
            )
        _follow_all(session, requests, ignore_errors)
        return
    for request in requests:
        _print_log(session, request)


def _pods(
    session: Session, target: str | None, selector: str | None, wait: float
) -> list[dict[str, Any]]:
    from kctl.cli.podpick import resolve_pod

    if target:
        return [resolve_pod(session, target, wait, logs_wording=True)]
    listing = session.client.list(
        session.resolve("pods"), session.namespace, label_selector=selector
    )
    return list(listing.get("items") or [])


def _requests(
    pod: dict[str, Any], container: str | None, every: bool, params: dict[str, Any], prefix: bool
) -> list[LogRequest]:
    from kctl.cli.podpick import all_containers, container_exists, default_container

    meta = pod.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    if every:
        names = [str(c.get("name")) for c in all_containers(pod)]
    elif container:
        if not container_exists(pod, container):
            raise CliError(f"container {container} is not valid for pod {name}")
        names = [container]
    else:
        names = [default_container(pod)]
    return [
        LogRequest(
            name, namespace, c, {"container": c, **params}, f"[pod/{name}/{c}] " if prefix else ""
        )
        for c in names
    ]


def _write(text: str, lock: threading.Lock | None = None) -> None:
    if lock is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with lock:
        sys.stdout.write(text)
        sys.stdout.flush()


def _print_log(session: Session, request: LogRequest, lock: threading.Lock | None = None) -> None:
    if request.params.get("follow"):
        for line in session.client.stream_lines(request.path, request.params):
            _write(f"{request.prefix}{line}\n", lock)
        return
    body = session.client.request("GET", request.path, params=request.params)
    text = body if isinstance(body, str) else ""
    if request.prefix:
        text = "".join(request.prefix + line for line in text.splitlines(keepends=True))
    _write(text, lock)


def _follow_all(session: Session, requests: list[LogRequest], ignore_errors: bool) -> None:
    """Several followed streams at once; the first failure ends the command unless
    ``--ignore-errors``."""
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run(request: LogRequest) -> None:
        try:
            _print_log(session, request, lock)
        except Exception as exc:  # reported below, from the main thread
            if ignore_errors:
                with lock:
                    print(f"error: {exc}", file=sys.stderr)
            else:
                failures.append(exc)

    threads = [threading.Thread(target=run, args=(r,), daemon=True) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive() and not failures:
            thread.join(0.2)
        if failures:
            raise failures[0]
