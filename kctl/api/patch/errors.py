"""The two ways a patch fails, with the Status kube-apiserver answers for each.

kube-apiserver tells apart a patch it cannot read from a patch that does not apply:

* a malformed document (not a list of operations, an operation without ``op``, a
  strategic merge patch with a broken directive) is ``400 BadRequest``;
* a well-formed JSON patch whose operation fails against the object (a ``test`` that
  does not hold, a path that does not exist) is ``422`` with reason ``Invalid``
  (``NewGenericServerResponse(http.StatusUnprocessableEntity, ...)`` in the apiserver's
  patch handler).

kube-apiserver then replaces the failing operation's text with a generic sentence; kctl
keeps a message that names the operation and the path, because that is what a user needs
to fix the patch. Both classes are :mod:`kctl.api.errors` types, so the server renders
them as ``Status`` bodies with no extra mapping.
"""

from __future__ import annotations

from kctl.api.errors import BadRequest, Invalid


class PatchError(Invalid):
    """A well-formed patch that cannot be applied to the object (422 Invalid)."""


class MalformedPatch(BadRequest):
    """A patch document that cannot be read as its patch type (400 BadRequest)."""
