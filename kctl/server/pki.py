"""The cluster's certificate authority and the API server's serving certificate.

Every client reaches the API server over TLS (kubectl sends its bearer token only over
https), so the server creates a small PKI under its data dir on first start:

    ca.crt / ca.key          the cluster CA; its PEM is embedded in every kubeconfig
    server.crt / server.key  the serving certificate, signed by the CA, with one SAN per
                             address clients use (IPs as IP SANs, names as DNS SANs)
    apiserver-kubelet-client.crt / .key
                             the client certificate the API server presents to node
                             agents (pods/log, pods/exec), as kubeadm's of that name:
                             CN kube-apiserver-kubelet-client, O system:masters

Node agents get a serving certificate for their name and addresses from
:func:`issue_node_serving_cert` (``kctl kubeconfig create-node`` calls it), signed by the
same CA, so the API server verifies them with the CA it already has.

The CA is the root of trust that kubeconfigs already hold, so it is kept for as long as
it is usable; the serving certificate is cheap and is re-issued whenever it no longer
fits: a host was added, it expires soon, or it was not signed by the current CA. Keys
are ECDSA P-256 (generated in a millisecond, accepted by Go's and Python's TLS) and
written 0600, atomically, under a file lock so two processes starting on one data dir
never interleave.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"
KUBELET_CLIENT_CERT = "apiserver-kubelet-client.crt"
KUBELET_CLIENT_KEY = "apiserver-kubelet-client.key"
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
KUBELET_CLIENT_GROUP = "system:masters"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"

CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)  # re-issue a leaf this long before it expires
ALWAYS_HOSTS = ("127.0.0.1", "localhost")
_UNSPECIFIED = {"", "0.0.0.0", "::"}  # listen-on-all addresses are not names clients use


class PkiError(Exception):
    """The PKI files exist but cannot be used (e.g. the CA key is unreadable)."""


@dataclass(frozen=True)
class Pki:
    """Where the PKI lives, plus the CA PEM that kubeconfigs embed."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path  # serving certificate
    server_key: Path  # serving key
    ca_pem: bytes
    hosts: tuple[str, ...]  # the SANs of the serving certificate
    kubelet_client_cert: Path  # presented to node agents
    kubelet_client_key: Path


def normalize_hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """127.0.0.1, localhost and ``hosts`` without brackets, duplicates or 0.0.0.0/::;
    IPs in canonical form, names lower-case; order kept."""
    out: list[str] = []
    for raw in (*ALWAYS_HOSTS, *hosts):
        host = raw.strip().strip("[]")
        if host in _UNSPECIFIED:
            continue
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            host = host.lower().rstrip(".")
        if host and host not in out:
            out.append(host)
    return tuple(out)


def ensure_pki(data_dir: Path, hosts: list[str]) -> Pki:
    """Create or reuse the CA and the serving certificate for ``hosts``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    want = normalize_hosts(hosts)
    with _locked(data_dir / ".pki.lock"):
        ca_cert, ca_key = _ensure_ca(data_dir)
        serving = _Leaf(
            data_dir / SERVER_CERT,
            data_dir / SERVER_KEY,
            _subject("kctl-apiserver"),
            ExtendedKeyUsageOID.SERVER_AUTH,
            want,
        )
        sans = serving.ensure(ca_cert, ca_key)
        kubelet_client = _Leaf(
            data_dir / KUBELET_CLIENT_CERT,
            data_dir / KUBELET_CLIENT_KEY,
            _subject(KUBELET_CLIENT_USER, [KUBELET_CLIENT_GROUP]),
            ExtendedKeyUsageOID.CLIENT_AUTH,
            None,
        )
        kubelet_client.ensure(ca_cert, ca_key)
    return Pki(
        ca_cert=data_dir / CA_CERT,
        ca_key=data_dir / CA_KEY,
        server_cert=serving.cert_path,
        server_key=serving.key_path,
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        hosts=sans,
        kubelet_client_cert=kubelet_client.cert_path,
        kubelet_client_key=kubelet_client.key_path,
    )


def issue_client_cert(pki: Pki, common_name: str, organizations: list[str]) -> tuple[bytes, bytes]:
    """A client certificate (CN = user, O = groups, as Kubernetes reads them) signed by
    the cluster CA. Returns ``(cert_pem, key_pem)``; nothing is written to disk."""
    ca_cert, ca_key = _load_ca(pki.ca_cert, pki.ca_key)
    if ca_cert is None or ca_key is None:
        raise PkiError(f"the CA in {pki.ca_cert.parent} is missing or unusable")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _subject(common_name, organizations)
    cert = _leaf(ca_cert, ca_key, key, subject, ExtendedKeyUsageOID.CLIENT_AUTH, san=None)
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue_node_serving_cert(
    data_dir: Path, node_name: str, addresses: Iterable[str]
) -> tuple[bytes, bytes]:
    """A node agent's serving certificate, signed by the CA in ``data_dir``: subject
    ``system:node:NAME`` (O ``system:nodes``, as the kubelet's), SANs the node name,
    its ``addresses``, 127.0.0.1 and localhost. Returns ``(cert_pem, key_pem)``."""
    data_dir = Path(data_dir)
    ca_cert, ca_key = _load_ca(data_dir / CA_CERT, data_dir / CA_KEY)
    if ca_cert is None or ca_key is None:
        raise PkiError(f"the CA in {data_dir} is missing or unusable")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _subject(NODE_USER_PREFIX + node_name, [NODES_GROUP])
    sans = normalize_hosts([node_name, *addresses])
    cert = _leaf(ca_cert, ca_key, key, subject, ExtendedKeyUsageOID.SERVER_AUTH, san=sans)
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _subject(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def cert_hosts(cert: x509.Certificate) -> tuple[str, ...]:
    """The SANs of ``cert`` in :func:`normalize_hosts` form (IPs first, then names)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    return tuple(ips + names)


# --- CA ------------------------------------------------------------------------------


def _ensure_ca(data_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = data_dir / CA_CERT, data_dir / CA_KEY
    cert, key = _load_ca(cert_path, key_path)
    if cert is not None and key is not None:
        if cert.not_valid_after_utc - _now() > RENEW_BEFORE:
            return cert, key
        log.warning("the cluster CA in %s expires soon; creating a new one", data_dir)
    elif cert_path.exists() or key_path.exists():
        log.warning(
            "the cluster CA in %s is incomplete or unreadable; creating a new one", data_dir
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kctl-ca")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    # Key first: a crash in between leaves a CA that fails to load and is recreated.
    _write_atomic(key_path, _key_pem(key), 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("created the cluster CA in %s", data_dir)
    return cert, key


def _load_ca(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate | None, ec.EllipticCurvePrivateKey | None]:
    cert = _load_cert(cert_path)
    key = _load_key(key_path)
    if cert is None or key is None or not _same_key(cert, key):
        return None, None
    return cert, key


# --- the API server's own certificates ------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """A certificate the API server keeps in its data dir, re-issued when it no longer fits."""

    cert_path: Path
    key_path: Path
    subject: x509.Name
    usage: x509.ObjectIdentifier
    sans: tuple[str, ...] | None  # wanted SANs (the certificate may hold more)

    def ensure(
        self, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
    ) -> tuple[str, ...]:
        """Keep or (re-)issue the certificate; returns its SANs."""
        cert, key = _load_cert(self.cert_path), _load_key(self.key_path)
        if cert is not None and key is not None:
            why = self.unfit(cert, key, ca_cert)
            if why is None:
                return cert_hosts(cert)
            log.info("re-issuing %s: %s", self.cert_path.name, why)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _leaf(ca_cert, ca_key, key, self.subject, self.usage, san=self.sans)
        _write_atomic(self.key_path, _key_pem(key), 0o600)
        _write_atomic(self.cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cert_hosts(cert)

    def unfit(
        self,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        ca_cert: x509.Certificate,
    ) -> str | None:
        """Why the existing certificate cannot be kept, or None if it can."""
        if not _same_key(cert, key):
            return "its key does not match"
        try:
            cert.verify_directly_issued_by(ca_cert)
        except (InvalidSignature, ValueError, TypeError):
            return "it was not signed by the current CA"
        if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
            return "it expires soon"
        if cert.subject != self.subject:
            return "its subject changed"
        missing = set(self.sans or ()) - set(cert_hosts(cert))
        if missing:
            return "new hosts " + ", ".join(sorted(missing))
        return None


def _leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    san: tuple[str, ...] | None,
) -> x509.Certificate:
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in san]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


# --- files ---------------------------------------------------------------------------


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    return cert.public_key() == key.public_key()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file in the same dir (created with ``mode``) and rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
