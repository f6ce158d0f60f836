"""``kctl exec POD [-c CONTAINER] -- COMMAND [ARG...]``: run a command in a container.

kubectl speaks a streaming protocol (WebSocket, SPDY fallback) for exec. kctl uses a
request/response form of the same endpoint, which its API server forwards to the
pod's node agent (:mod:`kctl.server.nodeproxy`, :mod:`node.server`; the agent runs the
command with CRI ExecSync, which takes no input, so ``-i`` with input is refused):

    POST /api/v1/namespaces/NS/pods/NAME/exec?command=ls&command=-l&container=c
         &stdin=false&stdout=true&stderr=true&tty=false
    Content-Type: application/json
    {"stdin": "<all of standard input, with -i>"}          (body only with -i)

    200 {"stdout": "...", "stderr": "...", "exitCode": 0}

The query parameters are kubectl's (repeated ``command`` in argument order), so one
server endpoint serves both clients; only the body/answer form is kctl's. The output
is printed once the command has finished (no streaming, no TTY: ``-t`` is refused on
a non-terminal as in kubectl and otherwise ignored with a note). The command's exit
code becomes kctl's, after kubectl's ``command terminated with exit code N`` note.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.completion import complete_pods
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand, args_len_at_dash

NO_DASH = (
    "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n"
    "See 'kctl exec -h' for help and examples"
)


@app.command("exec", cls=KubectlCommand)
def exec_(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(metavar="(POD | TYPE/NAME)", autocompletion=complete_pods)
    ] = None,
    command: Annotated[list[str] | None, typer.Argument(metavar="-- COMMAND [ARG...]")] = None,
    container: Annotated[
        str | None,
        typer.Option(
            "--container", "-c", help="The container (default: the pod's default container)."
        ),
    ] = None,
    stdin: Annotated[
        bool, typer.Option("--stdin", "-i", help="Send standard input to the command.")
    ] = False,
    tty: Annotated[
        bool, typer.Option("--tty", "-t", help="Ask for a TTY (not supported: ignored).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only print the command's own output.")
    ] = False,
    pod_running_timeout: Annotated[
        str,
        typer.Option(
            "--pod-running-timeout", help="How long to wait for a pod of TYPE/NAME to exist."
        ),
    ] = "1m",
) -> None:
    """Execute a command in a container and exit with its exit code."""
    from kctl.cli.podpick import default_container, resolve_pod
    from kctl.cli.session import current
    from kctl.cli.watching import parse_duration

    dash = args_len_at_dash(ctx)
    if not target:
        raise CliError("pod or type/name must be specified")
    if command and (dash is None or dash > 1):
        raise CliError(NO_DASH)
    if not command:
        raise CliError("you must specify at least one command for the container")
    if tty and not quiet:
        if not sys.stdin.isatty():
            print(
                "Unable to use a TTY - input is not a terminal or the right kind of file",
                file=sys.stderr,
            )
        else:
            print("kctl exec runs commands without a TTY; -t is ignored", file=sys.stderr)
    try:
        wait_seconds = parse_duration(pod_running_timeout)
    except ValueError as exc:
        raise CliError(f"invalid duration: {exc}") from None

    session = current()
    pod = resolve_pod(session, target, wait_seconds)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CliError(f"cannot exec into a container in a completed pod; current phase is {phase}")
    name = container or default_container(pod, quiet=quiet)
    answer = _run(session, pod, name, command, sys.stdin.read() if stdin else None)
    sys.stdout.write(str(answer.get("stdout") or ""))
    sys.stdout.flush()
    sys.stderr.write(str(answer.get("stderr") or ""))
    code = int(answer.get("exitCode") or 0)
    if code:
        if not quiet:
            print(f"command terminated with exit code {code}", file=sys.stderr)
        raise typer.Exit(code)


def _run(
    session: Any, pod: dict[str, Any], container: str, command: list[str], stdin: str | None
) -> dict[str, Any]:
    from kctl.client.http import RequestSpec, resource_path

    meta = pod.get("metadata") or {}
    path = resource_path(session.resolve("pods"), meta.get("namespace"), meta.get("name"), "exec")
    query = [("command", word) for word in command]
    query += [
        ("container", container),
        ("stdin", "true" if stdin is not None else "false"),
        ("stdout", "true"),
        ("stderr", "true"),
        ("tty", "false"),
    ]
    headers, body = {}, None
    if stdin is not None:
        headers, body = {"Content-Type": "application/json"}, json.dumps({"stdin": stdin}).encode()
    # ``command`` repeats, which Client.request's params mapping cannot express yet, so
    # the request is described directly and sent through the client's sender.
    answer = session.client._run(RequestSpec("POST", path, tuple(query), headers, body))
    if not isinstance(answer, dict):
        raise CliError("the server's exec answer is not the expected JSON object")
    return answer
