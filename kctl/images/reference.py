"""Image references, normalized the way containerd and Docker normalize them.

A pod's ``image: web:dev`` reaches containerd as ``docker.io/library/web:dev``; an
image imported under any other name is not found by CRI. So every name kctl writes
into an archive is the normalized one, and the familiar short form is kept for
display and for the path pushed to a registry (``127.0.0.1:5000/web:dev``, as
``docker tag`` would name it).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


class InvalidReference(ValueError):
    pass


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str  # "library/web", "team/app"
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """``docker.io/library/web``."""
        return f"{self.domain}/{self.path}"

    @property
    def full(self) -> str:
        """``docker.io/library/web:dev`` (tag and/or ``@sha256:...``)."""
        out = self.repository
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    @property
    def familiar_path(self) -> str:
        """The path without Docker Hub's implicit ``library/``: ``web``."""
        if self.domain == DEFAULT_DOMAIN and self.path.startswith(OFFICIAL_PREFIX):
            return self.path[len(OFFICIAL_PREFIX) :]
        return self.path

    @property
    def familiar(self) -> str:
        """``web:dev`` for Docker Hub names, the full name otherwise."""
        name = self.familiar_path if self.domain == DEFAULT_DOMAIN else self.repository
        if self.tag:
            name += ":" + self.tag
        if self.digest:
            name += "@" + self.digest
        return name

    def with_domain(self, domain: str) -> Reference:
        """The same image at another registry (``--registry HOST:PORT``)."""
        return replace(self, domain=domain, path=self.familiar_path)


def _is_domain(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost" or part != part.lower()


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalize ``ref``; a missing tag is ``latest`` unless ``default_tag`` is
    false or a digest is given."""
    text = ref.strip()
    if not text:
        raise InvalidReference("empty image reference")
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReference(f"invalid digest in image reference {ref!r}")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag {tag!r} in image reference {ref!r}")
    first, sep, rest = name.partition("/")
    if sep and _is_domain(first):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            raise InvalidReference(
                f"invalid image reference {ref!r}: repository name must be lowercase "
                "letters, digits and separators"
            )
    if not tag and not digest and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def normalize(ref: str) -> str:
    """``web:dev`` -> ``docker.io/library/web:dev``."""
    return parse(ref).full


def check_loopback_registry(registry: str) -> str:
    """``HOST:PORT`` of a registry on loopback; anything else is refused, since nothing
    may be pushed to or pulled from outside the machine."""
    host, sep, port = registry.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InvalidReference(f"{registry!r}: expected HOST:PORT, e.g. 127.0.0.1:5000")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise InvalidReference(f"{registry!r}: only a registry on loopback may be used")
    return registry
