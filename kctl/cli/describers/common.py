"""Blocks several describers share: multi-line labels, annotations, taints and
tolerations, the ``Controlled By`` owner, and quantity arithmetic.

Each function writes exactly what kubectl's helper of the same purpose writes (the
cell separators included), so a block is aligned with the lines around it by the
tabwriter, not by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kctl.api.quantity import Quantity, parse
from kctl.cli.describers.gofmt import go_value
from kctl.cli.describers.writer import LEVEL_0, PrefixWriter

Obj = Mapping[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ANNOTATION_LEN = 140


def meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def labels_block(
    w: PrefixWriter,
    title: str,
    labels: Mapping[str, Any] | None,
    initial_indent: str = "",
    inner_indent: str = "\t",
) -> None:
    """``printLabelsMultilineWithIndent``: ``Title:`` then one ``k=v`` per line."""
    w.write(LEVEL_0, f"{initial_indent}{title}:{inner_indent}")
    if not labels:
        w.line("<none>")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(LEVEL_0, initial_indent + inner_indent)
        w.write(LEVEL_0, f"{key}={go_value(labels[key])}\n")


def annotations_block(w: PrefixWriter, title: str, annotations: Mapping[str, Any] | None) -> None:
    """``printAnnotationsMultiline``: the last-applied annotation is never shown; long
    or multi-line values go on their own lines, each cut at 138 characters."""
    w.write(LEVEL_0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k != LAST_APPLIED)
    if not keys:
        w.line("<none>")
        return
    assert annotations is not None
    for i, key in enumerate(keys):
        if i:
            w.write(LEVEL_0, "\t")
        value = str(annotations[key])
        value = value[:-1] if value.endswith("\n") else value
        if len(value.encode()) + len(key.encode()) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.write(LEVEL_0, f"{key}:\n")
            for part in value.split("\n"):
                w.write(LEVEL_0, f"\t  {_shorten(part, MAX_ANNOTATION_LEN - 2)}\n")
        else:
            w.write(LEVEL_0, f"{key}: {value}\n")


def _shorten(text: str, limit: int) -> str:
    # Go slices bytes: cut the UTF-8 encoding, as kubectl does.
    raw = text.encode()
    if len(raw) > limit:
        return raw[:limit].decode(errors="replace") + "..."
    return text


def taint_string(taint: Mapping[str, Any]) -> str:
    """``Taint.ToString()``."""
    key, value, effect = taint.get("key", ""), taint.get("value", ""), taint.get("effect", "")
    if not effect:
        return f"{key}={value}:" if value else str(key)
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def taints_block(w: PrefixWriter, title: str, taints: Iterable[Mapping[str, Any]] | None) -> None:
    """``printNodeTaintsMultiline``: sorted by effect, then key."""
    w.write(LEVEL_0, f"{title}:\t")
    items = sorted(taints or [], key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    if not items:
        w.line("<none>")
        return
    for i, taint in enumerate(items):
        if i:
            w.write(LEVEL_0, "\t")
        w.write(LEVEL_0, taint_string(taint) + "\n")


def tolerations_block(
    w: PrefixWriter, title: str, tolerations: Iterable[Mapping[str, Any]] | None
) -> None:
    """``printTolerationsMultilineWithIndent``: ``key=value:Effect op=Exists for Ns``."""
    w.write(LEVEL_0, f"{title}:\t")
    items = sorted(tolerations or [], key=lambda t: str(t.get("key", "")))
    if not items:
        w.line("<none>")
        return
    for i, tol in enumerate(items):
        if i:
            w.write(LEVEL_0, "\t")
        key, value, effect = tol.get("key", ""), tol.get("value", ""), tol.get("effect", "")
        text = str(key)
        if value:
            text += f"={value}"
        if effect:
            text += f":{effect}"
        if tol.get("operator") == "Exists" and not value:
            text += " op=Exists" if key or effect else "op=Exists"
        if tol.get("tolerationSeconds") is not None:
            text += f" for {tol['tolerationSeconds']}s"
        w.write(LEVEL_0, text + "\n")


def controller_of(obj: Obj) -> Mapping[str, Any] | None:
    """``metav1.GetControllerOf``: the owner reference marked ``controller: true``."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def controlled_by(obj: Obj) -> str:
    ref = controller_of(obj)
    return f"{ref.get('kind', '')}/{ref.get('name', '')}" if ref else ""


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


def quantity(value: Any) -> Quantity:
    """A resource quantity; unparsable or missing values count as zero, as a
    ``resource.Quantity`` zero value would."""
    if value is None:
        return parse(0)
    try:
        return parse(value)
    except ValueError:
        return parse(0)


def quantity_string(value: Any) -> str:
    """``Quantity.String()``: the canonical form (``1.5`` prints as ``1500m``)."""
    return quantity(value).canonical()


def resource_list(values: Mapping[str, Any] | None) -> dict[str, Quantity]:
    return {name: quantity(v) for name, v in (values or {}).items()}
