"""How Go prints the values of a decoded JSON object, for the formats that show them raw.

kubectl holds objects as ``map[string]interface{}`` and prints their values with Go's
``fmt`` and ``encoding/json``: ``-o custom-columns`` cells are ``%v`` (``map[a:b]``,
``[x y]``, ``1e+06``), JSONPath prints maps and lists as compact ``json.Marshal``
output (sorted keys, ``<>&`` escaped) and scalars with ``fmt.Fprint``, and its error
messages dump the object with ``%#v``. Python's ``str()``/``repr()``/``json`` differ in
each of these, so the rules are written out here once.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

_HTML_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``abs(x)`` and the decimal point position:
    ``x == 0.DIGITS * 10**dp``."""
    text = repr(abs(x))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    shift = int(exp) if exp else 0
    if whole.strip("0"):
        digits, dp = whole.lstrip("0") + frac, len(whole.lstrip("0")) + shift
    else:
        stripped = frac.lstrip("0")
        digits, dp = stripped, shift - (len(frac) - len(stripped))
    digits = digits.rstrip("0") or "0"
    return digits, dp


def _exp_form(digits: str, dp: int) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fixed_form(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def format_float(x: float) -> str:
    """``strconv.FormatFloat(x, 'g', -1, 64)``, which is also ``%v``: ``1e+06``, ``0.5``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    digits, dp = _digits(x)
    exp = dp - 1
    body = _exp_form(digits, dp) if exp < -4 or exp >= 6 else _fixed_form(digits, dp)
    return sign + body


def json_float(x: float) -> str:
    """A float as ``encoding/json`` writes it: fixed notation between 1e-6 and 1e21,
    else exponent form without a leading zero in the exponent (``1e-7``, ``1e+21``)."""
    if x == 0:
        return "0" if math.copysign(1.0, x) > 0 else "-0"
    sign = "-" if x < 0 else ""
    digits, dp = _digits(x)
    if 1e-6 <= abs(x) < 1e21:
        return sign + _fixed_form(digits, dp)
    text = _exp_form(digits, dp)
    mant, _, exp = text.partition("e")
    return f"{sign}{mant}e{exp[0]}{int(exp[1:])}"


def go_numbers(value: Any) -> Any:
    """``value`` with every float replaced by what ``encoding/json`` would write for it
    (an int when integral, else the exact text as an ``orjson.Fragment``)."""
    if isinstance(value, dict):
        return {k: go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_numbers(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return orjson.Fragment(json_float(value))
    return value


def html_escape(text: str) -> str:
    """Go's ``json`` HTML-safe escaping (applied to already-encoded JSON text: these
    characters can only occur inside strings there)."""
    for raw, escaped in _HTML_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def json_compact(value: Any) -> str:
    """``json.Marshal`` of a decoded object: compact, keys sorted, HTML-escaped."""
    data = orjson.dumps(go_numbers(value), option=orjson.OPT_SORT_KEYS)
    return html_escape(data.decode())


def sprint(value: Any) -> str:
    """``fmt.Sprint``/``%v``: ``map[a:1 b:[x y]]``, ``<nil>``, ``true``, ``1e+06``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{sprint(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(sprint(v) for v in value) + "]"
    return str(value)


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """``strconv.Quote``: double-quoted, printable characters kept, others escaped."""
    out = ['"']
    for ch in text:
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_repr(value: Any) -> str:
    """``%#v`` of a decoded JSON value (how kubectl dumps an object in JSONPath errors)."""
    if isinstance(value, str):
        return go_quote(value)
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, dict):
        inner = ", ".join(f"{go_quote(k)}:{go_repr(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    return sprint(value)


def go_type(value: Any) -> str:
    """The Go type a decoded JSON value has (``map[string]interface {}``, ``int64``...)."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "interface {}"
