"""JSON patch (RFC 6902), the ``application/json-patch+json`` patch type.

kubectl sends it for ``rollout undo``, ``patch --type=json`` and the client-side to
server-side apply migration (``replace /metadata/managedFields``); the Python client sends
it for a list body.

Two kinds of failure, as in kube-apiserver: a document that is not a list of well-formed
operations is :class:`MalformedPatch` (400); an operation that does not apply to the
object (failed ``test``, missing path, index out of range) is :class:`PatchError` (422).
More than :data:`MAX_OPERATIONS` operations is 413, kube-apiserver's limit.

Immutability without deep copies: the first write below a container copies that
container (and its ancestors) once and records the copy as *owned*; later operations
write owned containers in place. So a patch of N operations costs N walks plus one
shallow copy per container it touches, and the target is never mutated. Untouched
subtrees are shared with the target, values added by ``add``/``replace`` with the patch.
"""

from __future__ import annotations

from typing import Any

import orjson

from kctl.api.errors import RequestEntityTooLarge
from kctl.api.patch.errors import MalformedPatch, PatchError

MAX_OPERATIONS = 10000

_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})
_OPS = _NEEDS_VALUE | _NEEDS_FROM | {"remove"}


class _OpFailed(Exception):
    """Internal: why one operation failed; wrapped into PatchError with op and path."""


def parse_pointer(pointer: str) -> list[str]:
    """Split a JSON pointer (RFC 6901) into unescaped reference tokens."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f'JSON pointer "{pointer}" must be empty or start with "/"')
    tokens = pointer[1:].split("/")
    for i, token in enumerate(tokens):
        if "~" in token:
            rest = token.replace("~0", "").replace("~1", "")
            if "~" in rest:
                raise ValueError(f'JSON pointer "{pointer}" has an invalid "~" escape')
            tokens[i] = token.replace("~1", "/").replace("~0", "~")
    return tokens


def _index(token: str, size: int, *, for_insert: bool) -> int:
    """An array index token: decimal, no leading zeros, within bounds (RFC 6902 4.1)."""
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        raise _OpFailed(f'"{token}" is not a valid array index')
    index = int(token)
    limit = size if for_insert else size - 1
    if index > limit:
        raise _OpFailed(f"array index {index} is out of range (length {size})")
    return index


def _child(container: Any, token: str) -> Any:
    if isinstance(container, dict):
        if token not in container:
            raise _OpFailed(f'key "{token}" does not exist')
        return container[token]
    if isinstance(container, list):
        if token == "-":
            raise _OpFailed('"-" refers to no existing array element')
        return container[_index(token, len(container), for_insert=False)]
    raise _OpFailed(f'cannot look up "{token}" in a {_kind(container)}')


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: numbers by value (1 == 1.0), booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(json_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


class _Document:
    """The document being patched, with copy-on-write containers."""

    def __init__(self, root: Any) -> None:
        self.root = root
        # id -> object: keeps owned copies alive so their ids are never reused.
        self._owned: dict[int, Any] = {}

    def _own(self, container: Any) -> Any:
        if id(container) in self._owned:
            return container
        copy: Any = dict(container) if isinstance(container, dict) else list(container)
        self._owned[id(copy)] = copy
        return copy

    def get(self, tokens: list[str]) -> Any:
        value = self.root
        for token in tokens:
            value = _child(value, token)
        return value

    def _parent(self, tokens: list[str]) -> Any:
        """The container holding ``tokens[-1]``, made writable along the whole path."""
        if not isinstance(self.root, (dict, list)):
            raise _OpFailed(f"the document is a {_kind(self.root)}, not a container")
        self.root = self._own(self.root)
        current = self.root
        for token in tokens[:-1]:
            child = _child(current, token)
            if not isinstance(child, (dict, list)):
                raise _OpFailed(f'"{token}" is a {_kind(child)}, not a container')
            owned = self._own(child)
            if owned is not child:
                if isinstance(current, dict):
                    current[token] = owned
                else:
                    current[int(token)] = owned
            current = owned
        return current

    def add(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.root = value
            return
        parent, last = self._parent(tokens), tokens[-1]
        if isinstance(parent, dict):
            parent[last] = value
        elif last == "-":
            parent.append(value)
        else:
            parent.insert(_index(last, len(parent), for_insert=True), value)

    def remove(self, tokens: list[str]) -> Any:
        if not tokens:
            raise _OpFailed("cannot remove the whole document")
        parent, last = self._parent(tokens), tokens[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise _OpFailed(f'key "{last}" does not exist')
            return parent.pop(last)
        if last == "-":
            raise _OpFailed('"-" refers to no existing array element')
        return parent.pop(_index(last, len(parent), for_insert=False))

    def replace(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.root = value
            return
        parent, last = self._parent(tokens), tokens[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise _OpFailed(f'key "{last}" does not exist')
            parent[last] = value
        else:
            if last == "-":
                raise _OpFailed('"-" refers to no existing array element')
            parent[_index(last, len(parent), for_insert=False)] = value


def _validate(ops: Any) -> list[tuple[str, list[str], dict[str, Any]]]:
    """Check the document's shape before touching the object (all 400s come first)."""
    if not isinstance(ops, list):
        raise MalformedPatch(f"json patch must be a list of operations, not a {_kind(ops)}")
    if len(ops) > MAX_OPERATIONS:
        raise RequestEntityTooLarge(
            f"Request entity too large: The allowed maximum operations in a JSON patch "
            f"is {MAX_OPERATIONS}, got {len(ops)}"
        )
    parsed = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise MalformedPatch(f"json patch operation {i} must be an object")
        name = op.get("op")
        if not isinstance(name, str) or not name:
            raise MalformedPatch(f'json patch operation {i} has no "op"')
        if name not in _OPS:
            raise MalformedPatch(f'json patch operation {i} has an unknown op "{name}"')
        path = op.get("path")
        if not isinstance(path, str):
            raise MalformedPatch(f'json patch {name} operation {i} has no "path"')
        if name in _NEEDS_VALUE and "value" not in op:
            raise MalformedPatch(f'json patch {name} operation at "{path}" has no "value"')
        if name in _NEEDS_FROM and not isinstance(op.get("from"), str):
            raise MalformedPatch(f'json patch {name} operation at "{path}" has no "from"')
        try:
            tokens = parse_pointer(path)
            if name in _NEEDS_FROM:
                parse_pointer(op["from"])
        except ValueError as e:
            raise MalformedPatch(f"json patch {name} operation {i}: {e}") from None
        parsed.append((name, tokens, op))
    return parsed


def apply_json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 operations to ``target`` in order and return the new value.

    All or nothing: the first failing operation raises and ``target`` is unchanged
    (it is never mutated in any case).
    """
    doc = _Document(target)
    for name, tokens, op in _validate(ops):
        try:
            _apply_one(doc, name, tokens, op)
        except _OpFailed as e:
            where = f'path "{op["path"]}"'
            if name in _NEEDS_FROM:
                where = f'from "{op["from"]}" to {where}'
            raise PatchError(f"json patch {name} operation failed for {where}: {e}") from None
    return doc.root


def _apply_one(doc: _Document, name: str, tokens: list[str], op: dict[str, Any]) -> None:
    if name == "add":
        doc.add(tokens, op["value"])
    elif name == "remove":
        doc.remove(tokens)
    elif name == "replace":
        doc.replace(tokens, op["value"])
    elif name == "test":
        actual = doc.get(tokens)
        if not json_equal(actual, op["value"]):
            raise _OpFailed(f"the value is {_short(actual)}, not {_short(op['value'])}")
    elif name == "copy":
        doc.add(tokens, _deep_copy(doc.get(parse_pointer(op["from"]))))
    else:  # move
        source = parse_pointer(op["from"])
        if source == tokens:
            doc.get(source)  # must exist, otherwise a no-op
            return
        if tokens[: len(source)] == source:
            raise _OpFailed("cannot move a value into one of its own children")
        doc.add(tokens, doc.remove(source))


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
