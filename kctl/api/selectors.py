"""Label and field selectors: parsing and matching, with kube-apiserver's semantics.

Selectors are parsed once per request (or once per controller) and then matched
against many objects, so parsing builds an immutable list of requirements and matching
is a few dict lookups per requirement; the store filters on the ``labels`` and
``fields`` dicts it extracted at write time, never on decoded objects.

The label grammar is the one of ``k8s.io/apimachinery/pkg/labels``: a small lexer
(identifiers, ``!``, ``=``, ``==``, ``!=``, ``in``, ``notin``, ``(``, ``)``, ``,``, ``>``,
``<``) and a recursive-descent parser whose error sentences match upstream's, because
clients show them verbatim in ``Error from server (BadRequest): ...``. ``in`` and
``notin`` are keywords only where an operator is expected, so ``a=in`` selects the value
"in". Field selectors are the simpler ``k=v``/``k==v``/``k!=v`` terms with backslash
escapes for ``\\``, ``,`` and ``=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kctl.api import meta
from kctl.api.errors import BadRequest

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

# Operators, spelled as in the requirement's string form.
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


# --- label selectors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op in (NOT_EQUALS, NOT_IN):
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        # gt / lt: the label must be an integer
        value = labels.get(self.key)
        if value is None:
            return False
        try:
            have, want = int(value), int(self.values[0])
        except ValueError:
            return False
        return have > want if op == GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(self.values)})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{self.values[0]}"


def _check_key(key: str) -> None:
    errs = meta.qualified_name_errors(key)
    if errs:
        raise _LabelError(f'key: Invalid value: "{key}": {"; ".join(errs)}')


def _requirement(key: str, operator: str, values: Iterable[str]) -> Requirement:
    """Validate as ``labels.NewRequirement`` does; errors are plain messages."""
    vals = tuple(sorted(set(values)))
    _check_key(key)
    if operator in (IN, NOT_IN):
        if not vals:
            raise _LabelError(
                "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
            )
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            raise _LabelError(
                "values: Invalid value: exact-match compatibility requires one single value"
            )
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            raise _LabelError(
                "values: Invalid value: values set must be empty for exists and does not exist"
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            raise _LabelError(
                "values: Invalid value: for 'Gt', 'Lt' operators, exactly one value is required"
            )
        try:
            int(vals[0])
        except ValueError:
            raise _LabelError(
                f"values[0]: Invalid value: \"{vals[0]}\": for 'Gt', 'Lt' operators, the value must be an integer"
            ) from None
    else:
        raise _LabelError(f'operator: Unsupported value: "{operator}"')
    if operator not in (GREATER_THAN, LESS_THAN):
        for i, v in enumerate(vals):
            errs = meta.label_value_errors(v)
            if errs:
                raise _LabelError(f'values[{i}]: Invalid value: "{v}": {"; ".join(errs)}')
    return Requirement(key, operator, vals)


class _LabelError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; no requirements selects everything, unless
    ``nothing`` is set (a nil ``LabelSelector`` object selects nothing)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        for req in self.requirements:
            if not req.matches(labels):
                return False
        return True

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def _sorted(reqs: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(reqs, key=lambda r: r.key))


# Lexer
_SPECIAL = frozenset("=!(),><")
_T_ID, _T_END, _T_COMMA, _T_NOT, _T_EQ, _T_DEQ, _T_NEQ, _T_OPEN, _T_CLOSE = range(9)
_T_IN, _T_NOTIN, _T_GT, _T_LT = range(9, 13)
_SYMBOLS = {
    "!": _T_NOT,
    "!=": _T_NEQ,
    "(": _T_OPEN,
    ")": _T_CLOSE,
    ",": _T_COMMA,
    "=": _T_EQ,
    "==": _T_DEQ,
    ">": _T_GT,
    "<": _T_LT,
}


def _lex(text: str) -> list[tuple[int, str]]:
    tokens: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _SPECIAL:
            two = text[i : i + 2]
            if two in ("!=", "=="):
                tokens.append((_SYMBOLS[two], two))
                i += 2
            else:
                tokens.append((_SYMBOLS[ch], ch))
                i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
            j += 1
        word = text[i:j]
        kind = {"in": _T_IN, "notin": _T_NOTIN}.get(word, _T_ID)
        tokens.append((kind, word))
        i = j
    tokens.append((_T_END, ""))
    return tokens


class _Parser:
    """Upstream's parser: ``Values`` context turns keywords back into identifiers."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def _value_ctx(self, tok: tuple[int, str]) -> tuple[int, str]:
        if tok[0] in (_T_IN, _T_NOTIN):
            return (_T_ID, tok[1])
        return tok

    def peek(self) -> tuple[int, str]:
        return self._value_ctx(self.tokens[self.pos])

    def take(self, values: bool = True) -> tuple[int, str]:
        tok = self.tokens[self.pos]
        if self.pos < len(self.tokens) - 1:
            self.pos += 1
        return self._value_ctx(tok) if values else tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind in (_T_ID, _T_NOT):
                try:
                    reqs.append(self.requirement())
                except _LabelError as err:
                    raise _LabelError(f"unable to parse requirement: {err}") from None
                kind, lit = self.take()
                if kind == _T_END:
                    return reqs
                if kind == _T_COMMA:
                    nkind, nlit = self.peek()
                    if nkind not in (_T_ID, _T_NOT):
                        raise _LabelError(f"found '{nlit}', expected: identifier after ','")
                    continue
                raise _LabelError(f"found '{lit}', expected: ',' or 'end of string'")
            if kind == _T_END:
                return reqs
            raise _LabelError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        operator = ""
        kind, lit = self.take()
        if kind == _T_NOT:
            operator = DOES_NOT_EXIST
            kind, lit = self.take()
        if kind != _T_ID:
            raise _LabelError(f"found '{lit}', expected: identifier")
        key = lit
        _check_key(key)
        if operator == DOES_NOT_EXIST or self.peek()[0] in (_T_END, _T_COMMA):
            # "!a" is complete by itself; "!a=b" fails on the "=" after it, as upstream
            return _requirement(key, operator or EXISTS, ())
        kind, lit = self.take(values=False)
        op = {
            _T_IN: IN,
            _T_NOTIN: NOT_IN,
            _T_EQ: EQUALS,
            _T_DEQ: DOUBLE_EQUALS,
            _T_NEQ: NOT_EQUALS,
            _T_GT: GREATER_THAN,
            _T_LT: LESS_THAN,
        }.get(kind)
        if op is None:
            raise _LabelError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        values = self.set_values() if op in (IN, NOT_IN) else self.exact_value()
        return _requirement(key, op, values)

    def exact_value(self) -> list[str]:
        kind, _ = self.peek()
        if kind in (_T_END, _T_COMMA):
            return [""]
        kind, lit = self.take()
        if kind == _T_ID:
            return [lit]
        raise _LabelError(f"found '{lit}', expected: identifier")

    def set_values(self) -> list[str]:
        kind, lit = self.take()
        if kind != _T_OPEN:
            raise _LabelError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind in (_T_ID, _T_COMMA):
            values = self.identifiers()
            ckind, clit = self.take()
            if ckind != _T_CLOSE:
                raise _LabelError(f"found '{clit}', expected: ')'")
            return values
        if kind == _T_CLOSE:
            self.take()
            return [""]
        raise _LabelError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> list[str]:
        values: list[str] = []
        while True:
            kind, lit = self.take()
            if kind == _T_ID:
                values.append(lit)
                nkind, nlit = self.peek()
                if nkind == _T_COMMA:
                    continue
                if nkind == _T_CLOSE:
                    return values
                raise _LabelError(f"found '{nlit}', expected: ',' or ')'")
            if kind == _T_COMMA:
                # "(,", ",)" and ",," each stand for an empty value
                if not values:
                    values.append("")
                nkind, _ = self.peek()
                if nkind == _T_CLOSE:
                    values.append("")
                    return values
                if nkind == _T_COMMA:
                    self.take()
                    values.append("")
                continue
            raise _LabelError(f"found '{lit}', expected: ',', or identifier")


def parse_label_selector(text: str | None) -> LabelSelector:
    """The ``labelSelector`` query string form; ``""`` selects everything.
    Raises :class:`BadRequest` with upstream's message on a syntax error."""
    if not text or not text.strip():
        return EVERYTHING
    try:
        reqs = _Parser(text).parse()
    except _LabelError as err:
        raise BadRequest(str(err)) from None
    return LabelSelector(_sorted(reqs))


_EXPRESSION_OPERATORS = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
}


def from_label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector`` object (``matchLabels`` + ``matchExpressions``).

    As upstream: ``None`` selects nothing, ``{}`` selects everything. Raises
    :class:`BadRequest` for an unknown operator or invalid key/value."""
    if selector is None:
        return NOTHING
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    reqs: list[Requirement] = []
    try:
        for key, value in match_labels.items():
            reqs.append(_requirement(str(key), EQUALS, (str(value),)))
        for expr in expressions:
            raw_op = expr.get("operator")
            op = _EXPRESSION_OPERATORS.get(str(raw_op))
            if op is None:
                raise _LabelError(f'"{raw_op}" is not a valid label selector operator')
            values = [str(v) for v in (expr.get("values") or [])]
            reqs.append(_requirement(str(expr.get("key", "")), op, values))
    except _LabelError as err:
        raise BadRequest(str(err)) from None
    return LabelSelector(_sorted(reqs))


def from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """An equality selector from a plain map (a Service's ``spec.selector``); no
    validation, like ``labels.SelectorFromSet``. An empty map selects everything."""
    if not labels:
        return EVERYTHING
    return LabelSelector(_sorted(Requirement(k, EQUALS, (v,)) for k, v in labels.items()))


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """The string form of a ``LabelSelector`` object, e.g. Scale's ``status.selector``."""
    return str(from_label_selector(selector))


# --- field selectors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    value: str
    negated: bool = False

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return (have != self.value) if self.negated else (have == self.value)

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'!=' if self.negated else '='}{escaped}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(t.field for t in self.terms)

    def matches(self, fields: Mapping[str, str]) -> bool:
        for term in self.terms:
            if not term.matches(fields):
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value required by a ``field=value`` term, if any (``metadata.name``
        lets the store turn a list into a get)."""
        for term in self.terms:
            if term.field == field and not term.negated:
                return term.value
        return None

    def check_supported(self, info: ResourceInfo) -> None:
        """Raise ``BadRequest: field label not supported: x`` for fields the kind
        does not index."""
        allowed = supported_fields(info)
        for term in self.terms:
            if term.field not in allowed:
                raise BadRequest(f"field label not supported: {term.field}")

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def supported_fields(info: ResourceInfo) -> frozenset[str]:
    return frozenset(("metadata.name", "metadata.namespace", *info.selectable_fields))


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash."""
    terms: list[str] = []
    start, escaped = 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for ch in value:
        if in_slash:
            if ch not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch in ",=":
            # upstream formats the rune with %v, i.e. as its code point
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if in_slash:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str | None) -> FieldSelector:
    """The ``fieldSelector`` query string form; ``""`` selects everything."""
    if not text:
        return FieldSelector()
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        for i in range(len(part)):
            rest = part[i:]
            op = next((o for o in ("!=", "==", "=") if rest.startswith(o)), None)
            if op is not None:
                lhs, rhs = part[:i], part[i + len(op) :]
                terms.append(FieldTerm(lhs, _unescape(rhs), negated=op == "!="))
                break
        else:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(terms))


def check_supported(selector: FieldSelector, info: ResourceInfo) -> None:
    selector.check_supported(info)
