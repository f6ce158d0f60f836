"""Kubeconfig files: finding, merging and resolving them the way kubectl does.

Every kctl component that talks to a cluster (CLI, reconciler, node agent) reads the
same kubeconfig a user would hand to real kubectl, so one file works for both. The
rules follow client-go's loader, because users rely on them:

* an explicit path wins; else ``$KUBECONFIG`` (several files, ``:``-separated); else
  ``~/.kube/config``;
* when several files are given, they are merged entry by entry and the **first** file
  that defines a cluster/user/context name (or ``current-context``) wins; missing files
  in ``$KUBECONFIG`` are skipped, a missing explicit file is an error;
* relative file references (``certificate-authority``, ``tokenFile``,
  ``client-certificate``, ``client-key``) are relative to the file that holds them.

Parsing yields plain dataclasses (:class:`KubeConfig`); :meth:`KubeConfig.resolve`
turns one context into a :class:`ClientConfig`, the flat, already-read settings the
HTTP client needs (PEM bytes rather than paths, so the client never touches the disk).
``write_kubeconfig`` produces kubectl's own layout so ``kubectl --kubeconfig`` works on
the files ``kctl cluster up`` writes.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("~/.kube/config")


class ConfigError(Exception):
    """The kubeconfig is missing, unreadable, or does not name a usable context."""


@dataclass(frozen=True)
class Cluster:
    name: str
    server: str
    certificate_authority: str | None = None  # absolute path
    certificate_authority_data: bytes | None = None  # PEM
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None


@dataclass(frozen=True)
class User:
    name: str
    token: str | None = None
    token_file: str | None = None  # absolute path
    client_certificate: str | None = None
    client_certificate_data: bytes | None = None
    client_key: str | None = None
    client_key_data: bytes | None = None
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Context:
    name: str
    cluster: str
    user: str = ""
    namespace: str = ""


@dataclass
class KubeConfig:
    """The merged view of one or more kubeconfig files."""

    clusters: dict[str, Cluster] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)
    current_context: str = ""
    sources: tuple[Path, ...] = ()

    def merge(self, other: KubeConfig) -> None:
        """Add ``other``'s entries that this config does not define yet (first wins)."""
        for name, cluster in other.clusters.items():
            self.clusters.setdefault(name, cluster)
        for name, user in other.users.items():
            self.users.setdefault(name, user)
        for name, ctx in other.contexts.items():
            self.contexts.setdefault(name, ctx)
        if not self.current_context:
            self.current_context = other.current_context
        self.sources = self.sources + other.sources

    def resolve(
        self,
        context: str | None = None,
        *,
        cluster: str | None = None,
        user: str | None = None,
        namespace: str | None = None,
        server: str | None = None,
    ) -> ClientConfig:
        """Flatten one context (``--context`` override, else current-context) into the
        settings the client needs. Keyword overrides mirror kubectl's flags."""
        ctx_name = context or self.current_context
        if ctx_name:
            ctx = self.contexts.get(ctx_name)
            if ctx is None:
                raise ConfigError(f'context "{ctx_name}" does not exist')
        elif cluster or server:
            ctx = Context(name="", cluster=cluster or "", user=user or "")
        else:
            raise ConfigError(
                "no context is set: the kubeconfig has no current-context and none was given"
            )
        cluster_name = cluster or ctx.cluster
        cl = self.clusters.get(cluster_name)
        if cl is None and not server:
            raise ConfigError(f'cluster "{cluster_name}" does not exist (context "{ctx_name}")')
        user_name = user or ctx.user
        if user_name and user_name not in self.users:
            raise ConfigError(f'user "{user_name}" was not found for context "{ctx_name}"')
        u = self.users.get(user_name) or User(name=user_name)
        cl = cl or Cluster(name=cluster_name, server="")
        token = u.token
        if not token and u.token_file:
            token = _read_text(u.token_file, "tokenFile").strip()
        return ClientConfig(
            server=(server or cl.server).rstrip("/"),
            ca_pem=_data_or_file(cl.certificate_authority_data, cl.certificate_authority, "CA"),
            insecure_skip_tls_verify=cl.insecure_skip_tls_verify,
            tls_server_name=cl.tls_server_name,
            token=token or None,
            client_cert_pem=_data_or_file(
                u.client_certificate_data, u.client_certificate, "client-certificate"
            ),
            client_key_pem=_data_or_file(u.client_key_data, u.client_key, "client-key"),
            username=u.username,
            password=u.password,
            namespace=namespace or ctx.namespace or "default",
            context=ctx_name,
            cluster=cluster_name,
            user=user_name,
        )


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to reach and authenticate to one API server."""

    server: str
    ca_pem: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    token: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    username: str | None = None
    password: str | None = None
    namespace: str = "default"
    context: str = ""
    cluster: str = ""
    user: str = ""


# --- loading -------------------------------------------------------------------------


def kubeconfig_paths(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[Path], bool]:
    """The files to read, and whether they must all exist (kubectl's precedence)."""
    env = os.environ if env is None else env
    if explicit:
        return [Path(explicit).expanduser()], True
    value = env.get("KUBECONFIG", "")
    if value:
        parts = [Path(p).expanduser() for p in value.split(os.pathsep) if p]
        unique: list[Path] = []
        for p in parts:  # client-go de-duplicates the list, keeping the first
            if p not in unique:
                unique.append(p)
        return unique, False
    return [DEFAULT_PATH.expanduser()], False


def load_kubeconfig(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> KubeConfig:
    """Read and merge the kubeconfig files kubectl would use."""
    paths, required = kubeconfig_paths(path, env)
    merged = KubeConfig()
    for p in paths:
        if not p.exists():
            if required:
                raise ConfigError(f"kubeconfig {p} does not exist")
            continue
        merged.merge(parse_kubeconfig(_read_text(str(p), "kubeconfig"), base=p.parent, source=p))
    return merged


def load_client_config(
    path: str | os.PathLike[str] | None = None,
    *,
    context: str | None = None,
    namespace: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    """The one-call form: files -> merged config -> the chosen context, flattened."""
    return load_kubeconfig(path, env).resolve(context, namespace=namespace)


def parse_kubeconfig(
    text: str, *, base: Path | None = None, source: Path | None = None
) -> KubeConfig:
    """Parse one file's text. ``base`` anchors relative file references."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise ConfigError(f"kubeconfig {source or ''} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {source or ''} is not a mapping")
    cfg = KubeConfig(sources=(source,) if source else ())
    for item in _named(doc, "clusters"):
        c = item.get("cluster") or {}
        name = str(item["name"])
        cfg.clusters.setdefault(
            name,
            Cluster(
                name=name,
                server=str(c.get("server") or ""),
                certificate_authority=_abs(c.get("certificate-authority"), base),
                certificate_authority_data=_b64(c.get("certificate-authority-data"), name),
                insecure_skip_tls_verify=bool(c.get("insecure-skip-tls-verify", False)),
                tls_server_name=c.get("tls-server-name"),
            ),
        )
    for item in _named(doc, "users"):
        u = item.get("user") or {}
        name = str(item["name"])
        cfg.users.setdefault(
            name,
            User(
                name=name,
                token=u.get("token"),
                token_file=_abs(u.get("tokenFile"), base),
                client_certificate=_abs(u.get("client-certificate"), base),
                client_certificate_data=_b64(u.get("client-certificate-data"), name),
                client_key=_abs(u.get("client-key"), base),
                client_key_data=_b64(u.get("client-key-data"), name),
                username=u.get("username"),
                password=u.get("password"),
            ),
        )
    for item in _named(doc, "contexts"):
        c = item.get("context") or {}
        name = str(item["name"])
        cfg.contexts.setdefault(
            name,
            Context(
                name=name,
                cluster=str(c.get("cluster") or ""),
                user=str(c.get("user") or ""),
                namespace=str(c.get("namespace") or ""),
            ),
        )
    cfg.current_context = str(doc.get("current-context") or "")
    return cfg


def _named(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = doc.get(key) or []
    if not isinstance(items, list):
        raise ConfigError(f"kubeconfig: {key} must be a list")
    return [i for i in items if isinstance(i, dict) and i.get("name")]


def _abs(value: Any, base: Path | None) -> str | None:
    if not value:
        return None
    p = Path(str(value)).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return str(p)


def _b64(value: Any, owner: str) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=False)
    except ValueError:
        raise ConfigError(f'kubeconfig: invalid base64 data for "{owner}"') from None


def _data_or_file(data: bytes | None, path: str | None, what: str) -> bytes | None:
    # Inline *-data wins over the file reference, as in client-go.
    if data:
        return data
    return _read_bytes(path, what) if path else None


def _read_text(path: str, what: str) -> str:
    return _read_bytes(path, what).decode()


def _read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


# --- writing -------------------------------------------------------------------------


def kubeconfig_document(
    cluster_name: str,
    server: str,
    ca_pem: bytes | None,
    user: str,
    token: str,
    namespace: str = "default",
) -> dict[str, Any]:
    """kubectl's layout for a single cluster/user/context (keys in kubectl's order)."""
    cluster: dict[str, Any] = {}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    cluster["server"] = server
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": cluster, "name": cluster_name}],
        "contexts": [
            {
                "context": {"cluster": cluster_name, "namespace": namespace, "user": user},
                "name": cluster_name,
            }
        ],
        "current-context": cluster_name,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"token": token}}],
    }


def dump_kubeconfig(doc: Mapping[str, Any]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.width = 1 << 16  # keep base64 blobs on one line, as kubectl does
    buf = io.StringIO()
    yaml.dump(dict(doc), buf)
    return buf.getvalue()


def write_kubeconfig(
    path: str | os.PathLike[str],
    cluster_name: str,
    server: str,
    ca_pem: bytes,
    user: str,
    token: str,
    namespace: str = "default",
) -> None:
    """Write a kubeconfig for one cluster, readable only by its owner (0600).

    The file is replaced atomically so a reader never sees half a file; the context is
    named after the cluster and made current."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dump_kubeconfig(
        kubeconfig_document(cluster_name, server, ca_pem, user, token, namespace)
    )
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def config_for(
    server: str,
    *,
    token: str | None = None,
    ca_pem: bytes | None = None,
    namespace: str = "default",
    insecure_skip_tls_verify: bool = False,
) -> ClientConfig:
    """A ClientConfig without any file (in-process components, tests)."""
    return ClientConfig(
        server=server.rstrip("/"),
        ca_pem=ca_pem,
        token=token,
        namespace=namespace,
        insecure_skip_tls_verify=insecure_skip_tls_verify,
    )


__all__: Sequence[str] = (
    "Cluster",
    "ClientConfig",
    "ConfigError",
    "Context",
    "KubeConfig",
    "User",
    "config_for",
    "dump_kubeconfig",
    "kubeconfig_document",
    "kubeconfig_paths",
    "load_client_config",
    "load_kubeconfig",
    "parse_kubeconfig",
    "write_kubeconfig",
)
