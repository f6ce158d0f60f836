"""``kctl kubeconfig create-node NAME``: credentials for a node agent.

A node authenticates as ``system:node:NAME`` (group ``system:nodes``), which is what
the API server's Node authorizer keys on. The token is minted by the running API
server (``POST /kctl/v1/tokens``, admin only) because only the server may write its
store; this command just asks with the admin kubeconfig from the server's data dir and
writes the answer, with the cluster CA, as a kubeconfig the node agent (or kubectl) can
use. The request is one call, so it uses httpx directly rather than the full client.

Beside the kubeconfig (``NAME.kubeconfig`` -> ``NAME.crt``, ``NAME.key``) it writes the
node's serving certificate, signed by the cluster CA in the data dir, for the node's
name, 127.0.0.1, localhost and every ``--node-ip``: the agent serves logs and exec with
it (``--tls-cert-file``/``--tls-private-key-file``) and the API server, which checks
agents against the cluster CA, accepts it.

Imports beyond typer happen inside the command: ``kctl`` imports this module on every
start.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

ADMIN_KUBECONFIG = "admin.kubeconfig"
CA_CERT = "ca.crt"
TOKENS_PATH = "/kctl/v1/tokens"
NODE_USER_PREFIX = "system:node:"
NODE_GROUPS = ["system:nodes", "system:authenticated"]
# A Node's name is a DNS subdomain (RFC 1123); it also names the output file.
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

app = typer.Typer(no_args_is_help=True)


class KubeconfigError(Exception):
    """A failure to report to the user (exit code 1), kubectl-style: ``error: ...``, or
    ``Error from server (Reason): ...`` when the server refused (``reason`` set)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason

    def render(self) -> str:
        if self.reason:
            return f"Error from server ({self.reason}): {self}"
        return f"error: {self}"


@app.callback()
def _group() -> None:
    """Write kubeconfig files for cluster components."""


@app.command("create-node")
def create_node(
    name: Annotated[
        str, typer.Argument(help="The node's name (its identity is system:node:NAME).")
    ],
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", help="The API server's data dir (admin.kubeconfig, ca.crt)."),
    ] = Path("./kctl-data"),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write it (default DATA_DIR/nodes/NAME.kubeconfig)."
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", help="API server URL for the node (default: the admin kubeconfig's)."
        ),
    ] = None,
    node_ip: Annotated[
        list[str] | None,
        typer.Option(
            "--node-ip",
            help="An address of the node for its serving certificate (repeatable; "
            "127.0.0.1 is always included).",
        ),
    ] = None,
) -> None:
    """Get a token for node NAME from the running API server and write its kubeconfig,
    and its serving certificate (NAME.crt, NAME.key) beside it."""
    try:
        check_addresses(node_ip or [])
        path = create_node_kubeconfig(name, data_dir, output, server=server)
        cert, key = write_node_serving_cert(name, data_dir, path, node_ip or [])
    except KubeconfigError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(1) from None
    typer.echo(f'kubeconfig for node "{name}" written to {path}')
    typer.echo(f'serving certificate for node "{name}" written to {cert} (key {key})')


def create_node_kubeconfig(
    name: str, data_dir: Path, output: Path | None = None, *, server: str | None = None
) -> Path:
    """The command's work, callable without typer. Returns the written path."""
    from kctl.client.kubeconfig import ConfigError, load_client_config, write_kubeconfig

    if len(name) > 253 or not _NODE_NAME.match(name):
        raise KubeconfigError(f'invalid node name "{name}": must be a lowercase RFC 1123 subdomain')
    admin_path = data_dir / ADMIN_KUBECONFIG
    try:
        admin = load_client_config(admin_path)
    except ConfigError as exc:
        raise KubeconfigError(f"{exc} (is --data-dir the API server's data dir?)") from None
    try:
        ca_pem = (data_dir / CA_CERT).read_bytes()
    except OSError as exc:
        raise KubeconfigError(f"cannot read {data_dir / CA_CERT}: {exc.strerror}") from None
    if not admin.token:
        raise KubeconfigError(f"{admin_path} has no token")
    token = _request_token(admin.server, admin.token, ca_pem, NODE_USER_PREFIX + name)
    target = output or data_dir / "nodes" / f"{name}.kubeconfig"
    write_kubeconfig(
        target,
        admin.cluster or "kctl",
        server or admin.server,
        ca_pem,
        NODE_USER_PREFIX + name,
        token,
    )
    return target


def check_addresses(addresses: list[str]) -> None:
    import ipaddress

    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise KubeconfigError(f"--node-ip {address!r} is not an IP address") from None


def write_node_serving_cert(
    name: str, data_dir: Path, kubeconfig: Path, addresses: list[str]
) -> tuple[Path, Path]:
    """Issue the node's serving certificate with the CA in ``data_dir`` and write it
    beside ``kubeconfig``. Returns ``(cert_path, key_path)``."""
    import os

    from kctl.server.pki import PkiError, issue_node_serving_cert

    check_addresses(addresses)
    try:
        cert_pem, key_pem = issue_node_serving_cert(data_dir, name, addresses)
    except PkiError as exc:
        raise KubeconfigError(str(exc)) from None
    cert_path, key_path = kubeconfig.with_suffix(".crt"), kubeconfig.with_suffix(".key")
    for path, data, mode in ((key_path, key_pem, 0o600), (cert_path, cert_pem, 0o644)):
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return cert_path, key_path


def _request_token(server: str, admin_token: str, ca_pem: bytes, user: str) -> str:
    import ssl

    import httpx

    verify = ssl.create_default_context(cadata=ca_pem.decode())
    url = server.rstrip("/") + TOKENS_PATH
    try:
        with httpx.Client(verify=verify, timeout=10.0) as client:
            resp = client.post(
                url,
                json={"user": user, "groups": NODE_GROUPS},
                headers={"Authorization": f"Bearer {admin_token}"},
            )
    except httpx.HTTPError as exc:
        raise KubeconfigError(f"cannot reach the API server at {server}: {exc}") from None
    body = _json(resp)
    if resp.status_code != 201:
        if body.get("kind") == "Status" and body.get("message"):
            reason = body.get("reason") or resp.reason_phrase
            raise KubeconfigError(str(body["message"]), reason=str(reason))
        raise KubeconfigError(f"the API server answered HTTP {resp.status_code} to {url}")
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise KubeconfigError(f"the API server's answer from {url} carries no token")
    return token


def _json(resp: Any) -> dict[str, Any]:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
