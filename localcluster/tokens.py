"""ServiceAccount tokens: the cluster's signing key, its root CA, and JWTs issued and reviewed.

``Authority`` holds an EC P-256 key (ES256 JWTs, as kube-apiserver signs with an EC
``--service-account-key-file``) and a self-signed CA whose PEM is published as ``kube-root-ca.crt``.
Both are kept under ``<state>/pki`` so tokens stay valid across a restart. ``issue`` makes the token of
a TokenRequest; ``serving_pair`` the API server's TLS certificate (what pods verify with ``ca.crt``);
``review`` answers a TokenReview (signature, issuer, expiry, audience). The claims follow
kube-apiserver's: ``iss``, ``sub`` = ``system:serviceaccount:<ns>:<name>``, ``aud``, ``exp``, ``iat``,
``nbf`` and the ``kubernetes.io`` private claim naming the account (and bound pod).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import pathlib
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600


class TokenError(Exception):
    """A token that does not authenticate; the message is what TokenReview reports."""


@dataclass(frozen=True)
class Account:
    namespace: str
    name: str
    uid: str

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_or_make_key(path: pathlib.Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.replace(tmp, path)
    return key


def _self_signed_ca(key: ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcluster-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


SIGNED_CACHE = 4096  # tokens whose signature is known good


class Authority:
    """Signs and verifies the cluster's ServiceAccount tokens; owns the root CA certificate."""

    def __init__(self, pki_dir: pathlib.Path) -> None:
        self._key = _load_or_make_key(pki_dir / "sa.key")
        ca_path = pki_dir / "ca.crt"
        if not ca_path.exists():
            ca_path.write_text(_self_signed_ca(self._key))
        self.ca_pem = ca_path.read_text()
        self._signed: dict[str, dict[str, Any]] = {}  # token -> its claims, once its signature checked


    def serving_pair(self, names: list[str], ips: list[str]) -> tuple[str, str]:
        """A TLS serving certificate for the API server signed by the root CA, and its key (PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        ca = x509.load_pem_x509_certificate(self.ca_pem.encode())
        now = datetime.datetime.now(datetime.UTC)
        alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()

    def _sign(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "ES256", "kid": "localcluster", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        der = self._key.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{body}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def issue(
        self,
        account: Account,
        audiences: list[str],
        expiration: int,
        now: datetime.datetime,
        pod: dict[str, str] | None = None,
    ) -> tuple[str, datetime.datetime]:
        """A signed token for ``account`` and when it expires."""
        expires = now + datetime.timedelta(seconds=expiration)
        private: dict[str, Any] = {
            "namespace": account.namespace,
            "serviceaccount": {"name": account.name, "uid": account.uid},
        }
        if pod:
            private["pod"] = pod
        claims = {
            "aud": audiences or list(API_AUDIENCES),
            "exp": int(expires.timestamp()),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "sub": account.username,
            "kubernetes.io": private,
        }
        return self._sign(claims), expires

    def verify(self, token: str, now: datetime.datetime) -> dict[str, Any]:
        """The claims of a token signed by this authority and valid at ``now``; else ``TokenError``.
        A signature is checked once per token (as kube-apiserver caches token authentication); the
        issuer and the expiry on every call."""
        claims = self._signed.get(token)
        if claims is None:
            claims = self._signed_claims(token)
            if len(self._signed) >= SIGNED_CACHE:
                self._signed.pop(next(iter(self._signed)))
            self._signed[token] = claims
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
            raise TokenError("invalid bearer token, token issuer is not recognised")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now.timestamp():
            raise TokenError("invalid bearer token, service account token has expired")
        return claims

    def _signed_claims(self, token: str) -> Any:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("invalid bearer token")
        try:
            raw = _unb64(parts[2])
            signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            self._key.public_key().verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256())
            )
            return json.loads(_unb64(parts[1]))
        except (InvalidSignature, ValueError) as e:
            raise TokenError("invalid bearer token, token lookup failed") from e


def review(authority: Authority, token: str, audiences: list[str], now: datetime.datetime) -> dict[str, Any]:
    """The ``status`` of a TokenReview of ``token`` for ``audiences`` (the API's own when empty)."""
    wanted = audiences or list(API_AUDIENCES)
    try:
        claims = authority.verify(token, now)
    except TokenError as e:
        return {"authenticated": False, "user": {}, "error": str(e)}
    granted = claims.get("aud") or []
    granted = [granted] if isinstance(granted, str) else granted
    common = [a for a in wanted if a in granted]
    if not common:
        return {
            "authenticated": False,
            "user": {},
            "error": "invalid bearer token, token audiences not valid",
        }
    private = claims.get("kubernetes.io") or {}
    namespace = str(private.get("namespace", ""))
    user: dict[str, Any] = {
        "username": claims.get("sub", ""),
        "uid": (private.get("serviceaccount") or {}).get("uid", ""),
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
    }
    if private.get("pod"):
        user["extra"] = {
            "authentication.kubernetes.io/pod-name": [private["pod"].get("name", "")],
            "authentication.kubernetes.io/pod-uid": [private["pod"].get("uid", "")],
        }
    return {"authenticated": True, "user": user, "audiences": common}
