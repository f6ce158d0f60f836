"""kubectl's JSONPath templates (``k8s.io/client-go/util/jsonpath``), rule for rule.

Scripts written against kubectl feed it templates like ``{.items[*].metadata.name}``,
``{range .items[*]}{.metadata.name}{"\\n"}{end}`` or
``{.items[?(@.status.phase=="Running")].metadata.name}`` and depend on its quirks, so
this is not a generic JSONPath library but client-go's dialect:

* text outside ``{}`` is copied; inside, ``.field`` (``\\.`` escapes a dot in a key),
  ``[n]``, ``[a:b:c]``, ``[*]``, ``[n,m]`` unions, ``['key']`` (parsed as ``.key``, so a
  key containing dots needs the ``\\.`` form), ``..`` recursive descent, ``.*``,
  ``[?(@.x op y)]`` filters (``== != < > <= >=``, or bare existence), quoted strings,
  numbers, ``true``/``false``, and ``range`` ... ``end`` (which kubectl evaluates as a flat
  state machine: a ``range`` without ``end`` runs its body once more after the loop);
* every expression's results are printed space-separated, strings raw, maps and
  lists as compact JSON, numbers as Go prints them; ``jsonpath-as-json`` prints each
  expression's results as an indented JSON array;
* missing keys print nothing (kubectl allows missing keys), but an index out of
  range, filtering a non-list or comparing a number with a string is an error with
  client-go's wording.

Maps are walked in sorted key order where Go's order is random (``..``, ``.*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kctl.cli.printers.gofmt import format_float, go_type, json_compact, sprint


class JSONPathError(Exception):
    """A template that does not parse, or fails on the data."""


# --- nodes -------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    pass


@dataclass(eq=False)
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass(eq=False)
class TextNode(Node):
    text: str


@dataclass(eq=False)
class FieldNode(Node):
    name: str


@dataclass(eq=False)
class IdentifierNode(Node):
    name: str


@dataclass(eq=False)
class ArrayNode(Node):
    # (known, value, derived) for start, end, step
    params: tuple[tuple[bool, int, bool], ...]


@dataclass(eq=False)
class FilterNode(Node):
    left: ListNode
    right: ListNode
    operator: str


@dataclass(eq=False)
class UnionNode(Node):
    branches: list[ListNode]


@dataclass(eq=False)
class LiteralNode(Node):
    value: Any  # int, float or bool


@dataclass(eq=False)
class RecursiveNode(Node):
    pass


@dataclass(eq=False)
class WildcardNode(Node):
    pass


# --- parser ---------------------------------------------------------------------------------

_EOF = ""
_TERMINATORS = " \t\r\n.,[]$@{}"
_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$", re.DOTALL)
_GO_INT = re.compile(r"[+-]?\d+")


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


def _go_rune(ch: str) -> str:
    """``%#U``: ``U+002C ','``."""
    return f"U+{ord(ch):04X} '{ch}'"


def _unquote(text: str) -> str:
    """Go's ``UnquoteExtend``: a single- or double-quoted string with Go escapes."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "\"'":
        raise JSONPathError("invalid syntax")
    quote, body = text[0], text[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out: list[str] = []
    i = 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
    while i < len(body):
        ch = body[i]
        if ch == quote:
            raise JSONPathError("invalid syntax")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise JSONPathError("invalid syntax")
        esc = body[i + 1]
        if esc in simple:
            out.append(simple[esc])
            i += 2
        elif esc == "\\" or esc == quote:
            out.append(esc)
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise JSONPathError("invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif esc in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits):
                raise JSONPathError("invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise JSONPathError("invalid syntax")
    return "".join(out)


class _Parser:
    """client-go's template parser: text and ``{...}`` actions into a node list."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.root = ListNode()

    # -- cursor
    def next(self) -> str:
        if self.pos >= len(self.input):
            self.pos += 1  # like Go, so that backup() after EOF is harmless
            return _EOF
        ch = self.input[self.pos]
        self.pos += 1
        return ch

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else _EOF

    def backup(self) -> None:
        self.pos -= 1

    def consume(self) -> str:
        value = self.input[self.start : min(self.pos, len(self.input))]
        self.start = self.pos
        return value

    def rest(self) -> str:
        return self.input[self.pos :]

    # -- grammar
    def parse(self) -> ListNode:
        self.parse_text()
        return self.root

    def parse_text(self) -> None:
        while True:
            if self.rest().startswith("{"):
                if self.pos > self.start:
                    self.root.nodes.append(TextNode(self.consume()))
                self.pos += 1
                self.consume()
                action = ListNode()
                self.root.nodes.append(action)
                self.parse_inside(action)
                return
            if self.next() == _EOF:
                break
        self.pos = min(self.pos, len(self.input))
        if self.pos > self.start:
            self.root.nodes.append(TextNode(self.consume()))

    def parse_inside(self, cur: ListNode) -> None:
        while True:
            rest = self.rest()
            if rest.startswith("}"):
                self.pos += 1
                self.consume()
                self.parse_text()
                return
            if rest.startswith("[?("):
                self.parse_filter(cur)
                continue
            if rest.startswith(".."):
                self.parse_recursive(cur)
                continue
            ch = self.next()
            if ch == _EOF or ch in "\r\n":
                raise JSONPathError("unclosed action")
            if ch == " ":
                self.consume()
            elif ch in "@$":
                self.consume()
            elif ch == "[":
                self.parse_array(cur)
            elif ch in "\"'":
                self.parse_quote(cur, ch)
            elif ch == ".":
                self.parse_field(cur)
            elif ch in "+-" or ch.isdigit():
                self.backup()
                self.parse_number(cur)
            elif _is_alnum(ch):
                self.backup()
                self.parse_identifier(cur)
            else:
                raise JSONPathError(f"unrecognized character in action: {_go_rune(ch)}")

    def parse_identifier(self, cur: ListNode) -> None:
        while True:
            ch = self.next()
            if ch == _EOF or ch in _TERMINATORS:
                self.backup()
                break
        value = self.consume()
        if value in ("true", "false"):
            cur.nodes.append(LiteralNode(value == "true"))
        else:
            cur.nodes.append(IdentifierNode(value))

    def parse_recursive(self, cur: ListNode) -> None:
        if cur.nodes and isinstance(cur.nodes[-1], RecursiveNode):
            raise JSONPathError("invalid multiple recursive descent")
        self.pos += 2
        self.consume()
        cur.nodes.append(RecursiveNode())
        if _is_alnum(self.peek()) and self.peek() != _EOF:
            self.parse_field(cur)

    def parse_number(self, cur: ListNode) -> None:
        if self.peek() in ("+", "-") and self.peek() != _EOF:
            self.next()
        while True:
            ch = self.next()
            if ch == _EOF or not (ch == "." or ch.isdigit()):
                self.backup()
                break
        value = self.consume()
        if _GO_INT.fullmatch(value):
            cur.nodes.append(LiteralNode(int(value)))
            return
        try:
            cur.nodes.append(LiteralNode(float(value)))
        except ValueError:
            raise JSONPathError(f"cannot parse number {value}") from None

    def parse_array(self, cur: ListNode) -> None:
        while True:
            ch = self.next()
            if ch == _EOF or ch == "\n":
                raise JSONPathError("unterminated array")
            if ch == "]":
                break
        text = self.consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            branches = [_parse_action(f"[{p.strip(' ')}]") for p in parts]
            cur.nodes.append(UnionNode(branches))
            return
        key = _DICT_KEY.match(text)
        if key:
            cur.nodes.extend(_parse_action(f".{key.group(1)}").nodes)
            return
        m = _SLICE.match(text)
        if m is None:
            raise JSONPathError(f"invalid array index {text}")
        groups = [m.group(1) or "", m.group(2) or "", m.group(3) or ""]
        params: list[tuple[bool, int, bool]] = []
        for i, raw in enumerate(groups):
            if raw:
                value = raw[1:] if i > 0 else raw
                if i > 0 and value == "":
                    params.append((False, 0, False))
                else:
                    try:
                        params.append((True, int(value), False))
                    except ValueError:
                        raise JSONPathError(f"array index {value} is not a number") from None
            elif i == 1:
                params.append((True, params[0][1] + 1, True))
            else:
                params.append((False, 0, False))
        cur.nodes.append(ArrayNode(tuple(params)))

    def parse_filter(self, cur: ListNode) -> None:
        self.pos += 3
        self.consume()
        begin = end = False
        pair = ""
        while True:
            ch = self.next()
            if ch == _EOF or ch == "\n":
                raise JSONPathError("unterminated filter")
            if ch in "\"'":
                if not begin:
                    begin, pair = True, ch
                    continue
                if self.input[self.pos - 2] != "\\" and ch == pair:
                    end = True
            elif ch == ")" and begin == end:
                break
        if self.next() != "]":
            raise JSONPathError("unclosed array expect ]")
        text = self.consume()[:-2]
        m = _FILTER.match(text)
        if m is None:
            cur.nodes.append(FilterNode(_parse_action(text), ListNode(), "exists"))
        else:
            cur.nodes.append(
                FilterNode(_parse_action(m.group(1)), _parse_action(m.group(3)), m.group(2))
            )

    def parse_quote(self, cur: ListNode, end: str) -> None:
        while True:
            ch = self.next()
            if ch == _EOF or ch == "\n":
                raise JSONPathError("unterminated quoted string")
            if ch == "\\":
                nxt = self.next()
                if nxt != _EOF and nxt != "\n":
                    continue
                break
            if ch == end:
                break
        value = self.consume()
        try:
            cur.nodes.append(TextNode(_unquote(value)))
        except JSONPathError as exc:
            raise JSONPathError(f"unquote string {value} error {exc}") from None

    def parse_field(self, cur: ListNode) -> None:
        self.consume()
        while True:
            ch = self.next()
            if ch == "\\":
                self.next()
                continue
            if ch == _EOF or ch in _TERMINATORS:
                self.backup()
                break
        value = self.consume()
        if value == "*":
            cur.nodes.append(WildcardNode())
        else:
            cur.nodes.append(FieldNode(value.replace("\\", "")))


def _parse_action(text: str) -> ListNode:
    """``parseAction``: ``{text}`` parsed, its one action list returned."""
    root = _Parser("{" + text + "}").parse()
    first = root.nodes[0]
    assert isinstance(first, ListNode)
    return first


def parse(template: str) -> list[Node]:
    """The template's top-level nodes (text and action lists)."""
    return _Parser(template).parse().nodes


# --- evaluation --------------------------------------------------------------------------

_MISSING = object()


def _compare_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise JSONPathError("invalid type for comparison")


def _less(a: Any, b: Any) -> bool:
    ka, kb = _compare_kind(a), _compare_kind(b)
    if ka != kb:
        raise JSONPathError("incompatible types for comparison")
    if ka == "bool":
        raise JSONPathError("invalid type for comparison")
    return bool(a < b)


def _equal(a: Any, b: Any) -> bool:
    if _compare_kind(a) != _compare_kind(b):
        raise JSONPathError("incompatible types for comparison")
    return bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op == "<":
        return _less(a, b)
    if op == "<=":
        return _less(a, b) or _equal(a, b)
    if op == ">":
        return not (_less(a, b) or _equal(a, b))
    if op == ">=":
        return not _less(a, b)
    raise JSONPathError(f"unrecognized filter operator {op}")


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value.encode())
    return []


class JSONPath:
    """A parsed template. ``allow_missing_keys`` is kubectl's default (True)."""

    def __init__(self, template: str, *, allow_missing_keys: bool = True) -> None:
        self.template = template
        self.allow_missing_keys = allow_missing_keys
        self.nodes = parse(template)

    # -- results
    def find_results(self, data: Any) -> list[list[Any]]:
        """One list of values per top-level node (ranges expanded), as FindResults."""
        self._begin = self._in = self._end = 0
        self._last_end: Node | None = None
        return self._find(data, self.nodes)

    def _find(self, data: Any, nodes: list[Node]) -> list[list[Any]]:
        full: list[list[Any]] = []
        cur = [data]
        i = 0
        while i < len(nodes):
            node = nodes[i]
            results = self._walk(cur, node)
            if 0 < self._end <= self._in:
                self._end -= 1
                self._last_end = node
                break
            if self._begin > 0:
                self._begin -= 1
                self._in += 1
                body = nodes[i + 1 :]
                if results:
                    for value in results:
                        full.extend(self._find(value, body))
                else:
                    self._find(None, body)
                self._in -= 1
                for k in range(i + 1, len(nodes)):
                    if nodes[k] is self._last_end:
                        i = k
                        break
                i += 1
                continue
            full.append(results)
            i += 1
        return full

    def _walk(self, values: list[Any], node: Node) -> list[Any]:
        if isinstance(node, ListNode):
            for child in node.nodes:
                values = self._walk(values, child)
            return values
        if isinstance(node, TextNode):
            return [node.text]
        if isinstance(node, FieldNode):
            return self._field(values, node.name)
        if isinstance(node, ArrayNode):
            return self._array(values, node)
        if isinstance(node, FilterNode):
            return self._filter(values, node)
        if isinstance(node, LiteralNode):
            return [node.value]
        if isinstance(node, WildcardNode):
            return [c for v in values if v is not None for c in _children(v)]
        if isinstance(node, RecursiveNode):
            return self._recursive(values)
        if isinstance(node, UnionNode):
            out: list[Any] = []
            for branch in node.branches:
                out.extend(self._walk(values, branch))
            return out
        if isinstance(node, IdentifierNode):
            return self._identifier(values, node.name)
        raise JSONPathError(f"unexpected Node {node}")

    def _field(self, values: list[Any], name: str) -> list[Any]:
        out: list[Any] = []
        if not values:
            return out
        for value in values:
            if value is None:
                continue
            if isinstance(value, dict):
                found = value.get(name, _MISSING)
                if found is not _MISSING:
                    out.append(found)
        if not out and not self.allow_missing_keys:
            raise JSONPathError(f"{name} is not found")
        return out

    def _array(self, values: list[Any], node: ArrayNode) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if value is None:
                continue
            if not isinstance(value, list):
                raise JSONPathError(f"{go_type(value)} is not array or slice")
            length = len(value)
            (k0, start, _), (k1, end, derived), (k2, step, _) = node.params
            if not k0:
                start = 0
            if start < 0:
                start += length
            if not k1:
                end = length
            if end < 0 or (end == 0 and derived):
                end += length
            if end == start:
                return out
            if start >= length or start < 0:
                raise JSONPathError(f"array index out of bounds: index {start}, length {length}")
            if end > length or end < 0:
                raise JSONPathError(f"array index out of bounds: index {end - 1}, length {length}")
            if start > end:
                raise JSONPathError(f"starting index {start} is greater than ending index {end}")
            if k2 and step <= 0:
                raise JSONPathError("step must be > 0")
            out.extend(value[start : end : step if k2 else 1])
        return out

    def _filter(self, values: list[Any], node: FilterNode) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise JSONPathError(f"{sprint(value)} is not array or slice and cannot be filtered")
            for item in value:
                try:
                    lefts = self._walk([item], node.left)
                except JSONPathError:
                    if node.operator == "exists":
                        continue
                    raise
                if node.operator == "exists":
                    if lefts:
                        out.append(item)
                    continue
                if not lefts:
                    continue
                if len(lefts) > 1:
                    raise JSONPathError("can only compare one element at a time")
                rights = self._walk([item], node.right)
                if not rights:
                    continue
                if len(rights) > 1:
                    raise JSONPathError("can only compare one element at a time")
                if _compare(node.operator, lefts[0], rights[0]):
                    out.append(item)
        return out

    def _recursive(self, values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if value is None:
                continue
            children = _children(value)
            if children:
                out.append(value)
                out.extend(self._recursive(children))
        return out

    def _identifier(self, values: list[Any], name: str) -> list[Any]:
        if name == "range":
            self._begin += 1
            return values
        if name == "end":
            if self._in > 0:
                self._end += 1
                return []
            raise JSONPathError("not in range, nothing to end")
        raise JSONPathError(f"unrecognized identifier {name}")

    # -- printing
    def execute(self, data: Any, *, as_json: bool = False) -> str:
        """The template's output for ``data`` (kubectl's ``PrintResults`` per node)."""
        from kctl.cli.printers.json import dumps as json_dumps

        out: list[str] = []
        for results in self.find_results(data):
            if as_json:
                out.append(json_dumps(results))
                continue
            out.append(" ".join(_text(v) for v in results))
        return "".join(out)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json_compact(value)
    if isinstance(value, float):
        return format_float(value)
    return sprint(value)


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """kubectl's ``RelaxedJSONPathExpression``: ``metadata.name``, ``.metadata.name`` and
    ``{metadata.name}`` all become ``{.metadata.name}``."""
    if not expression:
        return expression
    m = _RELAXED.match(expression)
    if m is None:
        raise JSONPathError(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'"
        )
    return "{." + (m.group(1) or m.group(2)) + "}"
