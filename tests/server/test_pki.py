"""The cluster PKI: CA, serving certificate, reuse and re-issue, client certificates."""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kctl.server import pki as pki_mod
from kctl.server.pki import ensure_pki, issue_client_cert, normalize_hosts


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return ips, set(san.get_values_for_type(x509.DNSName))


def _tls_handshake(server_cert: Path, server_key: Path, ca_pem: bytes, hostname: str) -> None:
    """A real in-memory TLS handshake with hostname verification against the CA."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_cert, server_key)
    client_ctx = ssl.create_default_context(cadata=ca_pem.decode())
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not complete")


def test_first_start_creates_ca_and_serving_cert(tmp_path: Path) -> None:
    p = ensure_pki(tmp_path, ["10.0.0.5", "api.example.test", "0.0.0.0"])
    for path in (p.ca_cert, p.ca_key, p.server_cert, p.server_key):
        assert path.parent == tmp_path and path.is_file()
    assert stat.S_IMODE(p.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(p.server_key.stat().st_mode) == 0o600
    assert p.ca_pem == p.ca_cert.read_bytes()

    ca, leaf = _cert(p.ca_cert), _cert(p.server_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    leaf.verify_directly_issued_by(ca)  # raises if not signed by the CA
    ips, names = _sans(leaf)
    assert ips == {"127.0.0.1", "10.0.0.5"}  # 0.0.0.0 is not a SAN
    assert names == {"localhost", "api.example.test"}
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert set(p.hosts) == {"127.0.0.1", "10.0.0.5", "localhost", "api.example.test"}


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost", "10.0.0.5"])
def test_python_tls_accepts_the_serving_cert(tmp_path: Path, hostname: str) -> None:
    p = ensure_pki(tmp_path, ["10.0.0.5"])
    _tls_handshake(p.server_cert, p.server_key, p.ca_pem, hostname)


def test_tls_rejects_a_host_not_in_the_sans(tmp_path: Path) -> None:
    p = ensure_pki(tmp_path, [])
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(p.server_cert, p.server_key, p.ca_pem, "10.9.9.9")


def test_restart_reuses_everything(tmp_path: Path) -> None:
    ensure_pki(tmp_path, ["10.0.0.5"])
    before = {
        f: (tmp_path / f).read_bytes() for f in ("ca.crt", "ca.key", "server.crt", "server.key")
    }
    ensure_pki(tmp_path, ["10.0.0.5"])
    ensure_pki(tmp_path, [])  # fewer hosts: the existing certificate still covers them
    after = {f: (tmp_path / f).read_bytes() for f in before}
    assert after == before


def test_added_host_reissues_serving_cert_but_keeps_ca(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path, ["10.0.0.5"])
    old_leaf = first.server_cert.read_bytes()
    second = ensure_pki(tmp_path, ["10.0.0.5", "192.168.1.20", "node.example.test"])
    assert second.ca_pem == first.ca_pem
    assert second.server_cert.read_bytes() != old_leaf
    ips, names = _sans(_cert(second.server_cert))
    assert {"192.168.1.20", "10.0.0.5", "127.0.0.1"} <= ips
    assert "node.example.test" in names
    _cert(second.server_cert).verify_directly_issued_by(_cert(second.ca_cert))
    _tls_handshake(second.server_cert, second.server_key, second.ca_pem, "192.168.1.20")


def test_lost_ca_key_recreates_ca_and_reissues_leaf(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path, [])
    first.ca_key.unlink()
    second = ensure_pki(tmp_path, [])
    assert second.ca_pem != first.ca_pem
    _cert(second.server_cert).verify_directly_issued_by(_cert(second.ca_cert))


def test_leaf_expiring_soon_is_reissued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_pki(tmp_path, [])
    old_leaf = first.server_cert.read_bytes()
    monkeypatch.setattr(pki_mod, "RENEW_BEFORE", dt.timedelta(days=400))  # > leaf validity
    second = ensure_pki(tmp_path, [])
    assert second.ca_pem == first.ca_pem  # CA validity (10 y) is still far away
    assert second.server_cert.read_bytes() != old_leaf


def test_normalize_hosts() -> None:
    assert normalize_hosts(["[::1]", "0:0::1", "::", "API.Example.", "127.0.0.1"]) == (
        "127.0.0.1",
        "localhost",
        "::1",
        "api.example",
    )


def test_client_cert_carries_user_and_groups(tmp_path: Path) -> None:
    p = ensure_pki(tmp_path, [])
    cert_pem, key_pem = issue_client_cert(p, "kctl-apiserver", ["system:masters"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(_cert(p.ca_cert))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kctl-apiserver"
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert b"PRIVATE KEY" in key_pem
    # The key belongs to the certificate.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cert_file, key_file = tmp_path / "c.crt", tmp_path / "c.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    ctx.load_cert_chain(cert_file, key_file)  # raises if the key does not match
