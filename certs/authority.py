"""Issue and check the webhook's CA and serving certificate with ``cryptography``.

The CA is self-signed and long-lived (10 years); the serving certificate (1 year) carries the DNS
names the API server dials (``varmor-webhook-svc``, ``.<ns>``, ``.<ns>.svc``) and, outside a cluster,
the manager's address. Renewing the serving certificate never touches the CA. When the CA itself must
change, a bundle carries the next CA (published in ``caBundle`` before it signs anything) and then the
previous one (trusted until it expires); ``trust_bundle`` is what clients must trust.
Keys are ECDSA P-256 (upstream uses RSA-2048; P-256 makes TLS handshakes and key generation
cheaper and every Kubernetes API server accepts it). Upstream spec §2.5.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from api.names import WEBHOOK_SERVICE as SERVICE_NAME

CA_COMMON_NAME = "varmor-webhook-ca"
CA_VALIDITY = datetime.timedelta(days=3650)
VALIDITY = datetime.timedelta(days=365)  # of the serving certificate
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class ServingNames:
    """Where the serving certificate must be valid: the service in ``namespace``, plus addresses."""

    namespace: str
    addresses: tuple[str, ...] = ()

    def dns_names(self) -> list[str]:
        base = [SERVICE_NAME, f"{SERVICE_NAME}.{self.namespace}", f"{SERVICE_NAME}.{self.namespace}.svc"]
        return base + [a for a in self.addresses if not _is_ip(a)]

    def ip_addresses(self) -> list[str]:
        return [a for a in self.addresses if _is_ip(a)]


@dataclass(frozen=True)
class CertBundle:
    """PEM bytes of the signing CA's certificate and key, of the serving certificate and key, and,
    during a CA change, of the next CA (staged, not signing yet) or the previous CA (still trusted)."""

    ca_cert: bytes
    ca_key: bytes
    cert: bytes
    key: bytes
    next_ca_cert: bytes = b""
    next_ca_key: bytes = b""
    previous_ca_cert: bytes = b""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not ca,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def _issue_ca(now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue_serving(
    names: ServingNames, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in names.dns_names()]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in names.ip_addresses()]
    not_after = min(now + VALIDITY, ca.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVICE_NAME)]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def new_bundle(names: ServingNames, now: datetime.datetime) -> CertBundle:
    """A fresh CA and a serving certificate signed by it."""
    ca, ca_key = _issue_ca(now)
    cert, key = _issue_serving(names, ca, ca_key, now)
    return CertBundle(_cert_pem(ca), _key_pem(ca_key), _cert_pem(cert), _key_pem(key))


def new_ca(now: datetime.datetime) -> tuple[bytes, bytes]:
    """PEM certificate and key of a fresh CA."""
    ca, ca_key = _issue_ca(now)
    return _cert_pem(ca), _key_pem(ca_key)


def reissue_serving(bundle: CertBundle, names: ServingNames, now: datetime.datetime) -> CertBundle:
    """A new serving certificate from the same CA, so the ``caBundle`` stays as it is."""
    ca = x509.load_pem_x509_certificate(bundle.ca_cert)
    ca_key = serialization.load_pem_private_key(bundle.ca_key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("The CA key is not an ECDSA key.")
    cert, key = _issue_serving(names, ca, ca_key, now)
    return dataclasses.replace(bundle, cert=_cert_pem(cert), key=_key_pem(key))


def trust_bundle(bundle: CertBundle) -> bytes:
    """Every CA a client must trust now: the signing CA, the staged next one, the previous one."""
    pems = [bundle.ca_cert, bundle.next_ca_cert, bundle.previous_ca_cert]
    return b"".join(pem if pem.endswith(b"\n") else pem + b"\n" for pem in dict.fromkeys(pems) if pem)


def ca_bundle(bundle: CertBundle) -> str:
    """The ``caBundle`` field of a webhook configuration: base64 of ``trust_bundle``."""
    return base64.b64encode(trust_bundle(bundle)).decode("ascii")


def not_after(pem: bytes) -> datetime.datetime:
    """When the certificate ``pem`` expires."""
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc


def not_before(pem: bytes) -> datetime.datetime:
    return x509.load_pem_x509_certificate(pem).not_valid_before_utc


def _load(bundle: CertBundle) -> tuple[x509.Certificate, x509.Certificate]:
    ca = x509.load_pem_x509_certificate(bundle.ca_cert)
    cert = x509.load_pem_x509_certificate(bundle.cert)
    key = serialization.load_pem_private_key(bundle.key, password=None)
    if key.public_key() != cert.public_key():
        raise ValueError("the serving key does not match the serving certificate")
    return ca, cert


def _valid_at(cert: x509.Certificate, at: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _covers(cert: x509.Certificate, names: ServingNames) -> bool:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(sans.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    wanted_ips = {str(ipaddress.ip_address(a)) for a in names.ip_addresses()}
    return set(names.dns_names()) <= dns and wanted_ips <= ips


def ca_problem(bundle: CertBundle, at: datetime.datetime) -> str | None:
    """Why the CA cannot be kept until ``at``, or None."""
    try:
        ca = x509.load_pem_x509_certificate(bundle.ca_cert)
        serialization.load_pem_private_key(bundle.ca_key, password=None)
    except ValueError as err:
        return f"unreadable CA: {err}"
    return None if _valid_at(ca, at) else "the CA expires"


def serving_problem(bundle: CertBundle, names: ServingNames, at: datetime.datetime) -> str | None:
    """Why the serving certificate cannot be kept until ``at``, or None."""
    try:
        ca, cert = _load(bundle)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as err:
        return f"invalid serving certificate: {err}"
    if not _valid_at(cert, at):
        return "the serving certificate expires"
    if not _covers(cert, names):
        return "the serving certificate does not cover every name"
    return None
