"""``--sort-by=<jsonpath>``, ordered as kubectl orders.

kubectl takes the first value the (relaxed) JSONPath finds in each object and
compares values of the same JSON type: numbers numerically, strings as resource
quantities when both parse as one (``3 < 20 < 100``, ``500m < 1``), else byte-wise;
objects without the field sort first. Maps, lists, booleans and mixed types are
"unsortable" and end the command. A field found in no object at all is an error for
lists (``couldn't find any field with path``); for a server Table kubectl prints
nothing instead, which :func:`sort_rows` reports as ``None``.

kubectl sorts with Go's ``sort.Sort``, which is an insertion sort up to 12 elements:
that is reproduced exactly (it decides where objects without the field land, in
reverse order of arrival). Beyond 12, ties keep their order here, where Go's pdqsort
may not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kctl.cli.printers.gofmt import go_type
from kctl.cli.printers.jsonpath import JSONPath, JSONPathError, relaxed

T = TypeVar("T")
_MISSING = object()
INSERTION_SORT_MAX = 12


class SortError(Exception):
    """The field cannot be sorted on (kubectl's message)."""


def sort_path(expression: str) -> JSONPath:
    """The parsed ``--sort-by`` expression (relaxed as kubectl relaxes it)."""
    try:
        field = relaxed(expression)
    except JSONPathError:
        field = expression
    return JSONPath(field)


def _first(path: JSONPath, obj: Any) -> Any:
    try:
        results = path.find_results(obj)
    except JSONPathError:
        return _MISSING
    if not results or not results[0]:
        return _MISSING
    return results[0][0]


def _quantity(text: str) -> Any:
    from kctl.api.quantity import QuantityError, parse

    try:
        return parse(text)
    except (QuantityError, ValueError):
        return None


def is_less(a: Any, b: Any) -> bool:
    """kubectl's ``isLess`` for two decoded JSON values."""
    if a is None or b is None:
        return a is None and b is not None
    if isinstance(a, bool) or isinstance(a, dict | list):
        raise SortError(f"unsortable type: {go_type(a)}")
    if type(a) is not type(b) or isinstance(b, bool):
        raise SortError("unsortable interface: interface")
    if isinstance(a, str):
        qa = _quantity(a)
        qb = _quantity(b) if qa is not None else None
        if qa is not None and qb is not None:
            return bool(qa < qb)
        return a.encode() < b.encode()
    return bool(a < b)


def _less(values: list[Any], i: int, j: int) -> bool:
    if values[i] is _MISSING:
        return True
    if values[j] is _MISSING:
        return False
    return is_less(values[i], values[j])


def _order(values: list[Any]) -> list[int]:
    """The permutation Go's ``sort.Sort`` would produce with kubectl's Less."""
    n = len(values)
    order = list(range(n))
    if n <= INSERTION_SORT_MAX:
        vals = list(values)
        for i in range(1, n):
            j = i
            while j > 0 and _less(vals, j, j - 1):
                vals[j], vals[j - 1] = vals[j - 1], vals[j]
                order[j], order[j - 1] = order[j - 1], order[j]
                j -= 1
        return order
    missing = [i for i in order if values[i] is _MISSING][::-1]
    present = [i for i in order if values[i] is not _MISSING]

    def cmp(i: int, j: int) -> int:
        if is_less(values[i], values[j]):
            return -1
        return 1 if is_less(values[j], values[i]) else 0

    return missing + sorted(present, key=functools.cmp_to_key(cmp))


def _sorted(
    items: Sequence[T], path: JSONPath, obj_of: Callable[[T], Any], field: str, *, strict: bool
) -> list[T] | None:
    values = [_first(path, obj_of(item)) for item in items]
    if items and all(v is _MISSING for v in values):
        if strict:
            raise SortError(f'couldn\'t find any field with path "{field}" in the list of objects')
        return None
    try:
        order = _order(values)
    except SortError as exc:
        raise SortError(f"Field {field} is an unsortable type, err: {exc}") from None
    return [items[i] for i in order]


def sort_objects(items: Sequence[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    """Objects of a list sorted by the expression (kubectl's SortingPrinter)."""
    path = sort_path(expression)
    result = _sorted(items, path, lambda o: o, path.template, strict=True)
    assert result is not None
    return result


def sort_rows(
    rows: Sequence[dict[str, Any]], expression: str, *, strict: bool = False
) -> list[dict[str, Any]] | None:
    """A Table's rows sorted by their ``object`` (the server sends full objects for
    ``--sort-by``); None when no row has the field and not ``strict``."""
    path = sort_path(expression)
    return _sorted(rows, path, lambda r: r.get("object"), path.template, strict=strict)
