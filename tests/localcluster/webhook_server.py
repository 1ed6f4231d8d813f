"""A tiny mutating webhook for the admission tests: Flask over TLS, certificates from ``cryptography``.

The CA signs a serving certificate for ``<service>.<namespace>.svc`` only, so the cluster's call
succeeds only if it checks the chain against ``caBundle`` and the name it derives from the service
reference. The webhook adds the annotation ``mutated-by: test-webhook`` to every object.
"""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, request
from werkzeug.serving import make_server


def _cert(
    subject: str, key: Any, issuer: str, issuer_key: Any, ca: bool, dns: str | None
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def certificates(folder: pathlib.Path, dns: str) -> str:
    """Write ``tls.crt``/``tls.key`` for ``dns`` signed by a fresh CA; return the base64 caBundle."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test-ca", ca_key, "test-ca", ca_key, True, None)
    cert = _cert(dns, key, "test-ca", ca_key, False, dns)
    (folder / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return base64.b64encode(ca.public_bytes(serialization.Encoding.PEM)).decode()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/mutate")
    def mutate() -> dict[str, Any]:
        req = (request.get_json(force=True) or {})["request"]
        has = bool(req["object"]["metadata"].get("annotations"))
        patch = (
            [{"op": "add", "path": "/metadata/annotations/mutated-by", "value": "test-webhook"}]
            if has
            else [{"op": "add", "path": "/metadata/annotations", "value": {"mutated-by": "test-webhook"}}]
        )
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {
                "uid": req["uid"],
                "allowed": True,
                "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(patch).encode()).decode(),
            },
        }

    return app


@contextmanager
def serving(folder: pathlib.Path, dns: str) -> Iterator[tuple[int, str]]:
    """Serve the webhook over TLS on a free port; yields (port, caBundle)."""
    ca_bundle = certificates(folder, dns)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "tls.crt", folder / "tls.key")
    server = make_server("127.0.0.1", 0, create_app(), threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, ca_bundle
    finally:
        server.shutdown()
        thread.join(5)
