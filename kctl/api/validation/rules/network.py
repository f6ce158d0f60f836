"""Ports, protocols and IP addresses, shared by pod, service and endpoints rules.

Why it exists: container ports, probe ports, service ports and target ports, and
endpoint ports all follow the same upstream checks (``IsValidPortNum``,
``IsValidPortName``, the supported protocols, ``IsValidIP``) with the same messages;
one copy keeps the workload and service rules consistent.

Design: small functions reporting into :class:`~..fielderrors.Errors`, plus
:func:`port_name_errors`, which returns upstream's messages (like the name grammars in
:mod:`kctl.api.meta`) so callers choose the field path. A port of ``0`` counts as unset.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.read import as_int

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


def port_number(errs: Errors, path: str, value: Any, *, required: bool) -> None:
    port = as_int(value)
    if port is None or port == 0:
        if required and (value is None or port == 0):
            errs.required(path)
        return
    if not 1 <= port <= 65535:
        errs.invalid(path, port, _PORT_RANGE_ERROR)


def protocol(errs: Errors, path: str, value: Any) -> None:
    if isinstance(value, str) and value not in _PROTOCOLS:
        errs.not_supported(path, value, _PROTOCOLS)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
