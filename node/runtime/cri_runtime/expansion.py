"""``$(VAR)`` expansion exactly as Kubernetes does it (third_party/forked/golang/expansion).

``$(NAME)`` is replaced by the variable's value when it is defined and left as written
when it is not; ``$$`` is an escaped ``$``; any other ``$`` is copied. Env values see the
variables defined before them; command and args see the container's whole environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

OPERATOR = "$"
OPENER = "("
CLOSER = ")"


def _read_name(text: str) -> tuple[str, bool, int]:
    """(what to write or look up, whether it is a variable name, characters consumed)."""
    first = text[0]
    if first == OPERATOR:
        return OPERATOR, False, 1
    if first == OPENER:
        end = text.find(CLOSER, 1)
        if end >= 0:
            return text[1:end], True, end + 1
        return OPERATOR + OPENER, False, 1
    return OPERATOR + first, False, 1


def expand(text: str, mapping: Callable[[str], str]) -> str:
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_name(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """Look a name up in each context in turn; unknown names stay ``$(NAME)``."""

    def lookup(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"$({name})"

    return lookup
