"""Subresources that are views of their parent: ``scale`` and ``binding``.

``status`` needs no code of its own: it is the parent's write path with the status
strategy (:func:`kctl.server.admission._carry_over`). ``scale`` presents
``spec.replicas`` of a Deployment or ReplicaSet as an ``autoscaling/v1 Scale`` and
writes back only that field. ``binding`` is how the scheduler assigns a pod to a node:
it sets ``spec.nodeName`` once (a second binding is a conflict) and records the
``PodScheduled`` condition.
"""

from __future__ import annotations

from typing import Any

import orjson

from kctl.api import errors, meta
from kctl.api.patch import apply_json_patch, apply_merge_patch
from kctl.api.selectors import format_label_selector as selector_to_string
from kctl.server.admission import WriteOptions
from kctl.server.content import decode_body, patch_type
from kctl.server.request import Request, Response
from kctl.server.resources import Resources


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in md
        },
        "spec": {"replicas": int(obj.get("spec", {}).get("replicas", 0) or 0)},
        "status": {
            "replicas": int(obj.get("status", {}).get("replicas", 0) or 0),
            "selector": selector_to_string(obj.get("spec", {}).get("selector") or {}),
        },
    }


async def get_scale(resources: Resources, req: Request) -> Response:
    await resources.fresh()
    entry = resources._existing(req.target.info, req.target.namespace, req.target.name)
    return Response.json(200, scale_of(entry.object()))


async def write_scale(resources: Resources, req: Request) -> Response:
    """PUT or PATCH of ``/scale``: the new replica count goes to the parent's spec."""
    info = req.target.info
    if req.target.verb == "patch":
        kind = patch_type(req.content_type)
        if kind == "apply":
            raise errors.UnsupportedMediaType(
                "apply patches are not supported on the scale subresource"
            )
        patch = decode_body(req.body, req.content_type)
        pinned = ""
    else:
        patch = decode_body(req.body, req.content_type)
        if not isinstance(patch, dict):
            raise errors.BadRequest("the request body must be a Scale object")
        kind = "put"
        pinned = str(patch.get("metadata", {}).get("resourceVersion") or "")

    def compute(current: dict[str, Any]) -> dict[str, Any]:
        if pinned and pinned != current["metadata"].get("resourceVersion"):
            raise errors.conflict(info.plural, info.group, req.target.name)
        scale = scale_of(current)
        if kind == "put":
            new_scale = patch
        elif kind == "json":
            new_scale = apply_json_patch(scale, patch)
        else:  # merge and strategic are the same on a Scale: it has no lists
            new_scale = apply_merge_patch(scale, patch)
        replicas = (
            new_scale.get("spec", {}).get("replicas") if isinstance(new_scale, dict) else None
        )
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid(
                "Scale",
                "autoscaling",
                req.target.name,
                [
                    errors.Cause(
                        "spec.replicas",
                        f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                    )
                ],
            )
        current.setdefault("spec", {})["replicas"] = replicas
        return current

    opts = WriteOptions(manager=req.field_manager(), subresource="scale")
    result = await resources.write(req, compute, opts, retry=not pinned)
    obj = orjson.loads(result.value) if not isinstance(result, dict) else result
    return Response.json(200, scale_of(obj))


async def create_binding(resources: Resources, req: Request) -> Response:
    body = decode_body(req.body, req.content_type)
    target_node = (body.get("target") or {}).get("name") if isinstance(body, dict) else None
    if not target_node:
        raise errors.invalid(
            "Binding",
            "",
            req.target.name,
            [errors.Cause("target.name", "Required value", "FieldValueRequired")],
        )
    name = req.target.name

    def compute(current: dict[str, Any]) -> dict[str, Any]:
        if current.get("metadata", {}).get("deletionTimestamp"):
            raise errors.conflict(
                "pods/binding", "", name, "pod is being deleted, cannot be assigned to a host"
            )
        node = current.get("spec", {}).get("nodeName")
        if node:
            raise errors.conflict(
                "pods/binding", "", name, f'pod {name} is already assigned to node "{node}"'
            )
        current.setdefault("spec", {})["nodeName"] = target_node
        status = current.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": meta.now_rfc3339(),
            }
        )
        status["conditions"] = conditions
        return current

    # A binding writes spec and status together, so it bypasses the status strategy.
    opts = WriteOptions(manager=req.field_manager("kctl-scheduler"), subresource="binding")
    await resources.write(req, compute, opts, retry=True)
    return Response.json(
        201,
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
    )
