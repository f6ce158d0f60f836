"""ConfigMap and Secret rules: data keys, total size, required keys per Secret type.

Why it exists: ConfigMaps and Secrets share upstream's config-key grammar
(``IsConfigMapKey``), the rule that a key may appear in only one data section, and the
1 MiB total size limit; Secrets add the keys their ``type`` requires.

Design: :func:`_config_data` checks the sections a kind has (in upstream's order, the
first one named in duplicate-key messages); :func:`validate_configmap` and
:func:`validate_secret` are the per-kind entries in :data:`..rules.RULES`.
"""

from __future__ import annotations

import re
from typing import Any

from kctl.api import meta
from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_dict, as_str

MAX_CONFIG_SIZE = 1024 * 1024

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
        for key, value in as_dict(obj.get(section)).items():
            for msg in config_key_errors(key):
                errs.invalid(f"{section}[{key}]", key, msg)
            if key in seen:
                errs.invalid(f"{section}[{key}]", key, f"duplicate of key present in {sections[0]}")
            seen.add(key)
            total += len(value) if isinstance(value, str) else 0
    if total > MAX_CONFIG_SIZE:
        errs.too_long("", MAX_CONFIG_SIZE)


def validate_configmap(errs: Errors, obj: dict[str, Any]) -> None:
    _config_data(errs, obj, ("binaryData", "data"))


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def validate_secret(errs: Errors, obj: dict[str, Any]) -> None:
    _config_data(errs, obj, ("data", "stringData"))
    keys = set(as_dict(obj.get("data"))) | set(as_dict(obj.get("stringData")))
    for key in _SECRET_REQUIRED_KEYS.get(as_str(obj.get("type")), ()):
        if key not in keys:
            errs.required(f"data[{key}]")
