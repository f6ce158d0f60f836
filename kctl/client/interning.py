"""Sharing the repeated parts of cached objects.

An informer keeps every object of its type for the life of the process, as the nested
dicts the JSON decoder made. 10,000 pods of one Deployment decode into 10,000 copies of
``"default"``, ``"Running"``, the image name, every label value and node name, and
10,000 equal ``containers``, ``tolerations``, ``labels`` and ``ownerReferences``
structures: orjson shares dict keys (its key cache), nothing else. Before an object is
cached, a :class:`Compactor` replaces

* each short string value by its interned instance (``sys.intern``: the table drops a
  string once no object uses it, so strings seen once cost nothing lasting);
* each dict or list equal to the one found at the same path in the last object that
  had one there (compared by value and, to be exact about ``1 == 1.0 == True``, by
  encoding) by that one, so objects made from one template share its parts.

A running pod goes from about 9.8 KB of Python objects to about 4 KB, for tens of
microseconds when it arrives. Sharing parts between cached objects is safe because
cached objects are never mutated (the informer's contract); a controller that writes
copies first, as it must anyway.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

MAX_LENGTH = 128  # longer strings are rarely repeated (annotations, messages)
MAX_PATHS = 4096  # remembered paths per compactor: objects have a bounded shape

Path = tuple[Any, ...]


class Compactor:
    """Compacts the objects of one kind (paths are remembered per compactor)."""

    def __init__(self, max_paths: int = MAX_PATHS) -> None:
        self._last: dict[Path, Any] = {}
        self._max_paths = max_paths

    def __len__(self) -> int:
        return len(self._last)

    def compact(self, obj: Any) -> None:
        """Compact, in place, a decoded JSON document nobody else holds yet. Its parts
        may afterwards be shared with other documents: never mutate either."""
        if type(obj) is dict:
            self._dict(obj, ())
        elif type(obj) is list:
            self._list(obj, ())

    def _shared(self, value: Any, path: Path) -> Any:
        """``value`` (a dict or list), or an equal one already held."""
        last = self._last.get(path)
        if last is not None and last == value and orjson.dumps(last) == orjson.dumps(value):
            return last
        if type(value) is dict:
            self._dict(value, path)
        else:
            self._list(value, path)
        if path in self._last or len(self._last) < self._max_paths:
            self._last[path] = value
        return value

    def _dict(self, d: dict[str, Any], path: Path) -> None:
        intern = sys.intern
        for key, value in d.items():  # assigning existing keys keeps the iteration valid
            kind = type(value)
            if kind is str:
                if len(value) <= MAX_LENGTH:
                    d[key] = intern(value)
            elif kind is dict or kind is list:
                d[key] = self._shared(value, (path, key))

    def _list(self, items: list[Any], path: Path) -> None:
        intern = sys.intern
        for i, value in enumerate(items):
            kind = type(value)
            if kind is str:
                if len(value) <= MAX_LENGTH:
                    items[i] = intern(value)
            elif kind is dict or kind is list:
                items[i] = self._shared(value, (path, i))


def intern_strings(obj: Any) -> None:
    """Intern the short strings of ``obj`` in place, sharing no structure (for one-off
    documents; informers use a :class:`Compactor`)."""
    Compactor(max_paths=0).compact(obj)
