"""Content negotiation: what a request body is, and what the client wants back.

kctl speaks JSON (and YAML in, for apply patches and kubectl's ``--raw`` users). Facts
from the wire notes drive the rules: a body without Content-Type is JSON (kubectl's
``PUT .../scale`` and the Python client send none); protobuf bodies (kubectl 1.32's
imperative ``create``) get 415 with advice; ``Accept: ...;as=Table;...`` asks for
server-side printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kctl.api import errors

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(body: bytes, content_type: str | None) -> Any:
    """JSON (or YAML) body -> Python value. Raises BadRequest / UnsupportedMediaType."""
    mt = media_type(content_type)
    if "protobuf" in mt:
        raise errors.UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            'application/json, application/yaml (kctl does not speak protobuf: use "kubectl apply -f" '
            'or "kctl apply -f" with a manifest instead of an imperative "kubectl create")'
        )
    if not body.strip():
        raise errors.BadRequest("the request body is empty")
    if mt in ("", "application/json", "*/*") or mt.endswith("+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.BadRequest(f"the request body is not valid JSON: {exc}") from None
    if mt in ("application/yaml", "application/x-yaml", "text/yaml") or mt.endswith("+yaml"):
        try:
            return orjson.loads(body)  # JSON is YAML; kubectl sends JSON as apply-patch+yaml
        except orjson.JSONDecodeError:
            pass
        return _decode_yaml(body)
    raise errors.UnsupportedMediaType(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json, application/yaml (got {mt!r})"
    )


def _decode_yaml(body: bytes) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(body.decode("utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise errors.BadRequest(f"the request body is not valid YAML: {exc}") from None


def patch_type(content_type: str | None) -> str:
    mt = media_type(content_type)
    kind = PATCH_TYPES.get(mt)
    if kind is None:
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}"
        )
    return kind


@dataclass(frozen=True)
class Accept:
    """What the response should be: a Table (and how much object to include), or plain JSON."""

    table: bool = False
    include_object: str = "Metadata"


def parse_accept(header: str | None, query: dict[str, str]) -> Accept:
    if not header or "as=Table" not in header:
        return Accept()
    for option in header.split(","):
        params = {
            k.strip(): v.strip() for k, _, v in (p.partition("=") for p in option.split(";")[1:])
        }
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            include = query.get("includeObject") or "Metadata"
            if include not in ("None", "Metadata", "Object"):
                raise errors.BadRequest(
                    f"includeObject must be None, Metadata or Object: {include!r}"
                )
            return Accept(table=True, include_object=include)
    return Accept()
