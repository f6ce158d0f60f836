"""Quantities: exact parsing, comparison, canonical form, CPU/memory helpers."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kctl.api import quantity
from kctl.api.quantity import Quantity, QuantityError, cpu_millis, memory_bytes, parse


@pytest.mark.parametrize(
    ("text", "value", "canonical"),
    [
        ("100m", Fraction(1, 10), "100m"),
        ("1.5", Fraction(3, 2), "1500m"),
        ("128Mi", 128 * 2**20, "128Mi"),
        ("1G", 10**9, "1G"),
        ("1e3", 1000, "1e3"),
        ("2Ki", 2048, "2Ki"),
        ("0.5Gi", 2**29, "512Mi"),
        ("1024Mi", 2**30, "1Gi"),
        ("1536Mi", 1536 * 2**20, "1536Mi"),
        ("1000", 1000, "1k"),
        ("1025", 1025, "1025"),
        ("0", 0, "0"),
        ("-1", -1, "-1"),
        ("1n", Fraction(1, 10**9), "1n"),
        ("0.0000000001", Fraction(1, 10**10), "1n"),  # below nano precision rounds up
        ("1e-3", Fraction(1, 1000), "1e-3"),
        ("500u", Fraction(5, 10**4), "500u"),
    ],
)
def test_parse_and_canonical(text: str, value: Fraction | int, canonical: str) -> None:
    q = parse(text)
    assert q.value == value
    assert q.canonical() == canonical
    assert str(q) == canonical


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1Zi", " 1", "1 ", "Mi", "--1", "1e"])
def test_invalid(bad: str) -> None:
    with pytest.raises(QuantityError, match="quantities must match the regular expression"):
        parse(bad)
    assert not quantity.is_valid(bad)


def test_compare_and_arithmetic() -> None:
    assert parse("1Gi") > parse("1G")
    assert parse("1000m") == parse("1")
    assert parse("500m") < parse("1")
    assert max(parse("1"), parse("2")) == parse("2000m")
    assert (parse("250m") + parse("750m")) == parse("1")
    assert (parse("1") - parse("1500m")).canonical() == "-500m"
    assert hash(parse("1")) == hash(parse("1000m"))


def test_numbers_from_json() -> None:
    assert parse(2).canonical() == "2"
    assert parse(0.25).canonical() == "250m"
    with pytest.raises(QuantityError):
        parse(True)  # type: ignore[arg-type]
    assert Quantity.parse(parse("1")) == parse("1")


def test_cpu_and_memory_helpers() -> None:
    assert cpu_millis("100m") == 100
    assert cpu_millis("1.5") == 1500
    assert cpu_millis("2") == 2000
    assert cpu_millis("0.0001") == 1  # rounded up like MilliValue()
    assert memory_bytes("128Mi") == 134217728
    assert memory_bytes("1G") == 10**9
    assert memory_bytes("1.5Ki") == 1536
    assert memory_bytes("100m") == 1  # rounded up like Value()
