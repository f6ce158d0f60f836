"""kubectl's global flags, accepted anywhere on the command line.

kubectl users write ``kctl get pods -n web --context prod``; click only accepts an option
on the command that declares it. Rather than declare the same five options on every
verb, the few global flags are lifted out of ``argv`` before click parses it (up to a
``--``, after which everything belongs to the user's command, as in ``kctl exec``).
"""

from __future__ import annotations

from dataclasses import dataclass

# flag spellings -> field name; every one of them takes a value
_VALUED = {
    "--kubeconfig": "kubeconfig",
    "--context": "context",
    "--namespace": "namespace",
    "-n": "namespace",
    "--v": "verbosity",
    "-v": "verbosity",
    "--request-timeout": "request_timeout",
}


@dataclass
class GlobalFlags:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    verbosity: int = 0
    request_timeout: str | None = None


def lift(argv: list[str]) -> tuple[GlobalFlags, list[str]]:
    """Split ``argv`` into the global flags and what is left for click."""
    flags = GlobalFlags()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name, eq, value = arg.partition("=")
        field = _VALUED.get(name)
        if field is None and arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):
            field, value, eq = "namespace", arg[2:], "="  # -nweb
        if field is None:
            rest.append(arg)
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                rest.append(arg)  # let click report the missing value
                break
            value = argv[i + 1]
            i += 1
        i += 1
        if field == "verbosity":
            flags.verbosity = int(value) if value.isdigit() else 0
        else:
            setattr(flags, field, value)
    return flags, rest
