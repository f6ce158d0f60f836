"""The proxy's chain names: fixed top-level chains and hashed per-service-port chains.

Every chain the proxy creates starts with ``KCTL-`` so it never collides with
kube-proxy's ``KUBE-`` chains or anyone else's, and so cleanup can find exactly the
proxy's own. Per service port and per endpoint the names are kube-proxy's scheme: a
fixed prefix and the first 16 characters of the base32 of a SHA-256 of the service port
name and protocol (plus the endpoint for endpoint chains). A name is at most 25
characters, under iptables' limit of 28.

Not every ``KCTL-`` chain is the proxy's: the node network owns the service-CIDR guard
and the pod no-masquerade chains. :func:`is_owned` says which ones belong to the proxy.
"""

from __future__ import annotations

import base64
import hashlib

from node.proxy.model import Endpoint, ServicePort

MAX_CHAIN_NAME = 28

SERVICES = "KCTL-SERVICES"
NODEPORTS = "KCTL-NODEPORTS"
POSTROUTING = "KCTL-POSTROUTING"
MARK_MASQ = "KCTL-MARK-MASQ"
EXTERNAL_SERVICES = "KCTL-EXTERNAL-SERVICES"
FORWARD = "KCTL-FORWARD"
CANARY = "KCTL-PROXY-CANARY"

SERVICE_PREFIX = "KCTL-SVC-"
EXTERNAL_PREFIX = "KCTL-EXT-"
ENDPOINT_PREFIX = "KCTL-SEP-"

FIXED = frozenset({SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ, EXTERNAL_SERVICES, FORWARD, CANARY})
HASHED_PREFIXES = (SERVICE_PREFIX, EXTERNAL_PREFIX, ENDPOINT_PREFIX)


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def service_chain(sp: ServicePort) -> str:
    return SERVICE_PREFIX + _hash(sp.name + sp.proto)


def external_chain(sp: ServicePort) -> str:
    return EXTERNAL_PREFIX + _hash(sp.name + sp.proto)


def endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    return ENDPOINT_PREFIX + _hash(sp.name + sp.proto + ep.address)


def is_owned(chain: str) -> bool:
    """True for the chains the proxy creates (and so may flush and delete)."""
    return chain in FIXED or (
        chain.startswith(HASHED_PREFIXES) and len(chain) == len(SERVICE_PREFIX) + 16
    )
