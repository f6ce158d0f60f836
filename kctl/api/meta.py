"""Object metadata helpers shared by the server, controllers and the CLI.

Kubernetes fixes several small formats that clients compare byte for byte: timestamps
are RFC 3339 in UTC with seconds precision (``metav1.Time``) or microseconds
(``metav1.MicroTime``, used by Leases and events.k8s.io), generated names use a fixed
consonant-and-digit alphabet (no vowels, so no accidental words), and names are checked
against DNS-1123 and "qualified name" grammars whose exact error sentences kubectl shows
to users. Keeping them in one module keeps every layer consistent with kube-apiserver.

The ``*_errors`` functions return Kubernetes' own messages (empty list = valid) so that
validation can wrap them in a ``Cause``; the ``is_*`` functions are the boolean forms.
Every write checks the same few label keys and names again and again, so the checks are
memoized (bounded LRU; the results are immutable tuples behind list-returning wrappers).
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

# --- time -----------------------------------------------------------------------------


def now_rfc3339() -> str:
    """Now as ``metav1.Time`` serializes it: ``2024-01-02T03:04:05Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339_micro() -> str:
    """Now as ``metav1.MicroTime`` serializes it: ``2024-01-02T03:04:05.123456Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(when: datetime) -> str:
    """A datetime as ``metav1.Time`` (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset, optional fraction) to aware UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).astimezone(UTC)


# --- identity -------------------------------------------------------------------------

# utilrand's alphabet: no vowels (no words), no confusable 0/1/3 characters.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RANDOM_LENGTH = 5
_MAX_NAME_LENGTH = 63


class _RandomPool:
    """Random bytes from the OS, fetched 4 KiB at a time: one getrandom call per 256 UIDs
    instead of one per UID (each call costs tens of microseconds on a VM)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""

    def take(self, n: int) -> bytes:
        with self._lock:
            if len(self._buffer) < n:
                self._buffer = os.urandom(4096)
            chunk, self._buffer = self._buffer[:n], self._buffer[n:]
            return chunk


_random_pool = _RandomPool()


def new_uid() -> str:
    """A random (version 4) UUID, as Kubernetes gives every object."""
    return str(uuid.UUID(bytes=_random_pool.take(16), version=4))


def generate_name(prefix: str) -> str:
    """``metadata.generateName`` -> a name: the prefix cut to 58 characters + 5 random."""
    base = prefix[: _MAX_NAME_LENGTH - _RANDOM_LENGTH]
    return base + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(_RANDOM_LENGTH))


# --- accessors ------------------------------------------------------------------------


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    labels = metadata(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


def owner_references(obj: dict[str, Any]) -> list[dict[str, Any]]:
    refs = metadata(obj).get("ownerReferences")
    if not isinstance(refs, list):
        return []
    return [r for r in refs if isinstance(r, dict)]


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true`` (at most one is allowed).

    Controllers ask this of every object they own on every sync, so it reads the
    references in place rather than through :func:`owner_references`' copy."""
    md = obj.get("metadata")
    refs = md.get("ownerReferences") if isinstance(md, dict) else None
    if isinstance(refs, list):
        for ref in refs:
            if isinstance(ref, dict) and ref.get("controller") is True:
                return ref
    return None


def controller_ref(owner: dict[str, Any]) -> dict[str, Any]:
    """An ownerReference making ``owner`` the controller, as controllers set it."""
    md = metadata(owner)
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": md.get("name", ""),
        "uid": md.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


# --- name grammars (k8s.io/apimachinery/pkg/util/validation) ---------------------------

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{msg} (e.g. {shown}, regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


DNS1123_LABEL_ERROR = _regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
DNS1123_SUBDOMAIN_ERROR = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character",
    _DNS1123_SUBDOMAIN_FMT,
    "example.com",
)
DNS1035_LABEL_ERROR = _regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character",
    _DNS1035_LABEL_FMT,
    "my-name",
    "abc-123",
)
_QUALIFIED_NAME_ERROR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
LABEL_VALUE_ERROR = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character",
    _LABEL_VALUE_FMT,
    "MyValue",
    "my_value",
    "12345",
)


@functools.lru_cache(maxsize=4096)
def _dns1123_label_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len_error(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errs.append(DNS1123_LABEL_ERROR)
    return tuple(errs)


@functools.lru_cache(maxsize=4096)
def _dns1123_subdomain_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(DNS1123_SUBDOMAIN_ERROR)
    return tuple(errs)


@functools.lru_cache(maxsize=4096)
def _dns1035_label_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len_error(DNS1123_LABEL_MAX))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(DNS1035_LABEL_ERROR)
    return tuple(errs)


@functools.lru_cache(maxsize=4096)
def _qualified_name_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in dns1123_subdomain_errors(prefix))
    else:
        return (
            _regex_error(
                "a qualified name " + _QUALIFIED_NAME_ERROR,
                _QUALIFIED_NAME_FMT,
                "MyName",
                "my.name",
                "123-abc",
            )
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        )
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + _max_len_error(QUALIFIED_NAME_MAX))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(
            "name part "
            + _regex_error(
                _QUALIFIED_NAME_ERROR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"
            )
        )
    return tuple(errs)


@functools.lru_cache(maxsize=4096)
def _label_value_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(_max_len_error(LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(LABEL_VALUE_ERROR)
    return tuple(errs)


def dns1123_label_errors(value: str) -> list[str]:
    return list(_dns1123_label_errors(value))


def dns1123_subdomain_errors(value: str) -> list[str]:
    return list(_dns1123_subdomain_errors(value))


def dns1035_label_errors(value: str) -> list[str]:
    return list(_dns1035_label_errors(value))


def qualified_name_errors(value: str) -> list[str]:
    """A label or annotation key: ``[prefix/]name``, prefix a DNS-1123 subdomain."""
    return list(_qualified_name_errors(value))


def label_value_errors(value: str) -> list[str]:
    return list(_label_value_errors(value))


def is_dns1123_label(value: str) -> bool:
    return not dns1123_label_errors(value)


def is_dns1123_subdomain(value: str) -> bool:
    return not dns1123_subdomain_errors(value)


def is_dns1035_label(value: str) -> bool:
    return not dns1035_label_errors(value)


def is_qualified_name(value: str) -> bool:
    return not qualified_name_errors(value)


def is_label_value(value: str) -> bool:
    return not label_value_errors(value)
