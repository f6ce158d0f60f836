"""kubectl's move from client-side to server-side apply (``fieldManager=kubectl``).

An object created by client-side ``kubectl apply`` is owned by the ``Update`` manager
``kubectl-client-side-apply`` and carries the ``kubectl.kubernetes.io/last-applied-configuration``
annotation. When kubectl then applies it server-side (as manager ``kubectl``), every
field it sends conflicts with that manager, although kubectl itself set them. So
kube-apiserver, for the manager ``kubectl`` only:

* forgives conflicts on the fields of the annotation whose value is still the live
  value (:func:`allowed_conflicts`): if every conflict is such a field, the apply is
  forced; otherwise only the others are reported;
* keeps the annotation in sync after a server-side apply by ``kubectl`` when the object
  has one (:func:`sync_annotation`), so a later client-side apply still computes the
  right three-way patch. The value is the applied configuration without the annotation
  itself, encoded as Go encodes it (sorted keys, HTML-safe) with a trailing newline.

Recent kubectl versions also rewrite the ``managedFields`` with a JSON patch before the
first server-side apply; the API server takes request ``managedFields`` as given for
that (see :func:`kctl.api.apply.updater.track_update`).
"""

from __future__ import annotations

import json
from typing import Any

from kctl.api.apply.fieldpath import FieldSet, go_json
from kctl.api.apply.walk import WalkError, compare, to_field_set
from kctl.api.schema_nav import SchemaNode

ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_MANAGER = "kubectl"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def _annotations(obj: dict[str, Any]) -> dict[str, Any] | None:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        return meta["annotations"]
    return None


def last_applied(obj: dict[str, Any]) -> str | None:
    value = (_annotations(obj) or {}).get(ANNOTATION)
    return value if isinstance(value, str) and value else None


def allowed_conflicts(
    live: dict[str, Any], schema: SchemaNode, api_version: str
) -> FieldSet | None:
    """Fields the last-applied annotation sets to their live value (``None``: no annotation)."""
    text = last_applied(live)
    if text is None:
        return None
    try:
        applied = json.loads(text)
    except ValueError:
        return None
    if not isinstance(applied, dict) or applied.get("apiVersion") != api_version:
        return None
    try:
        fields = to_field_set(applied, schema)
        diff = compare(applied, live, schema)
    except WalkError:
        return None
    return fields - diff.modified - diff.added - diff.removed


def build(config: dict[str, Any]) -> str:
    """The annotation value for an applied configuration."""
    body = dict(config)
    meta = body.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        annotations = {k: v for k, v in meta["annotations"].items() if k != ANNOTATION}
        body["metadata"] = {**meta, "annotations": annotations}
    return go_json(body) + "\n"


def sync_annotation(result: dict[str, Any], config: dict[str, Any]) -> None:
    """Refresh the annotation on ``result`` (owned by the caller) if it has one."""
    if last_applied(result) is None:
        return
    annotations = dict(_annotations(result) or {})
    annotations[ANNOTATION] = build(config)
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > TOTAL_ANNOTATION_SIZE_LIMIT:
        del annotations[ANNOTATION]
    result["metadata"] = {**result["metadata"], "annotations": annotations}
