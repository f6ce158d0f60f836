"""A checker for ``nft -f`` input of the proxy: every reference lands on something declared."""

from __future__ import annotations

import re
from collections.abc import Iterable

from node.proxy.nftables import QUALIFIED

_JUMP = re.compile(r"\b(?:jump|goto) (\S+?)[,\s}]")
_SET = re.compile(r"@(\S+?)[,\s}]")
_DECLARE = re.compile(rf"^add (chain|map|set) {QUALIFIED} (\S+)")
_DELETE = re.compile(rf"^delete (chain|set) {QUALIFIED} (\S+)")
_USE = re.compile(rf"^(?:add rule|flush chain) {QUALIFIED} (\S+) ?(.*)$")
_ELEMENT = re.compile(rf"^(?:add|delete) element {QUALIFIED} (\S+) (.*)$")


def dangling_references(text: str, existing: Iterable[str] = ()) -> list[str]:
    """Problems in ``text``: rules for, jumps to or ``@`` lookups of names neither
    declared earlier in the text nor in ``existing``, and uses of deleted names."""
    known = set(existing)
    deleted: set[str] = set()
    problems: list[str] = []

    def check(n: int, name: str, what: str) -> None:
        if name in deleted:
            problems.append(f"line {n}: {what} {name} is deleted")
        elif name not in known:
            problems.append(f"line {n}: {what} {name} is not declared")

    for n, line in enumerate(text.splitlines(), 1):
        if m := _DECLARE.match(line):
            known.add(m.group(2))
        elif m := _USE.match(line):
            check(n, m.group(1), "chain")
            for target in _JUMP.findall(m.group(2) + " "):
                check(n, target, "jump target")
            for name in _SET.findall(m.group(2) + " "):
                check(n, name, "set")
        elif m := _ELEMENT.match(line):
            check(n, m.group(1), "map")
            for target in _JUMP.findall(m.group(2)):
                check(n, target, "jump target")
        elif m := _DELETE.match(line):
            deleted.add(m.group(2))
    return problems
