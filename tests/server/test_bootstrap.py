"""Data-dir bootstrap (PKI, tokens, kubeconfigs) and ``kctl kubeconfig create-node``.

The create-node test runs the real path: a TLS server on loopback with the bootstrap's
certificate, bearer authentication through the token registry, the admin-only token
endpoint, and the CLI verifying the server against the CA.
"""

from __future__ import annotations

import asyncio
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from cryptography import x509
from typer.testing import CliRunner

from kctl.api.errors import ApiError
from kctl.cli.kubeconfig_cmd import app as kubeconfig_app
from kctl.client.kubeconfig import load_client_config, load_kubeconfig
from kctl.server.auth import ADMIN_USER, RECONCILER_USER, TokenAuthenticator, node_user
from kctl.server.bootstrap import bootstrap, server_url
from kctl.server.tokens import TOKENS_PATH, TokenRegistry, handle_token_request
from kctl.store import Entry, Key, KeyExists


class FakeStore:
    """The two store methods the registry uses, over a dict."""

    def __init__(self) -> None:
        self.entries: dict[Key, Entry] = {}

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    async def create(self, key: Key, obj: dict[str, Any]) -> Entry:
        if key in self.entries:
            raise KeyExists(str(key))
        entry = Entry(key=key, revision=len(self.entries) + 1, value=orjson.dumps(obj))
        self.entries[key] = entry
        return entry


def _bootstrap(data_dir: Path, registry: TokenRegistry, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "listen_host": "127.0.0.1",
        "port": 6443,
        "advertise_addresses": [],
        "cluster_name": "kctl",
    }
    args.update(kw)
    return asyncio.run(bootstrap(data_dir, tokens=registry, **args))


def test_first_start_writes_kubeconfigs_with_working_tokens(tmp_path: Path) -> None:
    registry = TokenRegistry(FakeStore())
    pki = _bootstrap(tmp_path, registry, cluster_name="dev")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    for filename, user in (
        ("admin.kubeconfig", ADMIN_USER),
        ("reconciler.kubeconfig", RECONCILER_USER),
    ):
        path = tmp_path / filename
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = load_kubeconfig(path)
        assert raw.current_context == "dev" and set(raw.contexts) == {"dev"}
        cfg = load_client_config(path)
        assert cfg.server == "https://127.0.0.1:6443"
        assert cfg.cluster == "dev" and cfg.namespace == "default"
        assert cfg.ca_pem == pki.ca_pem == (tmp_path / "ca.crt").read_bytes()
        assert cfg.token and registry.lookup(cfg.token) == user
        assert cfg.user == user.name
    admin = load_client_config(tmp_path / "admin.kubeconfig").token
    reconciler = load_client_config(tmp_path / "reconciler.kubeconfig").token
    assert admin != reconciler


def test_restart_keeps_tokens_and_files(tmp_path: Path) -> None:
    store = FakeStore()
    _bootstrap(tmp_path, TokenRegistry(store))
    files = ("admin.kubeconfig", "reconciler.kubeconfig", "ca.crt", "server.crt", "server.key")
    before = {f: (tmp_path / f).read_bytes() for f in files}
    tokens_before = set(store.entries)
    registry = TokenRegistry(store)  # a restarted server: empty cache, same store
    _bootstrap(tmp_path, registry)
    assert {f: (tmp_path / f).read_bytes() for f in files} == before
    assert set(store.entries) == tokens_before  # no new tokens issued
    assert (
        registry.lookup(load_client_config(tmp_path / "admin.kubeconfig").token or "") == ADMIN_USER
    )


def test_changed_port_rewrites_with_same_token(tmp_path: Path) -> None:
    store = FakeStore()
    _bootstrap(tmp_path, TokenRegistry(store))
    token = load_client_config(tmp_path / "admin.kubeconfig").token
    _bootstrap(tmp_path, TokenRegistry(store), port=7443)
    cfg = load_client_config(tmp_path / "admin.kubeconfig")
    assert cfg.server == "https://127.0.0.1:7443"
    assert cfg.token == token
    assert len(store.entries) == 2


def test_wiped_store_issues_new_tokens(tmp_path: Path) -> None:
    _bootstrap(tmp_path, TokenRegistry(FakeStore()))
    old = load_client_config(tmp_path / "admin.kubeconfig").token
    registry = TokenRegistry(FakeStore())
    _bootstrap(tmp_path, registry)
    new = load_client_config(tmp_path / "admin.kubeconfig").token
    assert new and new != old
    assert registry.lookup(new) == ADMIN_USER
    assert registry.lookup(old or "") is None


def test_listen_all_and_advertise_addresses(tmp_path: Path) -> None:
    pki = _bootstrap(
        tmp_path,
        TokenRegistry(FakeStore()),
        listen_host="0.0.0.0",
        advertise_addresses=["192.0.2.10", "cp.example.test"],
    )
    assert load_client_config(tmp_path / "admin.kubeconfig").server == "https://127.0.0.1:6443"
    cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "192.0.2.10",
    }
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "cp.example.test"}


def test_server_url() -> None:
    assert server_url("10.0.0.1", 6443) == "https://10.0.0.1:6443"
    assert server_url("::", 6443) == "https://127.0.0.1:6443"
    assert server_url("::1", 6443) == "https://[::1]:6443"
    assert server_url("127.0.0.1", 8080, "http") == "http://127.0.0.1:8080"


# --- create-node against a real TLS server -------------------------------------------


class _TokenApp:
    """The slice of the API server that create-node talks to: authenticate, then the
    admin-only token endpoint; ``GET /whoami`` echoes the authenticated user."""

    def __init__(self, registry: TokenRegistry) -> None:
        self.registry = registry
        self.authn = TokenAuthenticator(registry)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            user = self.authn.authenticate(headers.get("authorization"))
            if scope["path"] == TOKENS_PATH and scope["method"] == "POST":
                status, out = (
                    201,
                    await handle_token_request(user, orjson.loads(body), self.registry),
                )
            elif scope["path"] == "/whoami":
                status, out = 200, {"name": user.name, "groups": list(user.groups)}
            else:
                status, out = 404, {}
        except ApiError as err:
            status, out = err.code, err.to_status()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(out)})


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Path, TokenRegistry]]:
    """A bootstrapped data dir and a TLS server for it on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    registry = TokenRegistry(FakeStore())
    data_dir = tmp_path / "data"
    pki = _bootstrap(data_dir, registry, port=port)
    config = uvicorn.Config(
        _TokenApp(registry),
        lifespan="off",
        log_level="warning",
        ssl_certfile=str(pki.server_cert),
        ssl_keyfile=str(pki.server_key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield data_dir, registry
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_create_node_writes_a_working_kubeconfig(tls_server: tuple[Path, TokenRegistry]) -> None:
    data_dir, registry = tls_server
    result = CliRunner().invoke(kubeconfig_app, ["create-node", "n1", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    path = data_dir / "nodes" / "n1.kubeconfig"
    assert str(path) in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = load_client_config(path)
    admin = load_client_config(data_dir / "admin.kubeconfig")
    assert cfg.server == admin.server and cfg.cluster == "kctl"
    assert cfg.user == "system:node:n1"
    assert cfg.ca_pem == (data_dir / "ca.crt").read_bytes()
    assert cfg.token and registry.lookup(cfg.token) == node_user("n1")
    # The node's credential works over TLS verified against the cluster CA.
    import ssl

    verify = ssl.create_default_context(cadata=(cfg.ca_pem or b"").decode())
    resp = httpx.get(
        cfg.server + "/whoami", headers={"Authorization": f"Bearer {cfg.token}"}, verify=verify
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "name": "system:node:n1",
        "groups": ["system:nodes", "system:authenticated"],
    }


def test_create_node_custom_output_and_server(
    tls_server: tuple[Path, TokenRegistry], tmp_path: Path
) -> None:
    data_dir, _ = tls_server
    out = tmp_path / "elsewhere" / "n2.yaml"
    args = ["create-node", "n2", "--data-dir", str(data_dir), "-o", str(out)]
    result = CliRunner().invoke(kubeconfig_app, [*args, "--server", "https://192.0.2.10:6443"])
    assert result.exit_code == 0, result.output
    assert load_client_config(out).server == "https://192.0.2.10:6443"


def test_create_node_needs_an_admin(tls_server: tuple[Path, TokenRegistry]) -> None:
    data_dir, _ = tls_server
    # Swap in the reconciler's credential: authenticated, but not system:masters.
    (data_dir / "admin.kubeconfig").write_bytes((data_dir / "reconciler.kubeconfig").read_bytes())
    result = CliRunner().invoke(kubeconfig_app, ["create-node", "n1", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert (
        'Error from server (Forbidden): forbidden: User "system:kctl-reconciler"' in result.output
    )
    assert not (data_dir / "nodes" / "n1.kubeconfig").exists()


def test_create_node_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(kubeconfig_app, ["create-node", "n1", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "admin.kubeconfig" in result.output
    result = runner.invoke(kubeconfig_app, ["create-node", "../x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "invalid node name" in result.output
    # A bootstrapped dir whose server is not running.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    _bootstrap(tmp_path, TokenRegistry(FakeStore()), port=port)
    result = runner.invoke(kubeconfig_app, ["create-node", "n1", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"cannot reach the API server at https://127.0.0.1:{port}" in result.output
