"""ConfigMaps, Secrets and ServiceAccounts: the configuration kinds.

A Secret is described by the *sizes* of its values, never the values (the one
exception kubectl makes is the token of a service-account-token Secret). Keys are
printed sorted: kubectl 1.32 walks Go maps here, so its order for several keys is
arbitrary, and sorted is the order newer kubectl releases settled on.
"""

from __future__ import annotations

import base64
import binascii

from kctl.api.errors import ApiError
from kctl.cli.describers import events
from kctl.cli.describers.common import Obj, annotations_block, labels_block, meta
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.writer import LEVEL_0, PrefixWriter

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"


def _decoded(value: object) -> bytes:
    try:
        return base64.b64decode(str(value or ""), validate=False)
    except (binascii.Error, ValueError):
        return str(value or "").encode()


def _header(w: PrefixWriter, obj: Obj) -> None:
    md = meta(obj)
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))


def describe_configmap(ctx: DescribeContext, cm: Obj) -> str:
    w = PrefixWriter()
    _header(w, cm)
    w.write(LEVEL_0, "\nData\n====\n")
    data = cm.get("data") or {}
    for key in sorted(data):
        w.write(LEVEL_0, f"{key}:\n----\n")
        w.write(LEVEL_0, f"{data[key]}\n")
        w.write(LEVEL_0, "\n")
    w.write(LEVEL_0, "\nBinaryData\n====\n")
    binary = cm.get("binaryData") or {}
    for key in sorted(binary):
        w.write(LEVEL_0, f"{key}: {len(_decoded(binary[key]))} bytes\n")
    w.write(LEVEL_0, "\n")
    if ctx.show_events:
        events.write_events(w, events.search(ctx, cm, "ConfigMap", strict=True))
    return w.getvalue()


def describe_secret(ctx: DescribeContext, secret: Obj) -> str:
    w = PrefixWriter()
    _header(w, secret)
    secret_type = str(secret.get("type") or "")
    w.write(LEVEL_0, f"\nType:\t{secret_type}\n")
    w.write(LEVEL_0, "\nData\n====\n")
    data = secret.get("data") or {}
    for key in sorted(data):
        value = _decoded(data[key])
        if key == "token" and secret_type == SA_TOKEN_TYPE:
            w.write(LEVEL_0, f"{key}:\t{value.decode(errors='replace')}\n")
        else:
            w.write(LEVEL_0, f"{key}:\t{len(value)} bytes\n")
    return w.getvalue()


def describe_serviceaccount(ctx: DescribeContext, sa: Obj) -> str:
    md = meta(sa)
    tokens: list[str] = []
    missing: set[str] = set()
    info = ctx.served("", "Secret")
    if info is not None:
        try:
            secrets = ctx.list_all(info, md.get("namespace"))
        except ApiError:
            secrets = None
        if secrets is not None:
            existing = set()
            for secret in secrets:
                annotations = meta(secret).get("annotations") or {}
                if (
                    secret.get("type") == SA_TOKEN_TYPE
                    and annotations.get(SA_NAME_ANNOTATION) == md.get("name")
                    and annotations.get(SA_UID_ANNOTATION) == md.get("uid")
                ):
                    tokens.append(str(meta(secret).get("name", "")))
                existing.add(meta(secret).get("name"))
            for ref in [*(sa.get("secrets") or []), *(sa.get("imagePullSecrets") or [])]:
                if ref.get("name") not in existing:
                    missing.add(str(ref.get("name", "")))
    found = events.search(ctx, sa, "ServiceAccount") if ctx.show_events else None

    w = PrefixWriter()
    _header(w, sa)
    # kubectl pads the three headers to one width and prints them in sorted order.
    sections = (
        ("Image pull secrets:", [str(r.get("name", "")) for r in sa.get("imagePullSecrets") or []]),
        ("Mountable secrets: ", [str(r.get("name", "")) for r in sa.get("secrets") or []]),
        ("Tokens:            ", tokens),
    )
    for header, names in sections:
        if not names:
            w.write(LEVEL_0, f"{header}\t<none>\n")
            continue
        prefix = header
        for name in names:
            suffix = " (not found)" if name in missing else ""
            w.write(LEVEL_0, f"{prefix}\t{name}{suffix}\n")
            prefix = " " * len(header)
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()
