"""JSON merge patch (RFC 7386), the ``application/merge-patch+json`` patch type.

kubectl sends it for ``label``, ``annotate``, ``scale`` and ``patch --type=merge``. The
algorithm is the RFC's: an object patch merges key by key, ``null`` removes a key, any
other value (arrays included) replaces what was there.

Every PATCH goes through here, so the result is rebuilt only along the paths the patch
touches: each changed object is a shallow copy of the target's, and untouched subtrees
are shared with ``target`` (and new values with ``patch``). Neither input is mutated;
callers that want to mutate the result must copy the part they change (the usual rule
for objects that may come from a cache).
"""

from __future__ import annotations

from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch to ``target`` and return the new value."""
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = apply_merge_patch(result.get(key), value)
        else:
            result[key] = value
    return result
