"""Admission: what happens to an object between decoding and the store.

Every write (create, update, patch, apply, status) goes through :class:`Admission`, in
kube-apiserver's order: system metadata is set or preserved (uid, creationTimestamp,
generation, deletion fields), status is reset or kept as the kind's strategy says,
defaults are applied, then the object is validated (schema, semantics, immutable
fields), and field ownership (managedFields) is tracked. Nothing here touches the store:
a rejected write leaves it exactly as it was.

Mutating admission plugins run after defaulting and before validation, as in
kube-apiserver; the one kctl has is :class:`DefaultTolerationSeconds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kctl.api import errors, meta
from kctl.api.apply import track_update
from kctl.api.defaults import apply_defaults
from kctl.api.kinds import ResourceInfo
from kctl.api.validation import Validator

# Kinds whose spec changes bump metadata.generation (as their kube-apiserver strategies do).
GENERATION_RESOURCES = frozenset({"deployments.apps", "replicasets.apps"})
# Kinds whose status a create keeps (the kubelet registers a Node with its status).
KEEP_STATUS_ON_CREATE = frozenset({"nodes", "events", "leases.coordination.k8s.io"})
SYSTEM_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


@dataclass(frozen=True)
class DefaultTolerationSeconds:
    """kube-apiserver's DefaultTolerationSeconds plugin: a pod that does not tolerate the
    ``not-ready`` / ``unreachable`` NoExecute taints gets an ``Exists`` toleration for each
    with these seconds, so the node lifecycle controller evicts it from a lost node after
    5 minutes instead of at once (``--default-not-ready-toleration-seconds``,
    ``--default-unreachable-toleration-seconds``). Pods only, creates and updates, never
    subresources (a binding or status write leaves the spec alone)."""

    not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS
    unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS

    def admit(self, info: ResourceInfo, obj: dict[str, Any], subresource: str) -> None:
        spec = obj.get("spec")
        if info.resource != "pods" or subresource or not isinstance(spec, dict):
            return
        tolerations = spec.get("tolerations")
        tolerations = tolerations if isinstance(tolerations, list) else []
        added = [
            {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            for key, seconds in (
                (NOT_READY_TAINT, self.not_ready_seconds),
                (UNREACHABLE_TAINT, self.unreachable_seconds),
            )
            if not any(_tolerates_no_execute(t, key) for t in tolerations)
        ]
        if added:
            spec["tolerations"] = [*tolerations, *added]


def _tolerates_no_execute(toleration: Any, key: str) -> bool:
    """The plugin's test: an empty key or effect counts as a match (values are not
    looked at, as in Kubernetes)."""
    if not isinstance(toleration, dict):
        return False
    return toleration.get("key") in (key, None, "") and toleration.get("effect") in (
        "NoExecute",
        None,
        "",
    )


@dataclass
class WriteOptions:
    """Per-request knobs that shape admission."""

    manager: str
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    subresource: str = ""
    warnings: list[str] = field(default_factory=list)


class Admission:
    def __init__(
        self,
        validator: Validator,
        default_tolerations: DefaultTolerationSeconds | None = None,
    ) -> None:
        self.validator = validator
        self.default_tolerations = default_tolerations or DefaultTolerationSeconds()

    # -- create -------------------------------------------------------------------------
    def admit_create(
        self, info: ResourceInfo, obj: dict[str, Any], opts: WriteOptions, *, track: bool = True
    ) -> dict[str, Any]:
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise errors.BadRequest("metadata must be an object")
        if md.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created")
        for key in SYSTEM_FIELDS + ("generation",):
            md.pop(key, None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = meta.generate_name(str(md["generateName"]))
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = meta.now_rfc3339()
        if info.resource in GENERATION_RESOURCES:
            md["generation"] = 1
        if info.subresource("status") and info.resource not in KEEP_STATUS_ON_CREATE:
            obj["status"] = _initial_status(info)
        apply_defaults(info, obj)
        self.default_tolerations.admit(info, obj, opts.subresource)
        self._validate(info, obj, None, opts)
        if track:
            return self._track(info, None, obj, opts)
        return obj

    # -- update -------------------------------------------------------------------------
    def admit_update(
        self,
        info: ResourceInfo,
        old: dict[str, Any],
        new: dict[str, Any],
        opts: WriteOptions,
        *,
        track: bool = True,
    ) -> dict[str, Any]:
        """``new`` is the requested full object; returns the object to store."""
        if not isinstance(new.get("metadata"), dict):
            raise errors.BadRequest("metadata must be an object")
        new = _carry_over(info, old, new, opts.subresource)
        apply_defaults(info, new, create=False)
        self.default_tolerations.admit(info, new, opts.subresource)
        if info.resource in GENERATION_RESOURCES and new.get("spec") != old.get("spec"):
            generation = int(old.get("metadata", {}).get("generation") or 0) + 1
            new["metadata"]["generation"] = generation
        self._validate(info, new, old, opts)
        if track:
            return self._track(info, old, new, opts)
        return new

    # -- shared -------------------------------------------------------------------------
    def _validate(
        self,
        info: ResourceInfo,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        opts: WriteOptions,
    ) -> None:
        name = str(obj.get("metadata", {}).get("name") or "")
        result = self.validator.validate(info, obj, strict=opts.field_validation != "Ignore")
        if result.unknown_fields and opts.field_validation == "Strict":
            detail = ", ".join(f'unknown field "{f}"' for f in result.unknown_fields)
            raise errors.BadRequest(f"strict decoding error: {detail}")
        if opts.field_validation == "Warn":
            opts.warnings.extend(f'unknown field "{f}"' for f in result.unknown_fields)
        if opts.field_validation != "Strict":
            self.validator.prune_unknown(info, obj)  # unknown fields are never stored
        causes = list(result.causes)
        if old is not None and opts.subresource != "binding":  # binding alone sets spec.nodeName
            causes.extend(self.validator.validate_update(info, old, obj))
        if causes:
            raise errors.invalid(info.kind, info.group, name, causes)

    def _track(
        self,
        info: ResourceInfo,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        opts: WriteOptions,
    ) -> dict[str, Any]:
        return track_update(
            old,
            new,
            opts.manager,
            info.api_version,
            info.schema_node(),
            meta.now_rfc3339(),
            subresource=opts.subresource,
        )


def _initial_status(info: ResourceInfo) -> dict[str, Any]:
    if info.resource == "pods":
        return {"phase": "Pending"}
    if info.resource == "namespaces":
        return {"phase": "Active"}
    if info.resource == "replicasets.apps":
        return {"replicas": 0}  # not omitempty in Go: a new ReplicaSet's status says 0
    return {}


def _carry_over(
    info: ResourceInfo, old: dict[str, Any], new: dict[str, Any], subresource: str
) -> dict[str, Any]:
    """Apply the strategy's update rules: what a write may not change."""
    old_md = old.get("metadata", {})
    if subresource == "status":
        # A status write changes status only (and nothing of spec or metadata but the RV).
        result = {k: v for k, v in old.items() if k != "status"}
        if "status" in new:
            result["status"] = new["status"]
        result["metadata"] = dict(old_md)
        return result
    md = dict(new["metadata"])
    for key in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ):
        if key in old_md:
            md[key] = old_md[key]
        else:
            md.pop(key, None)
    new = {**new, "metadata": md}
    if subresource == "binding" or not info.subresource("status"):
        return new  # a binding sets spec.nodeName and the PodScheduled condition together
    if "status" in old:
        new["status"] = old["status"]  # status changes through the main resource are ignored
    else:
        new.pop("status", None)
    return new
