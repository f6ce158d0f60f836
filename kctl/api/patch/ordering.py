"""Element order of a strategic-merge-patched list, as kube-apiserver computes it.

A merged list mixes two kinds of elements: those the patch names (or the
``$setElementOrder`` list names) and those only the server had. Upstream
(``normalizeElementOrder`` / ``mergeSortedSlice`` in k8s.io/apimachinery's
strategicpatch) sorts the first kind by the patch's order and the second by the live
order, then interleaves them, taking a server-only element first only when both are in
the live list and the server-only one came earlier there. The visible consequences,
which kubectl users see and which the tests pin down:

* ``set image`` (patch item plus ``$setElementOrder``) keeps the live order;
* a plain patch adding an element to a merge list, without ``$setElementOrder``, puts the
  new element *first* (the Kubernetes docs' ``kubectl patch`` container example);
* ``$setElementOrder`` reorders the elements it names, server-only ones stay in place
  relative to their live neighbours.

Elements are matched by an identity key (the merge key's value, or the value itself for
lists of primitives) made hashable by :func:`ident`, so ordering is linear plus a sort.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import orjson

KeyOf = Callable[[Any], Hashable]


def ident(value: Any) -> Hashable:
    """A hashable identity with JSON equality: ``True`` is not ``1``, dicts compare by value."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return ("bool", value)
    return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def positions(items: list[Any], key_of: KeyOf) -> dict[Hashable, int]:
    """First position of each identity in ``items``."""
    found: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        found.setdefault(key_of(item), i)
    return found


def order_merged(
    merged: list[Any], order: list[Any], server: list[Any], key_of: KeyOf
) -> list[Any]:
    """Order ``merged``: elements named in ``order`` by ``order``, the rest by ``server``."""
    if len(merged) < 2:
        return merged
    order_pos = positions(order, key_of)
    server_pos = positions(server, key_of)
    named: list[tuple[Hashable, Any]] = []
    server_only: list[tuple[Hashable, Any]] = []
    for item in merged:
        key = key_of(item)
        (named if key in order_pos else server_only).append((key, item))
    named.sort(key=lambda pair: order_pos[pair[0]])
    end = len(server)
    server_only.sort(key=lambda pair: server_pos.get(pair[0], end))

    out: list[Any] = []
    i = j = 0
    while i < len(server_only) and j < len(named):
        left = server_pos.get(server_only[i][0])
        right = server_pos.get(named[j][0])
        if left is not None and right is not None and left < right:
            out.append(server_only[i][1])
            i += 1
        else:
            out.append(named[j][1])
            j += 1
    out.extend(item for _, item in server_only[i:])
    out.extend(item for _, item in named[j:])
    return out
