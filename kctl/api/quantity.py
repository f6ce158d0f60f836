"""Kubernetes resource quantities (``100m``, ``1.5``, ``128Mi``, ``1e3``), exactly.

A quantity is a decimal or binary-scaled number; the scheduler sums requests and
compares them with node capacity, so rounding errors would over- or under-commit
nodes. Values are held as :class:`fractions.Fraction` (exact for every suffix, binary
and decimal) and rounded only where Kubernetes rounds: CPU to whole millicores and
memory to whole bytes, both upward, as ``MilliValue()``/``Value()`` do.

:meth:`Quantity.canonical` reproduces ``resource.Quantity.String()``: the value keeps
the family of suffix it was written in (binary ``Ki..Ei``, decimal ``m..E``, or
decimal exponent ``e3``) and is printed with the largest suffix that leaves a whole
number, so ``1.5`` prints as ``1500m``, ``1536Mi`` as ``1536Mi``, ``0.5Gi`` as
``512Mi`` and ``1000`` as ``1k``; values finer than a nanounit are rounded up to it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_RE = re.compile(
    r"(?P<sign>[+-]?)(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

# Kubernetes' own error text for a malformed quantity (shown in validation messages).
QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class QuantityError(ValueError):
    """The string is not a Kubernetes quantity."""


@functools.total_ordering
@dataclass(frozen=True)
class Quantity:
    """An exact amount and the suffix family it was written in."""

    value: Fraction
    format: str = DECIMAL_SI

    @classmethod
    def parse(cls, text: str | int | float | Quantity) -> Quantity:
        return parse(text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value == other.value
        return NotImplemented

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.format)

    def __str__(self) -> str:
        return self.canonical()

    @property
    def is_zero(self) -> bool:
        return self.value == 0

    def milli_value(self) -> int:
        """Whole thousandths, rounded up (``MilliValue()``)."""
        return _ceil(self.value * 1000)

    def int_value(self) -> int:
        """Whole units, rounded up (``Value()``)."""
        return _ceil(self.value)

    def canonical(self) -> str:
        return _format(self.value, self.format)


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def parse(text: str | int | float | Quantity) -> Quantity:
    """Parse a quantity; numbers (JSON ints/floats) are accepted as Kubernetes does."""
    if isinstance(text, Quantity):
        return text
    if isinstance(text, bool):
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    if isinstance(text, int):
        return Quantity(Fraction(text), DECIMAL_SI)
    if isinstance(text, float):
        text = repr(text)
    m = _RE.fullmatch(text) if isinstance(text, str) else None
    if m is None or not text:
        raise QuantityError(QUANTITY_FORMAT_ERROR)
    number = Fraction(m.group("num"))
    if m.group("sign") == "-":
        number = -number
    suffix = m.group("suffix") or ""
    if suffix in _BINARY:
        return Quantity(number * (1 << _BINARY[suffix]), BINARY_SI)
    if suffix in _DECIMAL:
        return Quantity(number * Fraction(10) ** _DECIMAL[suffix], DECIMAL_SI)
    exponent = int(suffix[1:])
    return Quantity(number * Fraction(10) ** exponent, DECIMAL_EXPONENT)


def _format(value: Fraction, fmt: str) -> str:
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    # Kubernetes keeps at most nanounit precision, rounding away from zero.
    nanos = _ceil(magnitude * 10**9)
    if fmt == BINARY_SI and nanos % 10**9 == 0:
        whole = nanos // 10**9
        # Binary suffixes only when the value is a whole multiple of 1024 or larger.
        suffix = ""
        for name, shift in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
            if whole % (1 << shift) == 0:
                whole >>= shift
                suffix = name
                break
        if suffix or whole < 1024:
            return f"{sign}{whole}{suffix}"
    # Decimal: largest power of 1000 that divides the nano count evenly.
    exponent = -9
    while nanos % 1000 == 0 and exponent < 18:
        nanos //= 1000
        exponent += 3
    if fmt == DECIMAL_EXPONENT:
        return f"{sign}{nanos}" + (f"e{exponent}" if exponent else "")
    suffixes = {v: k for k, v in _DECIMAL.items()}
    return f"{sign}{nanos}{suffixes[exponent]}"


def cpu_millis(q: str | int | float | Quantity) -> int:
    """CPU in millicores, rounded up: ``"100m"`` -> 100, ``"1.5"`` -> 1500."""
    return parse(q).milli_value()


def memory_bytes(q: str | int | float | Quantity) -> int:
    """Memory in bytes, rounded up: ``"128Mi"`` -> 134217728."""
    return parse(q).int_value()


def is_valid(text: object) -> bool:
    try:
        parse(text)  # type: ignore[arg-type]
    except QuantityError:
        return False
    return True
