"""Strategic merge patch, the ``application/strategic-merge-patch+json`` patch type.

This is the patch kubectl sends for the built-in kinds (client-side ``apply``, ``patch``,
``edit``, ``set image``, ``rollout restart``), and kubectl never falls back to another
type, so the server must apply it the way kube-apiserver does
(``StrategicMergeMapPatch`` in k8s.io/apimachinery, with the server's options
``MergeParallelList`` and ``IgnoreUnmatchedNulls``).

It is JSON merge patch plus two things, both read from the kind's schema through
:class:`~kctl.api.schema_nav.SchemaNode`:

* a list whose field has ``x-kubernetes-patch-strategy: merge`` is merged, not replaced:
  by the ``x-kubernetes-patch-merge-key`` for lists of objects (containers, env, volumes
  by ``name``, container ports by ``containerPort``, service ports by ``port``), as a set
  for lists of primitives (``finalizers``). Every other list is replaced. Where the schema
  knows nothing (ConfigMap data, labels, kctl's own kinds) the patch is plain JSON merge.
* directives, which only ever steer the merge and never reach the result:
  ``$patch: replace|delete|merge`` on a map or as a list element,
  ``$retainKeys``, ``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``.

kubectl's client-side apply computes a 3-way patch that leans on all of these: each
merged list comes with its ``$setElementOrder``, removed list elements are
``{"$patch": "delete", <merge key>: v}``, removed primitives go in
``$deleteFromPrimitiveList``, and fields with the ``retainKeys`` strategy (Deployment
``strategy``, volume sources) carry ``$retainKeys``.

The results match upstream's, element order of merged lists included (see
:mod:`kctl.api.patch.ordering` and :func:`_upstream_live_view`); the tests compare with
``kubectl patch --local``, which runs the same Go code. They differ only on inputs
kubectl does not send: ``$patch: merge`` is accepted as the explicit default (upstream
rejects it); ``$patch: delete`` on an existing map removes the key (upstream leaves
``{}``); directives and nulls inside values that land where nothing was are removed
(upstream leaves them for its typed decoding to drop or reject); ``$setElementOrder``
with a ``null`` or empty list, or a trailing ``$patch: replace`` element, is accepted
(upstream errors); a list both patched and ``$deleteFromPrimitiveList``-ed deletes last
(upstream's order is random); every malformed directive is a 400 (upstream answers some
with 500).

Cost: the result is rebuilt only along the paths the patch touches. Changed maps and
lists are shallow copies; untouched subtrees are shared with ``original``, new values
with ``patch`` when they carry no directive or null. Inputs are never mutated.
"""

from __future__ import annotations

from typing import Any

from kctl.api.patch.errors import MalformedPatch
from kctl.api.patch.ordering import KeyOf, ident, order_merged, positions
from kctl.api.schema_nav import SchemaNode

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"

_ABSENT: Any = object()
_DELETE: Any = object()  # a map patched with ``$patch: delete``: drop its key


def apply_strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], schema: SchemaNode
) -> dict[str, Any]:
    """Apply a strategic merge patch to ``original``, guided by the kind's ``schema``.

    ``schema`` is the node of the patched kind, e.g.
    ``SchemaNode.for_definition("io.k8s.api.apps.v1.Deployment")``; ``SchemaNode.empty()``
    makes it a JSON merge patch that understands directives. Raises
    :class:`MalformedPatch` (400) for a patch that is not an object or misuses a directive.
    """
    if not isinstance(patch, dict):
        raise MalformedPatch(
            f"strategic merge patch must be a JSON object, not {type(patch).__name__}"
        )
    merged = _merge_map(original if isinstance(original, dict) else None, patch, schema, "")
    return {} if merged is _DELETE else merged


# -- schema lookups ---------------------------------------------------------------------
# A field that is a ``$ref`` carries its patch extensions next to the ``$ref`` (Deployment
# ``spec.strategy``), so the raw node is read before the resolved one. Lookups are
# memoized by schema dict: the definitions live as long as the process, and resolving
# ``$ref`` on every PATCH would cost more than the merge itself. Empty (unknown) nodes
# are fresh dicts each time and are never cached.

_MAX_CACHED = 20000
_META: dict[int, tuple[dict[str, Any], frozenset[str], str | None]] = {}
_FIELDS: dict[tuple[int, int, str], tuple[SchemaNode, SchemaNode]] = {}
_NO_STRATEGY: frozenset[str] = frozenset()


def _meta(node: SchemaNode) -> tuple[frozenset[str], str | None]:
    """The field's patch strategies and merge key."""
    schema = node.schema
    if not schema:
        return _NO_STRATEGY, None
    hit = _META.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1], hit[2]
    raw = schema.get("x-kubernetes-patch-strategy")
    strategies = (
        frozenset(node.patch_strategies)
        if raw is None
        else frozenset(s for s in str(raw).split(",") if s)
    )
    key = schema.get("x-kubernetes-patch-merge-key")
    merge_key = key if isinstance(key, str) and key else node.patch_merge_key
    if len(_META) > _MAX_CACHED:
        _META.clear()
    _META[id(schema)] = (schema, strategies, merge_key)
    return strategies, merge_key


_ITEMS = "\x00items"  # cache name for ``node.items()``: no property is called that


def _field(node: SchemaNode, name: str) -> SchemaNode:
    """``node.field(name)`` (``node.items()`` for :data:`_ITEMS`), memoized."""
    schema = node.schema
    if not schema:
        return node
    cache_key = (id(schema), id(node.defs), name)
    hit = _FIELDS.get(cache_key)
    if hit is not None and hit[0].schema is schema and hit[0].defs is node.defs:
        return hit[1]
    child = node.items() if name is _ITEMS else node.field(name)
    if len(_FIELDS) > _MAX_CACHED:
        _FIELDS.clear()
    _FIELDS[cache_key] = (node, child)  # the node keeps its dicts (and so the ids) alive
    return child


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- maps -------------------------------------------------------------------------------


def _merge_map(
    original: dict[str, Any] | None, patch: dict[str, Any], node: SchemaNode, path: str
) -> Any:
    """Merge ``patch`` into ``original`` (``None``: nothing there yet). May return _DELETE."""
    directive = patch.get(DIRECTIVE, _ABSENT)
    if directive is not _ABSENT:
        if directive == "delete":
            return _DELETE
        if directive == "replace":
            original = None
        elif directive != "merge":
            raise MalformedPatch(f'unknown $patch directive "{directive}" at "{path or "."}"')
        patch = {k: v for k, v in patch.items() if k != DIRECTIVE}

    result: dict[str, Any] = dict(original) if original else {}
    retain = patch.get(RETAIN_KEYS, _ABSENT)
    if retain is not _ABSENT:
        _retain_keys(result, patch, retain, path)

    plain: list[tuple[str, Any]] = []
    orders: dict[str, Any] = {}
    deletions: dict[str, Any] = {}
    for key, value in patch.items():
        if key[:1] == "$":
            if key == RETAIN_KEYS:
                continue
            prefix, slash, field = key.partition("/")
            if prefix == SET_ELEMENT_ORDER or prefix == DELETE_FROM_PRIMITIVE_LIST:
                if not slash or not field:
                    raise MalformedPatch(f'directive "{key}" names no list at "{path or "."}"')
                (orders if prefix == SET_ELEMENT_ORDER else deletions)[field] = value
                continue
        plain.append((key, value))

    ordered = {
        f for f, order in orders.items() if _apply_order(result, patch, f, order, node, path)
    }

    for key, value in plain:
        if key in ordered:
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            field_node = _field(node, key)
            if isinstance(current, dict) and "replace" not in _meta(field_node)[0]:
                merged = _merge_map(current, value, field_node, _join(path, key))
            else:
                merged = _new_value(value, field_node, _join(path, key))
        elif isinstance(value, list):
            field_node = _field(node, key)
            if isinstance(current, list):
                merged = _merge_list(current, value, field_node, _join(path, key))
            else:
                merged = _new_value(value, field_node, _join(path, key))
        else:
            merged = value
        if merged is _DELETE:
            result.pop(key, None)
        else:
            result[key] = merged

    for field, values in deletions.items():
        if not isinstance(values, list):
            raise MalformedPatch(
                f'{DELETE_FROM_PRIMITIVE_LIST}/{field} must be a list at "{path or "."}"'
            )
        current = result.get(field)
        if isinstance(current, list) and values:
            gone = {ident(v) for v in values}
            result[field] = [v for v in current if ident(v) not in gone]
    return result


def _retain_keys(result: dict[str, Any], patch: dict[str, Any], retain: Any, path: str) -> None:
    """``$retainKeys``: clear every key not listed; the patch may set only listed keys."""
    if not isinstance(retain, list):
        raise MalformedPatch(f'invalid patch format of $retainKeys at "{path or "."}"')
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key == RETAIN_KEYS or key == DIRECTIVE:
            continue
        if key.startswith((SET_ELEMENT_ORDER + "/", DELETE_FROM_PRIMITIVE_LIST + "/")):
            continue
        if key not in keep:
            raise MalformedPatch(
                f'"{_join(path, key)}" is set by the patch but missing from its $retainKeys list'
            )
    for key in [k for k in result if k not in keep]:
        del result[key]


# -- lists ------------------------------------------------------------------------------


def _key_of(merge_key: str | None) -> KeyOf:
    if not merge_key:
        return ident
    return lambda item: ident(item.get(merge_key)) if isinstance(item, dict) else ident(item)


def _merge_list(original: list[Any], patch: list[Any], node: SchemaNode, path: str) -> list[Any]:
    """Merge a patch list into a live list according to the field's patch strategy."""
    return _merge_list_traced(original, patch, node, path)[0]


def _merge_list_traced(
    original: list[Any], patch: list[Any], node: SchemaNode, path: str
) -> tuple[list[Any], list[Any]]:
    """:func:`_merge_list`, plus the live list as upstream's ``$setElementOrder`` step sees it."""
    strategies, merge_key = _meta(node)
    if "merge" not in strategies:
        return _new_list(patch, node, path), original
    if not original and not patch:
        return [], original
    if not any(isinstance(x, dict) for x in patch) and not any(
        isinstance(x, dict) for x in original
    ):
        return _merge_primitives(original, patch), original

    if not merge_key:
        raise MalformedPatch(f'cannot merge lists without a merge key at "{path}"')
    items, deletes, replace = _special_elements(patch, merge_key, path)
    key_of = _key_of(merge_key)
    if replace:
        return _new_list(items, node, path), _upstream_live_view(original, deletes, [], key_of)
    if any(not isinstance(x, dict) for x in original):
        raise MalformedPatch(f'list element types are not identical at "{path}"')

    gone = set(deletes)
    base = [x for x in original if key_of(x) not in gone] if gone else original
    merged = list(base)
    where = positions(merged, key_of)
    item_node = _field(node, _ITEMS)
    for item in items:
        key = key_of(item)
        at = where.get(key)
        if at is None:
            where[key] = len(merged)
            merged.append(_new_value(item, item_node, path))
        else:
            merged[at] = _merge_map(merged[at], item, item_node, path)
    live = _upstream_live_view(original, deletes, items, key_of) if deletes else original
    return order_merged(merged, items, base, key_of), live


def _upstream_live_view(
    original: list[Any], deletes: list[Any], items: list[dict[str, Any]], key_of: KeyOf
) -> list[Any]:
    """The live list as upstream's ``$setElementOrder`` step sees it after the merge.

    Upstream deletes elements in place (shifting the rest left within the same Go array)
    and appends new elements into the freed tail of that array, which the live list it
    orders against shares. So server-only elements are ordered against this mutated
    array, not the live list. Reproduced here to order elements exactly as upstream does
    (it matters when kubectl apply deletes and adds elements next to server-only ones).
    """
    array = list(original)
    size = length = len(array)
    for key in deletes:
        at = 0
        while at < length:
            if key_of(array[at]) == key:
                array[at : length - 1] = array[at + 1 : length]
                length -= 1
            else:
                at += 1
    present = {key_of(x) for x in array[:length]}
    for item in items:
        key = key_of(item)
        if key in present:
            continue
        if length == size:
            break  # the next append reallocates: the live list is not touched any more
        array[length] = item
        length += 1
        present.add(key)
    return array


def _special_elements(
    patch: list[Any], merge_key: str, path: str
) -> tuple[list[dict[str, Any]], list[Any], bool]:
    """Split list elements into items to merge, merge keys to delete, and a replace flag."""
    items: list[dict[str, Any]] = []
    deleted: list[Any] = []
    replace = False
    for item in patch:
        if not isinstance(item, dict):
            raise MalformedPatch(f'list element types are not identical at "{path}"')
        directive = item.get(DIRECTIVE, _ABSENT)
        if directive is _ABSENT or directive == "merge":
            if merge_key not in item:
                raise MalformedPatch(
                    f'list element at "{path}" does not contain its merge key "{merge_key}"'
                )
            items.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise MalformedPatch(
                    f'$patch: delete element at "{path}" does not contain its merge key '
                    f'"{merge_key}"'
                )
            deleted.append(ident(item[merge_key]))
        elif directive == "replace":
            replace = True
        else:
            raise MalformedPatch(f'unknown $patch directive "{directive}" at "{path}"')
    return items, deleted, replace


def _merge_primitives(original: list[Any], patch: list[Any]) -> list[Any]:
    """A merge list of primitives is a set: union, no duplicates, upstream's order."""
    seen: set[Any] = set()
    merged: list[Any] = []
    for value in (*original, *patch):
        key = ident(value)
        if key not in seen:
            seen.add(key)
            merged.append(value)
    return order_merged(merged, patch, original, ident)


def _apply_order(
    result: dict[str, Any],
    patch: dict[str, Any],
    field: str,
    order: Any,
    node: SchemaNode,
    path: str,
) -> bool:
    """``$setElementOrder/<field>``: merge the list (if patched) and impose the order.

    Returns whether the field was handled here (so the plain pass skips it).
    """
    list_path = _join(path, field)
    if not isinstance(order, list):
        raise MalformedPatch(f'{SET_ELEMENT_ORDER}/{field} must be a list at "{path or "."}"')
    value = patch.get(field, _ABSENT)
    if value is None:
        return False  # the list is deleted; nothing to order
    live = result.get(field)
    current: list[Any] = live if isinstance(live, list) else []
    found_original = isinstance(live, list)
    found_patch = value is not _ABSENT
    if found_patch and not isinstance(value, list):
        raise MalformedPatch(f'"{list_path}" must be a list to go with its {SET_ELEMENT_ORDER}')
    if not found_original and not found_patch:
        return False

    field_node = _field(node, field)
    key_of = _key_of(_meta(field_node)[1])
    if found_patch:
        _check_order(value, order, key_of, list_path)
    live = current
    if found_original and found_patch:
        merged, live = _merge_list_traced(current, value, field_node, list_path)
    elif found_patch:
        merged = _new_list(value, field_node, list_path)
    else:
        merged = current
    result[field] = order_merged(merged, order, live, key_of)
    return True


def _check_order(patch_list: list[Any], order: list[Any], key_of: KeyOf, path: str) -> None:
    """The patch list's elements must appear in ``$setElementOrder`` in the same order."""
    items = [x for x in patch_list if not (isinstance(x, dict) and DIRECTIVE in x)]
    if not items or not order:
        return
    i = 0
    for entry in order:
        if i == len(items):
            break
        if key_of(items[i]) == key_of(entry):
            i += 1
    if i < len(items):
        raise MalformedPatch(
            f'the order of the elements of "{path}" in the patch does not match its '
            f"{SET_ELEMENT_ORDER} list"
        )


# -- values with nothing to merge into ---------------------------------------------------


def _new_value(value: Any, node: SchemaNode, path: str) -> Any:
    """A patch value that lands where nothing mergeable was: directives and nulls dropped."""
    if not _needs_cleaning(value):
        return value
    if isinstance(value, dict):
        return _merge_map(None, value, node, path)
    return _new_list(value, node, path)


def _new_list(values: list[Any], node: SchemaNode, path: str) -> list[Any]:
    """A list taken from the patch as it is, minus directive elements."""
    if not _needs_cleaning(values):
        return values
    item_node = _field(node, _ITEMS)
    out: list[Any] = []
    for item in values:
        if isinstance(item, dict) and item.get(DIRECTIVE) in ("delete", "replace"):
            continue
        cleaned = _new_value(item, item_node, path)
        if cleaned is not _DELETE:
            out.append(cleaned)
    return out


def _needs_cleaning(value: Any) -> bool:
    """Whether a patch value holds a directive or a null map value anywhere."""
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None or key[:1] == "$":
                return True
            if isinstance(child, (dict, list)) and _needs_cleaning(child):
                return True
        return False
    if isinstance(value, list):
        return any(isinstance(x, (dict, list)) and _needs_cleaning(x) for x in value)
    return False
