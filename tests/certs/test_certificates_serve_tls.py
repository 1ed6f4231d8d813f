"""The generated CA and serving certificate complete a real TLS handshake for every service name."""

from __future__ import annotations

import contextlib
import datetime
import pathlib
import ssl

import pytest
from cryptography import x509

from certs.authority import ServingNames, ca_bundle, new_bundle
from certs.stores import DirectoryStore

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor", ("127.0.0.1", "manager.example"))


def _handshake(directory: pathlib.Path, server_name: str) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "tls.crt", directory / "tls.key")
    client = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=server_name)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (tls_client, tls_server):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    assert tls_client.version() is not None, "handshake did not finish"


@pytest.mark.parametrize(
    "name",
    ["varmor-webhook-svc", "varmor-webhook-svc.varmor", "varmor-webhook-svc.varmor.svc",
     "127.0.0.1", "manager.example"],
)
def test_a_client_trusting_the_ca_accepts_every_service_name(tmp_path: pathlib.Path, name: str) -> None:
    DirectoryStore(tmp_path).save(new_bundle(NAMES, NOW))
    _handshake(tmp_path, name)


def test_a_client_rejects_a_name_the_certificate_does_not_cover(tmp_path: pathlib.Path) -> None:
    DirectoryStore(tmp_path).save(new_bundle(NAMES, NOW))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tmp_path, "varmor-webhook-svc.other.svc")


def test_the_serving_certificate_is_for_server_auth_and_signed_by_the_ca() -> None:
    bundle = new_bundle(NAMES, NOW)
    ca = x509.load_pem_x509_certificate(bundle.ca_cert)
    cert = x509.load_pem_x509_certificate(bundle.cert)
    cert.verify_directly_issued_by(ca)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc - NOW > datetime.timedelta(days=364)


def test_the_ca_bundle_is_the_base64_of_the_ca_pem() -> None:
    import base64

    bundle = new_bundle(NAMES, NOW)
    assert base64.b64decode(ca_bundle(bundle)) == bundle.ca_cert
    assert bundle.ca_cert.startswith(b"-----BEGIN CERTIFICATE-----")
