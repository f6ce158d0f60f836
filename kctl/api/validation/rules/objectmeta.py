"""Object metadata rules: names, namespaces, labels, annotations, owners, selectors.

Why it exists: every kind is validated against these (upstream's
``ValidateObjectMeta`` and ``apimachinery/pkg/apis/meta/v1/validation``), and the label
and selector checks are reused inside specs (pod templates, node selectors, service
selectors). They are the base vocabulary the kind-specific rule modules build on.

Design: plain functions over raw JSON, reading through :mod:`..read` and reporting into
an :class:`~..fielderrors.Errors`. Names follow the kind's grammar (DNS-1123 subdomain
by default; :data:`_NAME_RULES` lists the kinds upstream validates differently), with
``generateName`` prefixes allowed a trailing ``-``. The grammars themselves (and their
messages) live in :mod:`kctl.api.meta`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kctl.api import meta
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_list, as_str, dicts

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

NameCheck = Callable[[str], list[str]]

# Per-kind name grammar, as kube-apiserver's Validate<Kind>Name.
_NAME_RULES: dict[str, NameCheck] = {
    "Namespace": meta.dns1123_label_errors,
    "Service": meta.dns1035_label_errors,
}
TOTAL_ANNOTATION_SIZE = 256 * 1024


def _mask_trailing_dash(name: str) -> str:
    """generateName prefixes may end in '-' (the random suffix follows)."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_labels(errs: Errors, labels: Any, path: str) -> None:
    for key, value in as_dict(labels).items():
        for msg in meta.qualified_name_errors(str(key)):
            errs.invalid(path, key, msg)
        if isinstance(value, str):
            for msg in meta.label_value_errors(value):
                errs.invalid(path, value, msg)


def validate_annotations(errs: Errors, annotations: Any, path: str) -> None:
    total = 0
    for key, value in as_dict(annotations).items():
        for msg in meta.qualified_name_errors(str(key).lower()):
            errs.invalid(path, key, msg)
        total += len(str(key)) + len(value if isinstance(value, str) else "")
    if total > TOTAL_ANNOTATION_SIZE:
        errs.too_long(path, TOTAL_ANNOTATION_SIZE)


def validate_object_meta(errs: Errors, info: ResourceInfo, obj: dict[str, Any]) -> None:
    md = as_dict(obj.get("metadata"))
    name, generate = as_str(md.get("name")), as_str(md.get("generateName"))
    check = _NAME_RULES.get(info.kind, meta.dns1123_subdomain_errors)
    if generate:
        for msg in check(_mask_trailing_dash(generate)):
            errs.invalid("metadata.generateName", generate, msg)
    if not name:
        if not generate:
            errs.required("metadata.name", "name or generateName is required")
    else:
        for msg in check(name):
            errs.invalid("metadata.name", name, msg)
    if info.namespaced:
        ns = as_str(md.get("namespace"))
        if not ns:
            errs.required("metadata.namespace")
        else:
            for msg in meta.dns1123_label_errors(ns):
                errs.invalid("metadata.namespace", ns, msg)
    # Cluster-scoped kinds: the server clears metadata.namespace before validating
    # (as upstream's BeforeCreate), so there is nothing to forbid here.
    validate_labels(errs, md.get("labels"), "metadata.labels")
    validate_annotations(errs, md.get("annotations"), "metadata.annotations")
    _validate_owner_refs(errs, md.get("ownerReferences"))
    for value in as_list(md.get("finalizers")):
        if isinstance(value, str):
            for msg in meta.qualified_name_errors(value):
                errs.invalid("metadata.finalizers", value, msg)


def _validate_owner_refs(errs: Errors, refs: Any) -> None:
    path = "metadata.ownerReferences"
    controllers: list[str] = []
    for _, ref in dicts(refs):
        api_version = as_str(ref.get("apiVersion"))
        if not api_version.rpartition("/")[2]:
            errs.invalid(f"{path}.apiVersion", api_version, "version must not be empty")
        if not as_str(ref.get("kind")):
            errs.invalid(f"{path}.kind", as_str(ref.get("kind")), "kind must not be empty")
        if not as_str(ref.get("name")):
            errs.invalid(f"{path}.name", as_str(ref.get("name")), "name must not be empty")
        if not as_str(ref.get("uid")):
            errs.invalid(f"{path}.uid", as_str(ref.get("uid")), "uid must not be empty")
        if ref.get("controller") is True:
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        errs.invalid(
            path,
            as_list(refs),
            'Only one reference can have Controller set to true. Found "true" in references for '
            + " and ".join(controllers),
        )


def validate_label_selector(errs: Errors, selector: Any, path: str) -> None:
    sel = as_dict(selector)
    validate_labels(errs, sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in dicts(sel.get("matchExpressions")):
        epath = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), as_list(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.required(
                    f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.forbidden(
                    f"{epath}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
        else:
            errs.invalid(f"{epath}.operator", op, "not a valid selector operator")
        key = as_str(expr.get("key"))
        for msg in meta.qualified_name_errors(key):
            errs.invalid(f"{epath}.key", key, msg)
        for j, value in enumerate(values):
            if isinstance(value, str):
                for msg in meta.label_value_errors(value):
                    errs.invalid(f"{epath}.values[{j}]", value, msg)
