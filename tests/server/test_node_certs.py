"""The certificates behind pods/log and pods/exec: the API server's kubelet-client
certificate (bootstrap) and a node's serving certificate (``create-node``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from kctl.cli.kubeconfig_cmd import app as kubeconfig_app
from kctl.server.pki import PkiError, ensure_pki, issue_node_serving_cert
from kctl.server.tokens import TokenRegistry
from tests.server.test_bootstrap import tls_server  # noqa: F401 - a fixture

__all__ = ["tls_server"]


def _cert(path: Path | bytes) -> x509.Certificate:
    data = path if isinstance(path, bytes) else path.read_bytes()
    return x509.load_pem_x509_certificate(data)


def _usage(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _sans(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def test_the_kubelet_client_certificate(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, [])
    cert = _cert(pki.kubelet_client_cert)
    assert cert.subject.rfc4514_string() == "CN=kube-apiserver-kubelet-client,O=system:masters"
    assert _usage(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(_cert(pki.ca_cert))
    assert stat.S_IMODE(pki.kubelet_client_key.stat().st_mode) == 0o600
    # Kept across restarts; re-issued when the CA changes.
    first = pki.kubelet_client_cert.read_bytes()
    assert ensure_pki(tmp_path, []).kubelet_client_cert.read_bytes() == first
    (tmp_path / "ca.key").unlink()
    renewed = ensure_pki(tmp_path, [])
    _cert(renewed.kubelet_client_cert).verify_directly_issued_by(_cert(renewed.ca_cert))
    assert renewed.kubelet_client_cert.read_bytes() != first


def test_a_node_serving_certificate(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, [])
    cert_pem, _ = issue_node_serving_cert(tmp_path, "n1", ["10.1.2.3"])
    cert = _cert(cert_pem)
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    assert _usage(cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert _sans(cert) == {"n1", "10.1.2.3", "127.0.0.1", "localhost"}
    cert.verify_directly_issued_by(_cert(pki.ca_cert))
    with pytest.raises(PkiError):
        issue_node_serving_cert(tmp_path / "nothing", "n1", [])


def test_create_node_writes_the_serving_certificate(
    tls_server: tuple[Path, TokenRegistry],  # noqa: F811
) -> None:
    data_dir, _ = tls_server
    args = ["create-node", "n1", "--data-dir", str(data_dir), "--node-ip", "10.9.8.7"]
    result = CliRunner().invoke(kubeconfig_app, args)
    assert result.exit_code == 0, result.output
    cert, key = data_dir / "nodes" / "n1.crt", data_dir / "nodes" / "n1.key"
    assert f'serving certificate for node "n1" written to {cert} (key {key})' in result.output
    assert _sans(_cert(cert)) == {"n1", "10.9.8.7", "127.0.0.1", "localhost"}
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Running it again replaces both files.
    assert CliRunner().invoke(kubeconfig_app, args[:4]).exit_code == 0
    assert _sans(_cert(cert)) == {"n1", "127.0.0.1", "localhost"}


def test_create_node_refuses_a_bad_address_before_asking_for_a_token(
    tls_server: tuple[Path, TokenRegistry],  # noqa: F811
) -> None:
    data_dir, registry = tls_server
    args = ["create-node", "n1", "--data-dir", str(data_dir), "--node-ip", "node-1.local"]
    result = CliRunner().invoke(kubeconfig_app, args)
    assert result.exit_code == 1
    assert "error: --node-ip 'node-1.local' is not an IP address" in result.output
    assert not (data_dir / "nodes").exists()
