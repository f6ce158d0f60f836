"""Shell completion of resource types and names, asking the server like kubectl does.

``kctl scale deploy <TAB>`` lists the Deployments of the namespace, ``kctl logs <TAB>``
the Pods, ``kctl rollout status deploy/<TAB>`` ``deploy/NAME`` words. Typer calls
these functions (``autocompletion=``) with the words already parsed into
the command line (or, without one, ``ctx.params``); the first resource word is the
type, the later ones names.

Completion runs on every TAB press, so it must be quick and must never fail loudly:
the server gets a short timeout, and any error (no kubeconfig, server down, unknown
type) simply completes nothing. The global flags (``-n``, ``--context``,
``--kubeconfig``) are read back from the words being completed, because main.py lifts
them from ``argv``, which is empty while completing.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

import typer  # typer evaluates the callbacks' annotations at run time

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.cli.session import Session

COMPLETION_TIMEOUT = 3.0  # seconds per request; a TAB press must not hang


def _words() -> list[str] | None:
    """The command line being completed, when the shell passed it (bash, zsh, fish)."""
    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS")
    if line is None:
        return None
    try:
        return shlex.split(line)
    except ValueError:
        return None


def _session(words: list[str] | None) -> Session:
    """The session, with the global flags found in the words being completed."""
    from kctl.cli.globalflags import lift
    from kctl.cli.session import Session, current

    base = current().flags
    if words:
        flags, _ = lift(words[1:])
        for field in ("kubeconfig", "context", "namespace"):
            if getattr(base, field) is None:
                setattr(base, field, getattr(flags, field))
    return Session(base)


def _names(session: Session, info: ResourceInfo) -> list[str]:
    from kctl.client.http import Client

    with Client(session.config, timeout=COMPLETION_TIMEOUT, user_agent="kctl") as client:
        listing = client.list(info, session.namespace if info.namespaced else None)
    return [str(i.get("metadata", {}).get("name", "")) for i in listing.get("items") or []]


def _types(session: Session) -> list[str]:
    return sorted(
        {info.plural for info in session.registry}
        | {short for info in session.registry for short in info.short_names}
    )


def _complete(
    session: Session, previous: list[str], incomplete: str, default_type: str | None
) -> list[str]:
    if "/" in incomplete:
        word, _, _ = incomplete.partition("/")
        return [f"{word}/{n}" for n in _names(session, session.resolve(word))]
    if default_type is not None and not previous:
        return _names(session, session.resolve(default_type))
    if not previous:
        return _types(session)
    if any("/" in word or "=" in word for word in previous):
        return []  # TYPE/NAME form or key=value pairs: nothing more to name here
    info = session.resolve(previous[0].split(",")[0])
    return [n for n in _names(session, info) if n not in previous[1:]]


def _positionals(ctx: typer.Context, words: list[str] | None, incomplete: str) -> list[str]:
    """The positional words typed so far for this command. From the shell's words when
    there are (click does not know the global flags, which main.py lifts from argv and
    which are absent while completing), else from what click parsed."""
    if words is None:
        found: list[str] = []
        for value in ctx.params.values():
            if isinstance(value, list | tuple):
                found += [str(v) for v in value]
        return found
    from kctl.cli.globalflags import lift

    _, rest = lift(words[1:])
    if rest and rest[-1] == incomplete:
        rest = rest[:-1]
    for name in ctx.command_path.split()[1:]:  # the verb (and sub-verb) words
        if name in rest:
            rest = rest[rest.index(name) + 1 :]
    valued = {
        opt
        for p in ctx.command.params
        if getattr(p, "param_type_name", "") == "option" and not getattr(p, "is_flag", False)
        for opt in p.opts
    }
    positional, skip = [], False
    for word in rest:
        if skip:
            skip = False
        elif word.startswith("-") and word != "-":
            skip = word in valued
        else:
            positional.append(word)
    return positional


def complete_resources(ctx: typer.Context, incomplete: str) -> list[str]:
    """``TYPE`` then names of that type, or ``TYPE/NAME``."""
    try:
        words = _words()
        previous = _positionals(ctx, words, incomplete)
        found = _complete(_session(words), previous, incomplete, None)
        return [c for c in found if c.startswith(incomplete)]
    except Exception:  # completion must never break the shell
        return []


def complete_pods(ctx: typer.Context, incomplete: str) -> list[str]:
    """Pod names, or ``TYPE/NAME`` (``logs``, ``exec``)."""
    try:
        found = _complete(_session(_words()), [], incomplete, "pods")
        return [c for c in found if c.startswith(incomplete)]
    except Exception:  # completion must never break the shell
        return []
