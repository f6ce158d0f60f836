"""The three patch formats the API server applies to stored objects.

One module per format, each a pure function from (current object, decoded patch body)
to a new object: the API server decodes the body, picks the function by the request's
``Content-Type`` (:func:`apply_patch` does the picking), and runs admission and
validation on the result as for any update. Server-side apply
(``application/apply-patch+yaml``) tracks field ownership and lives with the server.

None of the functions mutates its inputs, and none deep-copies the object: results
share unchanged subtrees with the inputs (see each module), so a caller that mutates a
result in place must copy the part it changes first.
"""

from __future__ import annotations

from typing import Any

from kctl.api.errors import UnsupportedMediaType
from kctl.api.patch.errors import MalformedPatch, PatchError
from kctl.api.patch.jsonpatch import apply_json_patch
from kctl.api.patch.merge import apply_merge_patch
from kctl.api.patch.strategic import apply_strategic_merge_patch
from kctl.api.schema_nav import SchemaNode

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "PATCH_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "MalformedPatch",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_patch",
    "apply_strategic_merge_patch",
]


def apply_patch(
    media_type: str, original: dict[str, Any], patch: Any, schema: SchemaNode | None = None
) -> dict[str, Any]:
    """Apply a decoded patch body of ``media_type`` to an object.

    ``media_type`` may carry parameters (``; charset=utf-8``). ``schema`` is the kind's
    node for strategic merge patch (``None``: no schema, plain merge semantics). The
    result must be an object: a patch that turns the object into anything else is a
    :class:`PatchError` (422). Unknown media types are 415, as in kube-apiserver.
    """
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind == STRATEGIC_MERGE_PATCH:
        return apply_strategic_merge_patch(original, patch, schema or SchemaNode.empty())
    if kind == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise MalformedPatch("merge patch for an object must be a JSON object")
        result = apply_merge_patch(original, patch)
    elif kind == JSON_PATCH:
        result = apply_json_patch(original, patch)
    else:
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types "
            f"include: {', '.join(PATCH_TYPES)}, application/apply-patch+yaml"
        )
    if not isinstance(result, dict):
        raise PatchError("the patched document must be a JSON object")
    return result
