"""First-start set-up of an API server's data dir, idempotent on every later start.

    ca.crt ca.key server.crt server.key   the PKI (see :mod:`kctl.server.pki`)
    admin.kubeconfig                      user "admin" (system:masters), for people and kubectl
    reconciler.kubeconfig                 user "system:kctl-reconciler", for the controller process

The store holds only token hashes, so the kubeconfig files are the one place the plain
admin and reconciler tokens live. A restart therefore reads each file back and keeps
its token when the registry still accepts it for the same user; the file is rewritten
(same token) only if the server URL or the CA changed, and a new token is issued only
when the file is missing or its token is unknown (e.g. the store was wiped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kctl.client.kubeconfig import ConfigError, load_client_config, write_kubeconfig
from kctl.server.auth import ADMIN_USER, RECONCILER_USER, UserInfo
from kctl.server.pki import Pki, ensure_pki
from kctl.server.tokens import TokenRegistry

log = logging.getLogger(__name__)

ADMIN_KUBECONFIG = "admin.kubeconfig"
RECONCILER_KUBECONFIG = "reconciler.kubeconfig"
_UNSPECIFIED = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class _Credential:
    filename: str
    user: UserInfo


_CREDENTIALS = (
    _Credential(ADMIN_KUBECONFIG, ADMIN_USER),
    _Credential(RECONCILER_KUBECONFIG, RECONCILER_USER),
)


def server_url(listen_host: str, port: int, scheme: str = "https") -> str:
    """The URL local clients use: the listen host, or loopback for listen-on-all."""
    host = listen_host.strip().strip("[]")
    if host in _UNSPECIFIED:
        host = "127.0.0.1"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


async def bootstrap(
    data_dir: Path,
    *,
    listen_host: str,
    port: int,
    advertise_addresses: list[str],
    cluster_name: str,
    tokens: TokenRegistry,
    scheme: str = "https",
) -> Pki:
    """Create or reuse the PKI and the admin/reconciler kubeconfigs under ``data_dir``.

    ``scheme="http"`` (``--insecure-http``, local debugging) only changes the URL written
    to the kubeconfigs; the PKI is created all the same, so switching back keeps it."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # keys and tokens live here
    pki = ensure_pki(data_dir, [listen_host, *advertise_addresses])
    server = server_url(listen_host, port, scheme)
    for cred in _CREDENTIALS:
        await _ensure_kubeconfig(
            data_dir / cred.filename, cred.user, cluster_name, server, pki, tokens
        )
    return pki


async def _ensure_kubeconfig(
    path: Path, user: UserInfo, cluster_name: str, server: str, pki: Pki, tokens: TokenRegistry
) -> None:
    token, current = _existing_token(path, user, cluster_name, server, pki, tokens)
    if token is not None and current:
        path.chmod(0o600)
        return
    if token is None:
        token = await tokens.issue(user.name, list(user.groups))
        log.info("issued a token for %s; wrote %s", user.name, path)
    else:
        log.info("updated %s (server or CA changed; token kept)", path)
    write_kubeconfig(path, cluster_name, server, pki.ca_pem, user.name, token)


def _existing_token(
    path: Path, user: UserInfo, cluster_name: str, server: str, pki: Pki, tokens: TokenRegistry
) -> tuple[str | None, bool]:
    """(the file's token if the registry accepts it for ``user``, whether the rest of the
    file is current)."""
    if not path.exists():
        return None, False
    try:
        cfg = load_client_config(path)
    except ConfigError as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None, False
    if not cfg.token:
        return None, False
    known = tokens.lookup(cfg.token)
    if known is None or known.name != user.name or set(known.groups) != set(user.groups):
        log.warning("the token in %s is not known to this cluster's store", path)
        return None, False
    current = cfg.server == server and cfg.ca_pem == pki.ca_pem and cfg.cluster == cluster_name
    return cfg.token, current
