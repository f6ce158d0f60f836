"""YAML exactly as ``kubectl get -o yaml`` writes it.

kubectl marshals an object to JSON and converts that to YAML with
``sigs.k8s.io/yaml``, i.e. go-yaml v2 (a port of libyaml). What users see follows
from go-yaml's rules, which this module reproduces:

* mapping keys sorted with go-yaml's key order (runs of digits compare as numbers,
  a non-letter sorts before a letter), 2-space indentation, sequences inside
  mappings not indented (``- name: web`` under ``containers:``), ``{}``/``[]`` for
  empty collections;
* a string is written plain unless YAML 1.1 would read it back as something else
  (``"1"``, ``"true"``, ``"yes"``, ``"~"``, ``""``, timestamps, ``"0x1F"``, ``"1_000"``...),
  then double-quoted; a string with a newline is a literal block (``|``, ``|-``,
  ``|+``); libyaml's scalar analysis then demotes plain to single quotes
  (``'hello: world'``, ``'- x'``, ``'#x'``) and single quotes or blocks to double quotes
  (tabs, control characters, trailing spaces before a line break);
* long plain and quoted strings fold at a space once the line passes 80 columns,
  the continuation indented two more spaces than the key.

ruamel.yaml's emitter differs from libyaml in exactly these places (it prefers
single quotes for ``"1"``, folds *before* a word that would pass the width, allows
blocks with trailing spaces), so the emitter here is written against go-yaml's
behaviour directly; it only ever emits block collections and scalars.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kctl.cli.printers.gofmt import format_float

BEST_WIDTH = 80
BEST_INDENT = 2
MAX_SIMPLE_KEY = 128

PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"

_BREAKS = "\r\n\x85\u2028\u2029"
_FOLD_PARTS = re.compile(r"( +|[\r\n\x85\u2028\u2029])")
# Characters Go's JSON encoder leaves raw and go-yaml's reader then refuses.
_UNREADABLE = re.compile("[\x7f-\x84\x86-\x9f\ufffe\uffff]")


class YamlError(ValueError):
    """The object cannot be written as YAML (kubectl: ``error: yaml: ...``)."""


# --- what YAML 1.1 (go-yaml v2's resolver) would read a plain scalar as --------------

_BOOL_NULL_WORDS = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF "
    "~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF".split()
)
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?))?"
)
_GO_FLOAT = re.compile(
    r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|infinity|nan)", re.IGNORECASE
)


def _go_int(text: str, *, signed: bool) -> bool:
    """Does ``strconv.ParseInt(text, 0, 64)`` (or ParseUint) accept ``text``?"""
    body = text
    negative = False
    if signed and body[:1] in "+-":
        negative = body[0] == "-"
        body = body[1:]
    if not body:
        return False
    base, digits = 10, body
    lower = body[:2].lower()
    if lower in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[lower], body[2:]
    elif body[0] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
    if not digits:
        return False
    try:
        value = int(digits, base)
    except ValueError:
        return False
    if not signed:
        return value < 1 << 64
    return value <= (1 << 63) - (0 if negative else 1)


def _is_timestamp(text: str) -> bool:
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        return False
    year, month, day = (int(g) for g in m.group(1, 2, 3))
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    clock = m.group(4, 5, 6) if m.group(4) else m.group(7, 8, 9)
    if clock[0] is None:
        return True
    hour, minute, second = (int(g) for g in clock)
    return hour < 24 and minute < 60 and second < 60


def resolves_to_string(text: str) -> bool:
    """True if go-yaml v2 would read ``text``, written plain, back as the same string
    (so it may be written plain); False for null/bool/int/float/timestamp lookalikes."""
    if text == "":
        return False
    first = text[0]
    if first in "yYnNtTfFoO~":
        return text not in _BOOL_NULL_WORDS
    if first == ".":
        return text not in _BOOL_NULL_WORDS and not _GO_FLOAT.fullmatch(text)
    if first in "+-0123456789":
        if text in _BOOL_NULL_WORDS or (first in "0123456789" and _is_timestamp(text)):
            return False
        plain = text.replace("_", "")
        if _go_int(plain, signed=True) or _go_int(plain, signed=False):
            return False
        if _YAML_FLOAT.fullmatch(plain):
            return False
        lower = plain.lower()
        if lower.startswith(("0b", "-0b")):
            digits = plain[2:] if lower.startswith("0b") else plain[3:]
            if digits and all(c in "01" for c in digits):
                return False
        return not (_BASE60.fullmatch(text) and ":" in text)
    return True


# --- libyaml's scalar analysis --------------------------------------------------------


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


class _Analysis:
    __slots__ = ("multiline", "block_plain", "single", "block")

    def __init__(self, multiline: bool, block_plain: bool, single: bool, block: bool) -> None:
        self.multiline = multiline
        self.block_plain = block_plain
        self.single = single
        self.block = block


@functools.lru_cache(maxsize=4096)
def _analyze(value: str) -> _Analysis:
    """``yaml_emitter_analyze_scalar`` (block context: only block-plain matters)."""
    if not value:
        return _Analysis(False, True, True, False)
    block_ind = value.startswith(("---", "...")) and len(value) >= 3
    line_breaks = special = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    prev_space = prev_break = False
    preceded_ws = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_ws = i + 1 >= n or value[i + 1] in " \t"
        if i == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            elif ch in "?:":
                if followed_ws:
                    block_ind = True
            elif ch == "-" and followed_ws:
                block_ind = True
        elif ch == ":":
            if followed_ws:
                block_ind = True
        elif ch == "#" and preceded_ws:
            block_ind = True
        if not _printable(ch):
            special = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = ch in " \t" or ch in _BREAKS
    block_plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        block_plain = False
    if trailing_space:
        block = False
    if break_space:
        block_plain = single = False
    if space_break or special:
        block_plain = single = block = False
    if line_breaks:
        block_plain = False
    if block_ind:
        block_plain = False
    return _Analysis(line_breaks, block_plain, single, block)


# --- go-yaml's key order ------------------------------------------------------------


def _key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        la, lb = ca.isalpha(), cb.isalpha()
        if la and lb:
            return ca < cb
        if la or lb:
            return lb
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_cmp(a: str, b: str) -> int:
    if a == b:
        return 0
    return -1 if _key_less(a, b) else 1


def sorted_keys(mapping: Mapping[str, Any]) -> list[str]:
    """Keys in go-yaml's order (plain order when every key is letters only, where
    the two agree)."""
    keys = list(mapping)
    if all(k.isalpha() and k.isascii() for k in keys):
        return sorted(keys)
    return sorted(keys, key=functools.cmp_to_key(_key_cmp))


# --- the emitter --------------------------------------------------------------------------


class _Emitter:
    """libyaml's block emitter state (column, indent, whitespace/indention flags)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.indent = -1
        self.indents: list[int] = []
        self.whitespace = True
        self.indention = True

    # -- low level
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True
        self.indention = True

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def push_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += BEST_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # -- nodes
    def node(self, value: Any, *, mapping_ctx: bool = False, simple_key: bool = False) -> None:
        if isinstance(value, Mapping):
            if not value:
                self.indicator("{}", True, False, False)
                return
            self.mapping(value)
        elif isinstance(value, list | tuple):
            if not value:
                self.indicator("[]", True, False, False)
                return
            self.sequence(value, mapping_ctx)
        else:
            self.scalar(value, simple_key)

    def mapping(self, value: Mapping[str, Any]) -> None:
        self.push_indent(False, False)
        for key in sorted_keys(value):
            self.write_indent()
            text = str(key)
            if len(text.encode()) <= MAX_SIMPLE_KEY and not _analyze(text).multiline:
                self.scalar(text, True)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.node(text, mapping_ctx=True)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.node(value[key], mapping_ctx=True)
        self.pop_indent()

    def sequence(self, value: list[Any] | tuple[Any, ...], mapping_ctx: bool) -> None:
        self.push_indent(False, mapping_ctx and not self.indention)
        for item in value:
            self.write_indent()
            self.indicator("-", True, False, True)
            self.node(item)
        self.pop_indent()

    def scalar(self, value: Any, simple_key: bool) -> None:
        text, style = _scalar_text(value)
        if _UNREADABLE.search(text):
            raise YamlError("yaml: control characters are not allowed")
        analysis = _analyze(text)
        if simple_key and analysis.multiline:
            style = DOUBLE
        if style == PLAIN and (not analysis.block_plain or (not text and simple_key)):
            style = SINGLE
        if style == SINGLE and not analysis.single:
            style = DOUBLE
        if style == LITERAL and (not analysis.block or simple_key):
            style = DOUBLE
        self.push_indent(True, False)
        breaks = not simple_key
        if style == PLAIN:
            self.write_plain(text, breaks)
        elif style == SINGLE:
            self.write_single(text, breaks)
        elif style == DOUBLE:
            self.write_double(text, breaks)
        else:
            self.write_literal(text)
        self.pop_indent()

    # -- scalar writers (libyaml's, folding at spaces past the width)
    def write_plain(self, text: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        self._write_folded(text, allow_breaks, edges=False)
        self.whitespace = False
        self.indention = False

    def write_single(self, text: str, allow_breaks: bool) -> None:
        self.indicator("'", True, False, False)
        self._write_folded(text.replace("'", "''"), allow_breaks, edges=True)
        self.indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def _write_folded(self, text: str, allow_breaks: bool, *, edges: bool) -> None:
        """libyaml's plain/single-quoted writer: a single space between words becomes a
        line break once the line is past the width (quoted styles never break at the
        first or last character); line break characters are written as breaks, a
        ``\\n`` doubled, and the next text is indented."""
        n = len(text)
        pos = 0
        breaks = False
        for part in _FOLD_PARTS.split(text):
            if not part:
                continue
            if part in _BREAKS:
                if not breaks and part == "\n":
                    self.put_break()
                if part == "\n":
                    self.put_break()
                else:
                    self.out.append(part)
                    self.column = 0
                self.indention = True
                breaks = True
            elif part[0] == " ":
                inside = not edges or (0 < pos < n - 1)
                if allow_breaks and len(part) == 1 and self.column > BEST_WIDTH and inside:
                    self.write_indent()
                else:
                    if breaks:
                        self.write_indent()
                    self.put(part)
                breaks = False
            else:
                if breaks:
                    self.write_indent()
                self.put(part)
                self.indention = False
                breaks = False
            pos += len(part)

    def write_double(self, text: str, allow_breaks: bool) -> None:
        self.indicator('"', True, False, False)
        spaces = False
        n = len(text)
        for i, ch in enumerate(text):
            if not _printable(ch) or ch == "\ufeff" or ch in _BREAKS or ch in '"\\':
                self.put(_double_escape(ch))
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and 0 < i < n - 1:
                    self.write_indent()
                    if text[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(" ")
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, text: str) -> None:
        self.indicator("|", True, False, False)
        hints = str(BEST_INDENT) if text and (text[0] == " " or text[0] in _BREAKS) else ""
        if not text or text[-1] not in _BREAKS:
            hints += "-"
        elif len(text) == 1 or text[-2] in _BREAKS:
            hints += "+"
        if hints:
            self.indicator(hints, False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for line in re.split(r"([\r\n\x85\u2028\u2029])", text):
            if not line:
                continue
            if line in _BREAKS:
                if line == "\n":
                    self.put_break()
                else:
                    self.out.append(line)
                    self.column = 0
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(line)
                self.indention = False
                breaks = False


_DOUBLE_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _double_escape(ch: str) -> str:
    if ch in _DOUBLE_ESCAPES:
        return _DOUBLE_ESCAPES[ch]
    o = ord(ch)
    if o <= 0xFF:
        return f"\\x{o:02X}"
    if o <= 0xFFFF:
        return f"\\u{o:04X}"
    return f"\\U{o:08X}"


def _scalar_text(value: Any) -> tuple[str, str]:
    """A scalar's text and the style go-yaml asks for (before the analysis fallbacks)."""
    if isinstance(value, str):
        if "\n" in value:
            return value, LITERAL
        if resolves_to_string(value):
            return value, PLAIN
        return value, DOUBLE
    if value is None:
        return "null", PLAIN
    if isinstance(value, bool):
        return ("true" if value else "false"), PLAIN
    if isinstance(value, int):
        return str(value), PLAIN
    if isinstance(value, float):
        text = format_float(value)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text), PLAIN
    return str(value), PLAIN


def dumps(value: Any) -> str:
    """One YAML document (no ``---``), ending with a newline, as kubectl prints it."""
    emitter = _Emitter()
    emitter.node(value)
    emitter.write_indent()
    text = "".join(emitter.out)
    return text if text.endswith("\n") else text + "\n"
