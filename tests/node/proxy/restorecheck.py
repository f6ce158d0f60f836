"""A checker for iptables-restore input: every jump lands on something that exists."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

BUILTIN_TARGETS = frozenset(
    {
        "ACCEPT",
        "DROP",
        "RETURN",
        "REJECT",
        "DNAT",
        "SNAT",
        "MASQUERADE",
        "MARK",
        "LOG",
        "CONNMARK",
        "NOTRACK",
    }
)
BUILTIN_CHAINS = {
    "filter": {"INPUT", "FORWARD", "OUTPUT"},
    "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
    "security": {"INPUT", "FORWARD", "OUTPUT"},
}


def dangling_jumps(text: str, existing: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Problems in ``text``: jumps to chains neither built in, declared in the same table
    of the restore, nor in ``existing``; rules appended to undeclared chains; deleted
    chains still jumped to."""
    problems: list[str] = []
    table = ""
    declared: set[str] = set()
    deleted: set[str] = set()
    rules: list[tuple[int, list[str]]] = []

    def finish() -> None:
        known = declared | BUILTIN_CHAINS.get(table, set()) | set((existing or {}).get(table, ()))
        for n, words in rules:
            chain = words[1]
            if chain not in known:
                problems.append(f"line {n}: rule appended to unknown chain {chain}")
            for flag in ("-j", "-g"):
                if flag in words:
                    target = words[words.index(flag) + 1]
                    if target in deleted:
                        problems.append(f"line {n}: jump to deleted chain {target}")
                    elif target not in BUILTIN_TARGETS and target not in known:
                        problems.append(f"line {n}: jump to unknown chain {target} ({table})")

    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("*"):
            table, declared, deleted, rules = line[1:], set(), set(), []
        elif line.startswith(":"):
            declared.add(line[1:].split()[0])
        elif line.startswith("-A "):
            rules.append((n, shlex.split(line)))
        elif line.startswith("-X "):
            deleted.add(line.split()[1])
        elif line == "COMMIT":
            finish()
    return problems
