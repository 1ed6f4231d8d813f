"""Rotation while serving: the running webhook renews an expiring serving certificate and serves the
new one on the next handshakes, without a restart and without changing the CA clients trust."""

from __future__ import annotations

import datetime
import pathlib
import socket
import ssl
import time

from certs.authority import ServingNames, new_bundle
from certs.stores import DirectoryStore
from tests.webhook.conftest import running_webhook


def _served_certificate(port: int, ca: pathlib.Path) -> bytes:
    context = ssl.create_default_context(cafile=str(ca))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                             server_hostname="127.0.0.1") as tls:
        return tls.getpeercert(binary_form=True) or b""


def _der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def test_an_expiring_serving_certificate_is_renewed_and_served_without_restart(
    tmp_path: pathlib.Path,
) -> None:
    cert_dir = tmp_path / "certs"
    with running_webhook(cert_dir, tmp_path / "vcpol.yaml", "--cert-check-seconds", "0.5") as server:
        first = _served_certificate(server.port, server.ca)
        expiring = new_bundle(ServingNames("varmor", ("127.0.0.1",)),
                              datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365, hours=-1))
        DirectoryStore(cert_dir).save(expiring)
        deadline, served = time.monotonic() + 30, b""
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                served = _served_certificate(server.port, server.ca)
            except ssl.SSLError:
                continue  # the CA file and the served pair are from different writes for a moment
            if served not in (first, _der(expiring.cert)):
                break
        assert served not in (b"", first, _der(expiring.cert)), "nothing renewed was served within 30 s"
        assert server.ca.read_bytes() == expiring.ca_cert  # renewal kept the CA
