"""Subresources that are views of their parent: ``scale`` and ``binding``.

``status`` needs no code of its own: it is the parent's write path with the status
strategy (:func:`kctl.server.admission._carry_over`). ``scale`` presents
``spec.replicas`` of a Deployment or ReplicaSet as an ``autoscaling/v1 Scale`` and
writes back only that field. ``binding`` is how the scheduler assigns a pod to a node:
it sets ``spec.nodeName`` once (a second binding is a conflict) and records the
``PodScheduled`` condition, straight on the store (see :func:`create_binding`).
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
from kctl.server.resources import MAX_CONFLICT_RETRIES, Resources, key_of
from kctl.store import KeyNotFound, RevisionConflict


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


BINDING_SUCCESS = orjson.dumps(
    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
)


def _binding_target(req: Request) -> tuple[str, dict[str, str], str, str]:
    """The node, annotations and preconditions (uid, resourceVersion) a Binding asks
    for, checked as kube-apiserver's ``ValidatePodBinding`` and create handler do."""
    body = decode_body(req.body, req.content_type)
    if not isinstance(body, dict):
        raise errors.BadRequest("the request body must be a Binding object")
    md = body.get("metadata") or {}
    if not isinstance(md, dict):
        raise errors.BadRequest("metadata must be an object")
    name = req.target.name
    if md.get("name") and md["name"] != name:
        raise errors.BadRequest("name in URL does not match name in Binding object")
    if md.get("namespace") and md["namespace"] != req.target.namespace:
        raise errors.BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    target = body.get("target") or {}
    causes: list[errors.Cause] = []
    kind = target.get("kind") if isinstance(target, dict) else None
    if kind and kind != "Node":
        causes.append(
            errors.Cause(
                "target.kind",
                f'Unsupported value: "{kind}": supported values: "Node", "<empty>"',
                "FieldValueNotSupported",
            )
        )
    node = target.get("name") if isinstance(target, dict) else None
    if not node or not isinstance(node, str):
        causes.append(errors.Cause("target.name", "Required value", "FieldValueRequired"))
    if causes:
        raise errors.invalid("Binding", "", name, causes)
    annotations = md.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise errors.BadRequest("metadata.annotations must be an object")
    assert isinstance(node, str)
    return node, annotations, str(md.get("uid") or ""), str(md.get("resourceVersion") or "")


def _bound(current: dict[str, Any], name: str, node: str, annotations: dict[str, str]) -> None:
    """kube-apiserver's ``setPodHostAndAnnotations``, on a private copy of the pod."""
    if current.get("metadata", {}).get("deletionTimestamp"):
        raise errors.conflict(
            "pods/binding", "", name, f"pod {name} is being deleted, cannot be assigned to a host"
        )
    spec = current.setdefault("spec", {})
    if spec.get("nodeName"):
        raise errors.conflict(
            "pods/binding", "", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
        )
    if spec.get("schedulingGates"):
        raise errors.conflict(
            "pods/binding", "", name, f"pod {name} has non-empty .spec.schedulingGates"
        )
    spec["nodeName"] = node
    if annotations:
        md = current.setdefault("metadata", {})
        md["annotations"] = {**(md.get("annotations") or {}), **annotations}
    status = current.setdefault("status", {})
    conditions = list(status.get("conditions") or [])
    condition = {
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": meta.now_rfc3339(),
    }
    for i, old in enumerate(conditions):  # UpdatePodCondition: replaced in place
        if old.get("type") == "PodScheduled":
            if old.get("status") == "True" and old.get("lastTransitionTime"):
                condition["lastTransitionTime"] = old["lastTransitionTime"]
            conditions[i] = condition
            break
    else:
        conditions.append(condition)
    status["conditions"] = conditions


async def create_binding(resources: Resources, req: Request) -> Response:
    """Assign a pod to a node, as kube-apiserver's ``BindingREST``: a compare-and-swap of
    the stored pod with ``spec.nodeName``, the Binding's annotations and the
    ``PodScheduled`` condition set; retried on conflicts with other writers. Like
    Kubernetes, it neither re-validates the pod nor records a field manager (the pod was
    validated when created; a binding changes only what it sets), which keeps the
    scheduler's hottest write cheap. A uid or resourceVersion in the Binding's metadata
    is a precondition on the pod."""
    node, annotations, uid, pinned = _binding_target(req)
    info, name = req.target.info, req.target.name
    key = key_of(info, req.target.namespace, name)
    for _ in range(MAX_CONFLICT_RETRIES):
        await resources.fresh()
        entry = resources._existing(info, req.target.namespace, name)
        current = orjson.loads(entry.value)
        actual = current.get("metadata", {})
        if uid and uid != actual.get("uid"):
            why = f"Precondition failed: UID in precondition: {uid}, UID in object meta: {actual.get('uid')}"
            raise errors.conflict(info.plural, info.group, name, why)
        if pinned and pinned != actual.get("resourceVersion"):
            raise errors.conflict(info.plural, info.group, name)
        _bound(current, name, node, annotations)
        if req.dry_run:
            break
        try:
            await resources.store.update(key, current, entry.revision)
            break
        except RevisionConflict:
            if pinned:
                raise errors.conflict(info.plural, info.group, name) from None
        except KeyNotFound:
            raise errors.not_found(info.plural, info.group, name) from None
    else:
        raise errors.conflict(info.plural, info.group, name)
    return Response(201, BINDING_SUCCESS)
