"""Validation of every write: schema (fast, compiled), unknown fields, semantic rules.

Three layers, each answering a question kube-apiserver answers:

1. **Types** (what its JSON decoder rejects): the kind's upstream JSON Schema, reduced
   to the definitions reachable from the kind, refs rewritten to local ``#/$defs``,
   int32/int64 formats turned into bounds, int-or-string/quantity ``oneOf`` turned into
   type lists (upstream's ``oneOf`` of two nullable types rejects ``null``). It is
   compiled with fastjsonschema to Python source, cached on disk keyed by the package
   versions and the kind, and imported lazily per kind (``warm`` does it ahead of
   time). Only when it rejects do we run jsonschema over the same schema to *explain*:
   every error, as a ``Cause`` with a Kubernetes field path. Measured: 0.04 ms vs 21 ms.
2. **Unknown fields** (what ``fieldValidation=Strict`` rejects): a walk over a
   precomputed shape tree (properties per struct, value shape per map, item shape per
   list); scalars are not descended into. Only done when the caller asks (``strict``).
3. **Semantics** (``pkg/apis/*/validation``): names per kind, label/annotation
   grammar, the Deployment/ReplicaSet selector-template contract, containers, ports,
   enums, services... written as small rule functions per kind in a table, emitting
   kube-apiserver's reasons and messages. Rules read the object defensively, so a
   wrong type already reported by layer 1 never crashes them.

The server applies defaults (:mod:`kctl.api.defaults`) *before* validating, as
kube-apiserver does; some rules (template restartPolicy Always) rely on it.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kctl.api import meta, quantity, upstream
from kctl.api.errors import ApiError, BadRequest, Cause, invalid

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

log = logging.getLogger(__name__)

# Bump when the schema transformation changes, to invalidate cached code.
_TRANSFORM_VERSION = "1"

INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"


@dataclass
class ValidationResult:
    """``causes`` -> 422 Invalid. ``unknown_fields`` (paths like ``spec.bogus``) -> 400
    with ``fieldValidation=Strict``, warnings with ``Warn``."""

    causes: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.causes and not self.unknown_fields

    def warnings(self) -> list[str]:
        """``Warn`` mode: one warning text per unknown field, as kube-apiserver."""
        return [f'unknown field "{p}"' for p in self.unknown_fields]

    def error(self, info: ResourceInfo, name: str, *, strict: bool) -> ApiError | None:
        """The error to answer with, if any: strict decoding (400) first, as upstream
        decodes before it validates; then 422 with every cause."""
        if strict and self.unknown_fields:
            return strict_decoding_error(self.unknown_fields)
        if self.causes:
            return invalid(info.kind, info.group, name, self.causes)
        return None


def strict_decoding_error(paths: Iterable[str]) -> BadRequest:
    joined = ", ".join(f'unknown field "{p}"' for p in paths)
    return BadRequest(f"strict decoding error: {joined}")


# =====================================================================================
# Field-error vocabulary (k8s.io/apimachinery/pkg/util/validation/field)
# =====================================================================================


def _show(value: Any) -> str:
    """A value as field errors print it: strings quoted, scalars bare, else JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class Errors:
    """Collects causes with kube-apiserver's message shapes."""

    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.causes.append(Cause(path, f"Invalid value: {_show(value)}: {detail}", INVALID))

    def required(self, path: str, detail: str = "") -> None:
        msg = "Required value" + (f": {detail}" if detail else "")
        self.causes.append(Cause(path, msg, REQUIRED))

    def not_supported(self, path: str, value: Any, supported: Iterable[str]) -> None:
        options = ", ".join(json.dumps(s) for s in supported)
        msg = f"Unsupported value: {_show(value)}: supported values: {options}"
        self.causes.append(Cause(path, msg, NOT_SUPPORTED))

    def duplicate(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, f"Duplicate value: {_show(value)}", DUPLICATE))

    def forbidden(self, path: str, detail: str) -> None:
        self.causes.append(Cause(path, f"Forbidden: {detail}", FORBIDDEN))

    def not_found(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, f"Not found: {_show(value)}", NOT_FOUND))

    def too_long(self, path: str, limit: int) -> None:
        self.causes.append(Cause(path, f"Too long: may not be more than {limit} bytes", TOO_LONG))


# Defensive readers: the schema layer reports wrong types; rules just skip them.


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, v) for i, v in enumerate(_list(value)) if isinstance(v, dict)]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strmap(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _nonnegative(errs: Errors, path: str, value: Any) -> None:
    v = _int(value)
    if v is not None and v < 0:
        errs.invalid(path, v, "must be greater than or equal to 0")


# =====================================================================================
# Layer 1: schema preparation, compiled validator (fast path) and explanation
# =====================================================================================

_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_FORMATS = {"date-time": _RFC3339, "byte": _BASE64}
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DROP_KEYS = frozenset({"description", "x-kubernetes-group-version-kind"})


def _simplify(node: Any) -> Any:
    """Copy a schema, keeping only what validation needs (see module docstring)."""
    if isinstance(node, list):
        return [_simplify(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS or (
            key.startswith("x-kubernetes-") and key != "x-kubernetes-preserve-unknown-fields"
        ):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _simplify(sub) for name, sub in value.items()}
        else:
            out[key] = _simplify(value)
    fmt = out.get("format")
    types = out.get("type")
    type_set = set(types) if isinstance(types, list) else {types}
    if fmt in _INT_BOUNDS and "integer" in type_set:
        low, high = _INT_BOUNDS[fmt]
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)
        del out["format"]
    elif fmt is not None and fmt not in _FORMATS:
        del out["format"]
    branches = out.get("oneOf")
    if isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"type"} for b in branches
    ):
        merged: list[str] = []
        for b in branches:
            for t in b["type"] if isinstance(b["type"], list) else [b["type"]]:
                if t not in merged:
                    merged.append(t)
        del out["oneOf"]
        out["type"] = merged
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):  # only string $ref is a reference
                found.add(upstream.ref_name(value))
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def _reachable(root: str, defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = defs[name]
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(found - seen.keys())
    return seen


def kind_schema(info: ResourceInfo) -> dict[str, Any]:
    """The self-contained schema used for ``info`` (both validators use it)."""
    definition = info.upstream_definition
    if definition:
        defs = _reachable(definition, upstream.definitions(strict=False))
        return {
            "$ref": f"#/$defs/{definition}",
            "$defs": {name: _simplify(d) for name, d in sorted(defs.items())},
        }
    own = info.schema.get("openAPIV3Schema")
    if isinstance(own, dict):
        return _simplify(own)
    return {}


def _package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "0"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kctl"


_KEY_RE = re.compile(r"[^A-Za-z0-9_.-]")


class _Compiled:
    """Everything per kind: the fast validator, the shape tree, the explainer."""

    def __init__(self, schema: dict[str, Any], fast: Callable[[Any], Any]) -> None:
        self.schema = schema
        self.fast = fast
        self.shape = _build_shape(schema)
        self._explainer: Any = None
        self._lock = threading.Lock()

    def explainer(self) -> Any:
        with self._lock:
            if self._explainer is None:
                self._explainer = _make_explainer(self.schema)
            return self._explainer


def _make_explainer(schema: dict[str, Any]) -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    checker = jsonschema.FormatChecker(formats=())
    for name, pattern in _FORMATS.items():
        regex = re.compile(pattern)
        checker.checks(name)(
            lambda value, _r=regex: not isinstance(value, str) or bool(_r.match(value))
        )
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:kctl:kind", resource)
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)


class Validator:
    """Validates objects of any served kind. Thread-safe; compiles each kind once."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self._compiled: dict[str, _Compiled] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # --- compile -----------------------------------------------------------------------

    def _cache_key(self, info: ResourceInfo, schema: dict[str, Any]) -> str:
        stamp = "|".join(
            (
                _TRANSFORM_VERSION,
                _package_version("kubernetes-validate"),
                _package_version("fastjsonschema"),
                upstream.KUBERNETES_VERSION,
                info.upstream_definition
                or hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest(),
            )
        )
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:16]
        return f"{_KEY_RE.sub('_', info.resource)}-{info.version}-{digest}"

    def _load_fast(self, info: ResourceInfo, schema: dict[str, Any]) -> Callable[[Any], Any]:
        import fastjsonschema

        path = self.cache_dir / f"validator-{self._cache_key(info, schema)}.py"
        code: str | None = None
        try:
            code = path.read_text()
        except OSError:
            pass
        if code is None:
            code = fastjsonschema.compile_to_code(
                schema, formats=_FORMATS, use_default=False, detailed_exceptions=False
            )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(code)
                os.replace(tmp, path)
            except OSError as err:  # a read-only home must not stop the server
                log.warning("cannot cache compiled validator %s: %s", path, err)
        namespace: dict[str, Any] = {}
        exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - our own generated code
        validate_fn = namespace["validate"]
        return validate_fn  # type: ignore[no-any-return]

    def compiled(self, info: ResourceInfo) -> _Compiled:
        key = info.resource
        done = self._compiled.get(key)
        if done is not None:
            return done
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            done = self._compiled.get(key)
            if done is None:
                schema = kind_schema(info)
                done = _Compiled(schema, self._load_fast(info, schema))
                self._compiled[key] = done
        return done

    def warm(self, infos: Iterable[ResourceInfo]) -> None:
        """Compile (or load from the disk cache) every kind; run in a background thread."""
        for info in infos:
            try:
                self.compiled(info)
            except Exception:  # a broken kind must not stop the others
                log.exception("cannot compile validator for %s", info.resource)

    # --- validate ----------------------------------------------------------------------

    def validate(
        self, info: ResourceInfo, obj: dict[str, Any], *, strict: bool
    ) -> ValidationResult:
        """Validate a new or updated object (after defaulting). ``strict`` also looks
        for unknown fields (for ``fieldValidation=Strict`` or ``Warn``)."""
        compiled = self.compiled(info)
        result = ValidationResult()
        causes: list[Cause] = []
        try:
            compiled.fast(obj)
        except Exception:  # JsonSchemaValueException: explain it fully
            causes.extend(_explain(compiled.explainer(), obj))
        if strict:
            found: list[str] = []
            _walk_unknown(obj, compiled.shape, "", found)
            result.unknown_fields = found
        errs = Errors()
        _validate_semantics(info, obj, errs)
        result.causes = _dedupe(causes + errs.causes)
        return result

    def validate_update(
        self, info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]
    ) -> list[Cause]:
        """Update-only rules (immutable fields); see :func:`validate_update`."""
        return validate_update(info, old, new)

    def prune_unknown(self, info: ResourceInfo, obj: dict[str, Any]) -> list[str]:
        """Drop unknown fields in place (``fieldValidation=Ignore``/``Warn``: upstream's
        decoder never keeps them) and return their paths."""
        found: list[str] = []
        _walk_unknown(obj, self.compiled(info).shape, "", found, prune=True)
        return found


def _dedupe(causes: list[Cause]) -> list[Cause]:
    seen: set[tuple[str, str]] = set()
    out: list[Cause] = []
    for cause in causes:
        key = (cause.field, cause.reason if cause.reason == REQUIRED else cause.message)
        if key not in seen:
            seen.add(key)
            out.append(cause)
    return out


# --- explanation (jsonschema) ----------------------------------------------------------

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def _json_type(value: Any) -> str:
    for py, name in _JSON_TYPES:
        if isinstance(value, py):
            return name
    return type(value).__name__


def _kube_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _explain(validator: Any, obj: Any) -> list[Cause]:
    errs = Errors()
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        _explain_one(error, errs)
    return errs.causes


def _explain_one(error: Any, errs: Errors) -> None:
    if error.context:  # anyOf/oneOf: the branches say more
        for sub in error.context:
            _explain_one(sub, errs)
        return
    path = _kube_path(error.absolute_path)
    shown = path or "body"
    kind, want, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        types = [t for t in (want if isinstance(want, list) else [want]) if t != "null"]
        errs.invalid(
            path, value, f'{shown} in body must be of type {",".join(types)}: "{_json_type(value)}"'
        )
    elif kind == "required":
        present = value if isinstance(value, dict) else {}
        for name in want:
            if name not in present:
                errs.required(f"{path}.{name}" if path else name)
    elif kind == "enum":
        errs.not_supported(path, value, [str(v) for v in want if v is not None])
    elif kind == "minimum":
        errs.invalid(path, value, f"{shown} in body should be greater than or equal to {want}")
    elif kind == "maximum":
        errs.invalid(path, value, f"{shown} in body should be less than or equal to {want}")
    elif kind == "format":
        errs.invalid(path, value, f"{shown} in body must be of type {want}: {_show(value)}")
    else:
        errs.invalid(path, value, error.message)


# =====================================================================================
# Layer 2: unknown fields
# =====================================================================================


class _Shape:
    """What may appear at one point: ``props`` for a struct (closed), ``values`` for a
    map, ``items`` for a list; a shape with none of them is a leaf or free-form."""

    __slots__ = ("props", "values", "items")

    def __init__(self) -> None:
        self.props: dict[str, _Shape] | None = None
        self.values: _Shape | None = None
        self.items: _Shape | None = None


_LEAF = _Shape()


def _build_shape(schema: dict[str, Any]) -> _Shape:
    defs = schema.get("$defs") or {}
    memo: dict[str, _Shape] = {}

    def build(node: Any) -> _Shape:
        if not isinstance(node, dict):
            return _LEAF
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = upstream.ref_name(ref)
            if name in memo:
                return memo[name]
            target = defs.get(name)
            if not isinstance(target, dict):
                return _LEAF
            shape = _Shape()
            memo[name] = shape  # before recursing: recursive definitions share it
            _fill(shape, target)
            return shape if (shape.props is not None or shape.values or shape.items) else _LEAF
        shape = _Shape()
        _fill(shape, node)
        return shape if (shape.props is not None or shape.values or shape.items) else _LEAF

    def _fill(shape: _Shape, node: dict[str, Any]) -> None:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return
        props = node.get("properties")
        additional = node.get("additionalProperties")
        if isinstance(props, dict):
            if additional in (None, False):
                shape.props = {name: build(sub) for name, sub in props.items()}
        elif isinstance(additional, dict):
            values = build(additional)
            shape.values = values if values is not _LEAF else None
        items = node.get("items")
        if isinstance(items, dict):
            item_shape = build(items)
            shape.items = item_shape if item_shape is not _LEAF else None

    return build(schema)


def _walk_unknown(
    obj: Any, shape: _Shape, path: str, found: list[str], prune: bool = False
) -> None:
    if isinstance(obj, dict):
        props = shape.props
        if props is not None:
            unknown: list[str] = []
            for key, value in obj.items():
                child = props.get(key)
                if child is None:
                    unknown.append(key)
                    found.append(f"{path}{key}")
                elif child is not _LEAF and value is not None:
                    _walk_unknown(value, child, f"{path}{key}.", found, prune)
            if prune:
                for key in unknown:
                    del obj[key]
        elif shape.values is not None:
            for key, value in obj.items():
                _walk_unknown(value, shape.values, f"{path}{key}.", found, prune)
    elif isinstance(obj, list) and shape.items is not None:
        base = path[:-1] if path.endswith(".") else path
        for i, item in enumerate(obj):
            _walk_unknown(item, shape.items, f"{base}[{i}].", found, prune)


# =====================================================================================
# Layer 3: semantic rules (pkg/apis/core|apps|coordination/validation)
# =====================================================================================

NameCheck = Callable[[str], list[str]]

# Per-kind name grammar, as kube-apiserver's Validate<Kind>Name.
_NAME_RULES: dict[str, NameCheck] = {
    "Namespace": meta.dns1123_label_errors,
    "Service": meta.dns1035_label_errors,
}
TOTAL_ANNOTATION_SIZE = 256 * 1024
MAX_CONFIG_SIZE = 1024 * 1024


def _mask_trailing_dash(name: str) -> str:
    """generateName prefixes may end in '-' (the random suffix follows)."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_labels(errs: Errors, labels: Any, path: str) -> None:
    for key, value in _dict(labels).items():
        for msg in meta.qualified_name_errors(str(key)):
            errs.invalid(path, key, msg)
        if isinstance(value, str):
            for msg in meta.label_value_errors(value):
                errs.invalid(path, value, msg)


def validate_annotations(errs: Errors, annotations: Any, path: str) -> None:
    total = 0
    for key, value in _dict(annotations).items():
        for msg in meta.qualified_name_errors(str(key).lower()):
            errs.invalid(path, key, msg)
        total += len(str(key)) + len(value if isinstance(value, str) else "")
    if total > TOTAL_ANNOTATION_SIZE:
        errs.too_long(path, TOTAL_ANNOTATION_SIZE)


def validate_object_meta(errs: Errors, info: ResourceInfo, obj: dict[str, Any]) -> None:
    md = _dict(obj.get("metadata"))
    name, generate = _str(md.get("name")), _str(md.get("generateName"))
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
        ns = _str(md.get("namespace"))
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
    for value in _list(md.get("finalizers")):
        if isinstance(value, str):
            for msg in meta.qualified_name_errors(value):
                errs.invalid("metadata.finalizers", value, msg)


def _validate_owner_refs(errs: Errors, refs: Any) -> None:
    path = "metadata.ownerReferences"
    controllers: list[str] = []
    for _, ref in _dicts(refs):
        api_version = _str(ref.get("apiVersion"))
        if not api_version.rpartition("/")[2]:
            errs.invalid(f"{path}.apiVersion", api_version, "version must not be empty")
        if not _str(ref.get("kind")):
            errs.invalid(f"{path}.kind", _str(ref.get("kind")), "kind must not be empty")
        if not _str(ref.get("name")):
            errs.invalid(f"{path}.name", _str(ref.get("name")), "name must not be empty")
        if not _str(ref.get("uid")):
            errs.invalid(f"{path}.uid", _str(ref.get("uid")), "uid must not be empty")
        if ref.get("controller") is True:
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        errs.invalid(
            path,
            _list(refs),
            'Only one reference can have Controller set to true. Found "true" in references for '
            + " and ".join(controllers),
        )


def validate_label_selector(errs: Errors, selector: Any, path: str) -> None:
    sel = _dict(selector)
    validate_labels(errs, sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in _dicts(sel.get("matchExpressions")):
        epath = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), _list(expr.get("values"))
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
        key = _str(expr.get("key"))
        for msg in meta.qualified_name_errors(key):
            errs.invalid(f"{epath}.key", key, msg)
        for j, value in enumerate(values):
            if isinstance(value, str):
                for msg in meta.label_value_errors(value):
                    errs.invalid(f"{epath}.values[{j}]", value, msg)


# --- ports, IPs ------------------------------------------------------------------------

_PORT_RANGE_ERROR = "must be between 1 and 65535, inclusive"
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PORT_NAME_MAX = 15
_LETTER = re.compile(r"[a-z]")
_PORT_NAME_CHARS = re.compile(r"[-a-z0-9]+")


def port_name_errors(name: str) -> list[str]:
    """``validation.IsValidPortName`` (an IANA service name)."""
    errs: list[str] = []
    if len(name) > _PORT_NAME_MAX:
        errs.append(f"must be no more than {_PORT_NAME_MAX} characters")
    if not _PORT_NAME_CHARS.fullmatch(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _port_number(errs: Errors, path: str, value: Any, *, required: bool) -> None:
    port = _int(value)
    if port is None or port == 0:
        if required and (value is None or port == 0):
            errs.required(path)
        return
    if not 1 <= port <= 65535:
        errs.invalid(path, port, _PORT_RANGE_ERROR)


def _protocol(errs: Errors, path: str, value: Any) -> None:
    if isinstance(value, str) and value not in _PROTOCOLS:
        errs.not_supported(path, value, _PROTOCOLS)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


# --- pods ------------------------------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_TOLERATION_OPERATORS = ("Equal", "Exists")
_TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_ENV_NAME_ERROR = "a valid environment variable name must consist only of printable ASCII characters other than '='"


def _probe(errs: Errors, probe: Any, path: str) -> None:
    if probe is None:
        return
    p = _dict(probe)
    handlers = [h for h in _PROBE_HANDLERS if p.get(h) is not None]
    if not handlers:
        errs.required(path, "must specify a handler type")
    elif len(handlers) > 1:
        errs.forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type")
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        _nonnegative(errs, f"{path}.{name}", p.get(name))
    http = _dict(p.get("httpGet"))
    if http:
        port = http.get("port")
        if isinstance(port, str):
            for msg in port_name_errors(port):
                errs.invalid(f"{path}.httpGet.port", port, msg)
        else:
            _port_number(errs, f"{path}.httpGet.port", port, required=True)
    tcp = _dict(p.get("tcpSocket"))
    if tcp:
        port = tcp.get("port")
        if isinstance(port, str):
            for msg in port_name_errors(port):
                errs.invalid(f"{path}.tcpSocket.port", port, msg)
        else:
            _port_number(errs, f"{path}.tcpSocket.port", port, required=True)


def _resources(errs: Errors, resources: Any, path: str) -> None:
    res = _dict(resources)
    parsed: dict[str, dict[str, quantity.Quantity]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for name, raw in _dict(res.get(section)).items():
            qpath = f"{path}.{section}[{name}]"
            try:
                q = quantity.parse(raw)
            except quantity.QuantityError:
                errs.invalid(qpath, raw, quantity.QUANTITY_FORMAT_ERROR)
                continue
            if q.value < 0:
                errs.invalid(qpath, q.canonical(), "must be greater than or equal to 0")
            parsed[section][name] = q
    for name, req in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and req > limit:
            errs.invalid(
                f"{path}.requests[{name}]",
                req.canonical(),
                f"must be less than or equal to {name} limit of {limit.canonical()}",
            )


def _container(
    errs: Errors, ctr: dict[str, Any], path: str, volumes: set[str], *, probes: bool
) -> None:
    image = _str(ctr.get("image"))
    if not image:
        errs.required(f"{path}.image")
    elif image != image.strip():
        errs.invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
    policy = ctr.get("imagePullPolicy")
    if isinstance(policy, str) and policy not in _PULL_POLICIES:
        errs.not_supported(f"{path}.imagePullPolicy", policy, _PULL_POLICIES)
    tmp = ctr.get("terminationMessagePolicy")
    if isinstance(tmp, str) and tmp not in _TERMINATION_MESSAGE_POLICIES:
        errs.not_supported(f"{path}.terminationMessagePolicy", tmp, _TERMINATION_MESSAGE_POLICIES)
    port_names: set[str] = set()
    for i, port in _dicts(ctr.get("ports")):
        ppath = f"{path}.ports[{i}]"
        pname = _str(port.get("name"))
        if pname:
            for msg in port_name_errors(pname):
                errs.invalid(f"{ppath}.name", pname, msg)
            if pname in port_names:
                errs.duplicate(f"{ppath}.name", pname)
            port_names.add(pname)
        _port_number(errs, f"{ppath}.containerPort", port.get("containerPort"), required=True)
        if port.get("hostPort") not in (None, 0):
            _port_number(errs, f"{ppath}.hostPort", port.get("hostPort"), required=False)
        _protocol(errs, f"{ppath}.protocol", port.get("protocol"))
    for i, env in _dicts(ctr.get("env")):
        ename = _str(env.get("name"))
        if not ename:
            errs.required(f"{path}.env[{i}].name")
        elif "=" in ename or not all(" " <= c <= "~" for c in ename):
            errs.invalid(f"{path}.env[{i}].name", ename, _ENV_NAME_ERROR)
    for i, mount in _dicts(ctr.get("volumeMounts")):
        mname = _str(mount.get("name"))
        if not mname:
            errs.required(f"{path}.volumeMounts[{i}].name")
        elif mname not in volumes:
            errs.not_found(f"{path}.volumeMounts[{i}].name", mname)
        if not _str(mount.get("mountPath")):
            errs.required(f"{path}.volumeMounts[{i}].mountPath")
    _resources(errs, ctr.get("resources"), f"{path}.resources")
    if probes:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            _probe(errs, ctr.get(probe), f"{path}.{probe}")


def validate_pod_spec(errs: Errors, spec: Any, path: str) -> None:
    s = _dict(spec)
    volumes: set[str] = set()
    for i, vol in _dicts(s.get("volumes")):
        vname = _str(vol.get("name"))
        vpath = f"{path}.volumes[{i}].name"
        if not vname:
            errs.required(vpath)
            continue
        for msg in meta.dns1123_label_errors(vname):
            errs.invalid(vpath, vname, msg)
        if vname in volumes:
            errs.duplicate(vpath, vname)
        volumes.add(vname)
    containers = _list(s.get("containers"))
    if not containers:
        errs.required(f"{path}.containers")
    names: set[str] = set()
    for group, probes in (("initContainers", False), ("containers", True)):
        for i, ctr in _dicts(s.get(group)):
            cpath = f"{path}.{group}[{i}]"
            cname = _str(ctr.get("name"))
            if not cname:
                errs.required(f"{cpath}.name")
            else:
                for msg in meta.dns1123_label_errors(cname):
                    errs.invalid(f"{cpath}.name", cname, msg)
                if cname in names:
                    errs.duplicate(f"{cpath}.name", cname)
                names.add(cname)
            # sidecars (restartPolicy Always) may have probes; plain init containers not
            sidecar = ctr.get("restartPolicy") == "Always"
            _container(errs, ctr, cpath, volumes, probes=probes or sidecar)
    restart = s.get("restartPolicy")
    if isinstance(restart, str) and restart not in _RESTART_POLICIES:
        errs.not_supported(f"{path}.restartPolicy", restart, _RESTART_POLICIES)
    dns = s.get("dnsPolicy")
    if isinstance(dns, str):
        if dns not in _DNS_POLICIES:
            errs.not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES)
        elif dns == "None" and s.get("dnsConfig") is None:
            errs.required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
    deadline = _int(s.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errs.invalid(
            f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive"
        )
    _nonnegative(
        errs, f"{path}.terminationGracePeriodSeconds", s.get("terminationGracePeriodSeconds")
    )
    for key, check in (
        ("nodeName", meta.dns1123_subdomain_errors),
        ("serviceAccountName", meta.dns1123_subdomain_errors),
        ("hostname", meta.dns1123_label_errors),
        ("subdomain", meta.dns1123_label_errors),
    ):
        value = _str(s.get(key))
        if value:
            for msg in check(value):
                errs.invalid(f"{path}.{key}", value, msg)
    validate_labels(errs, s.get("nodeSelector"), f"{path}.nodeSelector")
    _tolerations(errs, s.get("tolerations"), f"{path}.tolerations")


def _tolerations(errs: Errors, tolerations: Any, path: str) -> None:
    for i, tol in _dicts(tolerations):
        tpath = f"{path}[{i}]"
        key, op, effect = _str(tol.get("key")), tol.get("operator"), tol.get("effect")
        if key:
            for msg in meta.qualified_name_errors(key):
                errs.invalid(f"{tpath}.key", key, msg)
        elif op != "Exists":
            errs.invalid(
                f"{tpath}.operator",
                op,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"',
            )
        if op not in (None, "", *_TOLERATION_OPERATORS):
            errs.not_supported(f"{tpath}.operator", op, _TOLERATION_OPERATORS)
        if op == "Exists" and _str(tol.get("value")):
            errs.invalid(
                f"{tpath}.operator",
                tol.get("value"),
                "value must be empty when `operator` is 'Exists'",
            )
        if effect not in (None, "", *_TAINT_EFFECTS):
            errs.not_supported(f"{tpath}.effect", effect, _TAINT_EFFECTS)
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.invalid(
                f"{tpath}.effect",
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )


def _pod(errs: Errors, obj: dict[str, Any]) -> None:
    validate_pod_spec(errs, obj.get("spec"), "spec")


def validate_pod_template(errs: Errors, template: Any, path: str) -> None:
    tmpl = _dict(template)
    md = _dict(tmpl.get("metadata"))
    validate_labels(errs, md.get("labels"), f"{path}.metadata.labels")
    validate_annotations(errs, md.get("annotations"), f"{path}.metadata.annotations")
    validate_pod_spec(errs, tmpl.get("spec"), f"{path}.spec")


# --- apps ------------------------------------------------------------------------------


def _selector_matches(selector: Any, labels: dict[str, str]) -> tuple[bool, bool]:
    """(selector usable, matches). Mirrors LabelSelectorAsSelector: nil selects nothing."""
    from kctl.api import selectors

    if selector is None:
        return True, False
    if not isinstance(selector, dict):
        return False, False
    try:
        sel = selectors.from_label_selector(selector)
    except ApiError:
        return False, False
    return True, sel.empty or sel.matches(labels)


def _replicated(errs: Errors, spec: dict[str, Any]) -> None:
    """What Deployments and ReplicaSets share (ValidatePodTemplateSpecForReplicaSet)."""
    _nonnegative(errs, "spec.replicas", spec.get("replicas"))
    _nonnegative(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    selector = spec.get("selector")
    if selector is None:
        errs.required("spec.selector")
    else:
        validate_label_selector(errs, selector, "spec.selector")
        sel = _dict(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.invalid("spec.selector", sel, "empty selector is invalid for deployment")
    template = _dict(spec.get("template"))
    labels = _strmap(_dict(template.get("metadata")).get("labels"))
    usable, matches = _selector_matches(selector, labels)
    if not usable:
        errs.invalid("spec.selector", selector, "invalid label selector")
    elif not matches:
        errs.invalid(
            "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
        )
    validate_pod_template(errs, template, "spec.template")
    tspec = _dict(template.get("spec"))
    restart = tspec.get("restartPolicy")
    if isinstance(restart, str) and restart in _RESTART_POLICIES and restart != "Always":
        errs.not_supported("spec.template.spec.restartPolicy", restart, ["Always"])
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        )


_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_ERROR = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)


def _int_or_percent(errs: Errors, value: Any, path: str) -> int | None:
    """Validate and return the number (percent or int); None when absent/invalid."""
    if isinstance(value, str):
        if not _PERCENT.fullmatch(value):
            errs.invalid(path, value, _PERCENT_ERROR)
            return None
        return int(value[:-1])
    number = _int(value)
    if number is not None and number < 0:
        errs.invalid(path, number, "must be greater than or equal to 0")
    return number


def _deployment(errs: Errors, obj: dict[str, Any]) -> None:
    spec = _dict(obj.get("spec"))
    _replicated(errs, spec)
    _nonnegative(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    deadline = _int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        _nonnegative(errs, "spec.progressDeadlineSeconds", deadline)
        if deadline <= (_int(spec.get("minReadySeconds")) or 0):
            errs.invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            errs.forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )
    elif kind == "RollingUpdate":
        ru = _dict(rolling)
        unavailable = _int_or_percent(
            errs, ru.get("maxUnavailable"), "spec.strategy.rollingUpdate.maxUnavailable"
        )
        surge = _int_or_percent(errs, ru.get("maxSurge"), "spec.strategy.rollingUpdate.maxSurge")
        if isinstance(rolling, dict) and not unavailable and not surge:
            errs.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable",
                ru.get("maxUnavailable", 0),
                "may not be 0 when `maxSurge` is 0",
            )
        raw = ru.get("maxUnavailable")
        if isinstance(raw, str) and unavailable is not None and unavailable > 100:
            errs.invalid(
                "spec.strategy.rollingUpdate.maxUnavailable", raw, "must not be greater than 100%"
            )
    elif kind is not None:
        errs.not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])


def _replicaset(errs: Errors, obj: dict[str, Any]) -> None:
    _replicated(errs, _dict(obj.get("spec")))


# --- services, endpoints ---------------------------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_SESSION_AFFINITIES = ("ClientIP", "None")
_IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
_TRAFFIC_POLICIES = ("Cluster", "Local")


def _service(errs: Errors, obj: dict[str, Any]) -> None:
    spec = _dict(obj.get("spec"))
    kind = spec.get("type")
    if isinstance(kind, str) and kind not in _SERVICE_TYPES:
        errs.not_supported("spec.type", kind, _SERVICE_TYPES)
    cluster_ip = _str(spec.get("clusterIP"))
    headless = cluster_ip == "None"
    ports = _list(spec.get("ports"))
    if kind == "ExternalName":
        external = _str(spec.get("externalName"))
        if not external:
            errs.required("spec.externalName")
        else:
            for msg in meta.dns1123_subdomain_errors(external.removesuffix(".")):
                errs.invalid("spec.externalName", external, msg)
        if cluster_ip:
            errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
    elif not ports and not headless:
        errs.required("spec.ports")
    if cluster_ip and not headless and not _is_ip(cluster_ip):
        errs.invalid("spec.clusterIP", cluster_ip, _IP_ERROR)
    seen_names: set[str] = set()
    seen_ports: set[tuple[Any, Any]] = set()
    for i, port in _dicts(ports):
        ppath = f"spec.ports[{i}]"
        pname = _str(port.get("name"))
        if len(ports) > 1 and not pname:
            errs.required(f"{ppath}.name")
        elif pname:
            for msg in meta.dns1123_label_errors(pname):
                errs.invalid(f"{ppath}.name", pname, msg)
            if pname in seen_names:
                errs.duplicate(f"{ppath}.name", pname)
            seen_names.add(pname)
        _port_number(errs, f"{ppath}.port", port.get("port"), required=True)
        _protocol(errs, f"{ppath}.protocol", port.get("protocol"))
        target = port.get("targetPort")
        if isinstance(target, str):
            for msg in port_name_errors(target):
                errs.invalid(f"{ppath}.targetPort", target, msg)
        elif _int(target) is not None and target != 0:
            _port_number(errs, f"{ppath}.targetPort", target, required=False)
        node_port = _int(port.get("nodePort"))
        if node_port:
            _port_number(errs, f"{ppath}.nodePort", node_port, required=False)
            if kind in (None, "ClusterIP"):
                errs.forbidden(f"{ppath}.nodePort", "may not be used when `type` is 'ClusterIP'")
        key = (port.get("port"), port.get("protocol") or "TCP")
        if key in seen_ports:
            errs.duplicate(ppath, {"port": key[0], "protocol": key[1]})
        seen_ports.add(key)
    if kind != "ExternalName":
        validate_labels(errs, spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in _SESSION_AFFINITIES:
        errs.not_supported("spec.sessionAffinity", affinity, _SESSION_AFFINITIES)
    policy = spec.get("ipFamilyPolicy")
    if isinstance(policy, str) and policy not in _IP_FAMILY_POLICIES:
        errs.not_supported("spec.ipFamilyPolicy", policy, _IP_FAMILY_POLICIES)
    for i, family in enumerate(_list(spec.get("ipFamilies"))):
        if family not in ("IPv4", "IPv6"):
            errs.not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6"))
    internal = spec.get("internalTrafficPolicy")
    if isinstance(internal, str) and internal not in _TRAFFIC_POLICIES:
        errs.not_supported("spec.internalTrafficPolicy", internal, _TRAFFIC_POLICIES)
    external_policy = spec.get("externalTrafficPolicy")
    if isinstance(external_policy, str) and external_policy:
        if kind not in ("NodePort", "LoadBalancer"):
            errs.invalid(
                "spec.externalTrafficPolicy",
                external_policy,
                "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
            )
        elif external_policy not in _TRAFFIC_POLICIES:
            errs.not_supported("spec.externalTrafficPolicy", external_policy, _TRAFFIC_POLICIES)


def _endpoints(errs: Errors, obj: dict[str, Any]) -> None:
    for i, subset in _dicts(obj.get("subsets")):
        spath = f"subsets[{i}]"
        for group in ("addresses", "notReadyAddresses"):
            for j, addr in _dicts(subset.get(group)):
                ip = _str(addr.get("ip"))
                if not _is_ip(ip):
                    errs.invalid(f"{spath}.{group}[{j}].ip", ip, "must be a valid IP address")
                node = _str(addr.get("nodeName"))
                if node:
                    for msg in meta.dns1123_subdomain_errors(node):
                        errs.invalid(f"{spath}.{group}[{j}].nodeName", node, msg)
        ports = _dicts(subset.get("ports"))
        for j, port in ports:
            ppath = f"{spath}.ports[{j}]"
            pname = _str(port.get("name"))
            if len(ports) > 1 and not pname:
                errs.required(f"{ppath}.name")
            elif pname:
                for msg in meta.dns1123_label_errors(pname):
                    errs.invalid(f"{ppath}.name", pname, msg)
            _port_number(errs, f"{ppath}.port", port.get("port"), required=True)
            if port.get("protocol") is None:
                errs.required(f"{ppath}.protocol")
            _protocol(errs, f"{ppath}.protocol", port.get("protocol"))


# --- config, secrets, others -----------------------------------------------------------

_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_CONFIG_KEY_ERROR = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def config_key_errors(key: str) -> list[str]:
    errs: list[str] = []
    if len(key) > meta.DNS1123_SUBDOMAIN_MAX:
        errs.append(f"must be no more than {meta.DNS1123_SUBDOMAIN_MAX} characters")
    if not _CONFIG_KEY.fullmatch(key):
        errs.append(_CONFIG_KEY_ERROR)
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _config_data(errs: Errors, obj: dict[str, Any], sections: tuple[str, ...]) -> None:
    seen: set[str] = set()
    total = 0
    for section in sections:
        for key, value in _dict(obj.get(section)).items():
            for msg in config_key_errors(key):
                errs.invalid(f"{section}[{key}]", key, msg)
            if key in seen:
                errs.invalid(f"{section}[{key}]", key, f"duplicate of key present in {sections[0]}")
            seen.add(key)
            total += len(value) if isinstance(value, str) else 0
    if total > MAX_CONFIG_SIZE:
        errs.too_long("", MAX_CONFIG_SIZE)


def _configmap(errs: Errors, obj: dict[str, Any]) -> None:
    _config_data(errs, obj, ("binaryData", "data"))


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _secret(errs: Errors, obj: dict[str, Any]) -> None:
    _config_data(errs, obj, ("data", "stringData"))
    keys = set(_dict(obj.get("data"))) | set(_dict(obj.get("stringData")))
    for key in _SECRET_REQUIRED_KEYS.get(_str(obj.get("type")), ()):
        if key not in keys:
            errs.required(f"data[{key}]")


def _namespace(errs: Errors, obj: dict[str, Any]) -> None:
    for i, value in enumerate(_list(_dict(obj.get("spec")).get("finalizers"))):
        if isinstance(value, str):
            for msg in meta.qualified_name_errors(value):
                errs.invalid(f"spec.finalizers[{i}]", value, msg)


def _event(errs: Errors, obj: dict[str, Any]) -> None:
    ns = _str(_dict(obj.get("metadata")).get("namespace"))
    involved_ns = _str(_dict(obj.get("involvedObject")).get("namespace"))
    if not obj.get("eventTime"):
        ok = ns in ("", "default") if not involved_ns else ns == involved_ns
    else:
        ok = bool(involved_ns) or ns in ("default", "kube-system")
        if not _str(obj.get("reportingController")):
            errs.required("reportingController")
        if not _str(obj.get("reportingInstance")):
            errs.required("reportingInstance")
        if not _str(obj.get("action")):
            errs.required("action")
    if not ok:
        errs.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")


def _lease(errs: Errors, obj: dict[str, Any]) -> None:
    spec = _dict(obj.get("spec"))
    duration = _int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        errs.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
    _nonnegative(errs, "spec.leaseTransitions", spec.get("leaseTransitions"))


def _node(errs: Errors, obj: dict[str, Any]) -> None:
    spec = _dict(obj.get("spec"))
    for i, taint in _dicts(spec.get("taints")):
        key, effect = _str(taint.get("key")), taint.get("effect")
        if not key:
            errs.required(f"spec.taints[{i}].key")
        else:
            for msg in meta.qualified_name_errors(key):
                errs.invalid(f"spec.taints[{i}].key", key, msg)
        if effect not in _TAINT_EFFECTS:
            errs.not_supported(f"spec.taints[{i}].effect", effect, _TAINT_EFFECTS)


Rule = Callable[[Errors, dict[str, Any]], None]

# (group, kind) -> rules beyond object metadata.
RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("", "Pod"): (_pod,),
    ("", "Service"): (_service,),
    ("", "Endpoints"): (_endpoints,),
    ("", "ConfigMap"): (_configmap,),
    ("", "Secret"): (_secret,),
    ("", "Namespace"): (_namespace,),
    ("", "Event"): (_event,),
    ("", "Node"): (_node,),
    ("apps", "Deployment"): (_deployment,),
    ("apps", "ReplicaSet"): (_replicaset,),
    ("coordination.k8s.io", "Lease"): (_lease,),
}


def _validate_semantics(info: ResourceInfo, obj: dict[str, Any], errs: Errors) -> None:
    validate_object_meta(errs, info, obj)
    for rule in RULES.get((info.group, info.kind), ()):
        rule(errs, obj)


# =====================================================================================
# Updates: immutable fields
# =====================================================================================


def _normalized(value: Any) -> Any:
    """Semantic equality as upstream's: nil and empty lists/maps compare equal."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    return _normalized(a) == _normalized(b)


_POD_UPDATABLE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _pod_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_spec, new_spec = _dict(old.get("spec")), _dict(new.get("spec"))
    munged = copy.deepcopy(new_spec)
    for group in ("containers", "initContainers"):
        old_ctrs, new_ctrs = _list(old_spec.get(group)), _list(munged.get(group))
        if len(old_ctrs) == len(new_ctrs):
            for o, n in zip(old_ctrs, new_ctrs, strict=True):
                if isinstance(o, dict) and isinstance(n, dict):
                    if "image" in o:
                        n["image"] = o["image"]
                    else:
                        n.pop("image", None)
    new_deadline, old_deadline = (
        _int(new_spec.get("activeDeadlineSeconds")),
        _int(old_spec.get("activeDeadlineSeconds")),
    )
    if new_deadline is not None:
        if old_deadline is not None and new_deadline > old_deadline:
            errs.invalid(
                "spec.activeDeadlineSeconds",
                new_deadline,
                "must be less than or equal to previous value",
            )
            return
    elif old_deadline is not None:
        errs.invalid(
            "spec.activeDeadlineSeconds",
            None,
            "must not update from a positive integer to nil value",
        )
        return
    munged.pop("activeDeadlineSeconds", None)
    if old_deadline is not None:
        munged["activeDeadlineSeconds"] = old_spec["activeDeadlineSeconds"]

    def tol_key(t: Any) -> Any:
        return _normalized({k: v for k, v in _dict(t).items() if k != "tolerationSeconds"})

    new_tols = [tol_key(t) for t in _list(new_spec.get("tolerations"))]
    if all(tol_key(t) in new_tols for t in _list(old_spec.get("tolerations"))):
        munged["tolerations"] = old_spec.get("tolerations")
    old_grace = _int(old_spec.get("terminationGracePeriodSeconds"))
    if (
        old_grace is not None
        and old_grace < 0
        and new_spec.get("terminationGracePeriodSeconds") == 1
    ):
        munged["terminationGracePeriodSeconds"] = old_grace
    old_gates = _list(old_spec.get("schedulingGates"))
    if all(g in old_gates for g in _list(new_spec.get("schedulingGates"))):
        munged["schedulingGates"] = old_gates
    if not _same(munged, old_spec):
        errs.forbidden("spec", _POD_UPDATABLE)


def _selector_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_sel = _dict(old.get("spec")).get("selector")
    new_sel = _dict(new.get("spec")).get("selector")
    if not _same(old_sel, new_sel):
        errs.invalid("spec.selector", new_sel, "field is immutable")


def _service_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_spec, new_spec = _dict(old.get("spec")), _dict(new.get("spec"))
    old_ip, new_ip = _str(old_spec.get("clusterIP")), _str(new_spec.get("clusterIP"))
    to_external = new_spec.get("type") == "ExternalName"
    if old_ip and new_ip and new_ip != old_ip and not to_external:
        errs.invalid("spec.clusterIPs[0]", [new_ip], "may not change once set")


def _immutable_data(
    sections: tuple[str, ...],
) -> Callable[[Errors, dict[str, Any], dict[str, Any]], None]:
    def check(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("immutable") is not True:
            return
        if new.get("immutable") is not True:
            errs.forbidden("immutable", "field is immutable when `immutable` is set")
        for section in sections:
            if not _same(old.get(section), new.get(section)):
                errs.forbidden(section, "field is immutable when `immutable` is set")

    return check


def _secret_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_type, new_type = old.get("type") or "Opaque", new.get("type") or "Opaque"
    if old_type != new_type:
        errs.invalid("type", new_type, "field is immutable")
    _immutable_data(("data",))(errs, old, new)


UpdateRule = Callable[[Errors, dict[str, Any], dict[str, Any]], None]

UPDATE_RULES: dict[tuple[str, str], tuple[UpdateRule, ...]] = {
    ("", "Pod"): (_pod_update,),
    ("", "Service"): (_service_update,),
    ("", "ConfigMap"): (_immutable_data(("data", "binaryData")),),
    ("", "Secret"): (_secret_update,),
    ("apps", "Deployment"): (_selector_update,),
    ("apps", "ReplicaSet"): (_selector_update,),
}


def validate_update(info: ResourceInfo, old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    """Update-only rules (immutable fields). Run in addition to ``validate(new)``."""
    errs = Errors()
    for rule in UPDATE_RULES.get((info.group, info.kind), ()):
        rule(errs, old, new)
    return errs.causes
