"""The server side of TLS: one hardened context policy, and certificates reloaded per handshake.

Policy: TLS 1.2 and 1.3 only. TLS 1.2 only with ECDHE key exchange and AEAD ciphers (AES-GCM,
ChaCha20-Poly1305); TLS 1.3 suites are all AEAD, and OpenSSL negotiates 1.3 whenever the client
offers it. No compression, no renegotiation, the server's cipher order.

Reloading: ``CertificateReloader`` watches ``tls.crt`` and ``tls.key`` (at most every ``interval``
seconds, on a handshake). When either changed it reads both and builds a new context only if the key
belongs to the certificate; until then the previous context stays. Every handshake picks the current
context in the SNI callback, so a connection sees the old pair or the new pair, never a mix, and no
worker restarts. A renewer only has to write the files (``certs.stores``).
"""

from __future__ import annotations

import logging
import math
import os
import pathlib
import ssl
import threading
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

log = logging.getLogger(__name__)
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
ContextClass = Callable[[ssl._SSLMethod], ssl.SSLContext]
Stamp = tuple[tuple[int, int, int], ...]


def harden(context: ssl.SSLContext) -> ssl.SSLContext:
    """Apply the policy above to a server context."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    return context


def pair_problem(cert: bytes, key: bytes) -> str | None:
    """Why ``key`` cannot serve ``cert`` (unreadable, or not the certificate's key), or None."""
    try:
        public = x509.load_pem_x509_certificate(cert).public_key()
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as err:
        return f"unreadable certificate or key: {err}"
    return None if private.public_key() == public else "the key does not belong to the certificate"


def _load_pair(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """``load_cert_chain`` reads paths only: hand it one anonymous in-memory file holding both."""
    fd = os.memfd_create("tls-pair", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as handle:
            handle.write(key.rstrip(b"\n") + b"\n" + cert)
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def server_context(cert: bytes, key: bytes, context_class: ContextClass | None = None) -> ssl.SSLContext:
    """A hardened server context serving the PEM pair ``cert``/``key``."""
    problem = pair_problem(cert, key)
    if problem:
        raise ValueError(problem)
    context = harden((context_class or ssl.SSLContext)(ssl.PROTOCOL_TLS_SERVER))
    _load_pair(context, cert, key)
    return context


def _stamp(*paths: pathlib.Path) -> Stamp:
    stats = [p.stat() for p in paths]
    return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in stats)


class CertificateReloader:
    """The current server context for a certificate and key on disk; see the module docstring."""

    def __init__(
        self, cert_file: pathlib.Path, key_file: pathlib.Path, interval: float = 1.0,
        context_class: ContextClass | None = None, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cert_file, self.key_file, self.interval = cert_file, key_file, interval
        self.context_class, self.clock = context_class, clock
        self._lock = threading.Lock()
        self._stamp: Stamp = ()
        self._checked = -math.inf
        self._context = self._build()  # the first pair must be usable: fail at start, not per client

    def _build(self) -> ssl.SSLContext:
        stamp = _stamp(self.cert_file, self.key_file)
        context = server_context(self.cert_file.read_bytes(), self.key_file.read_bytes(), self.context_class)
        context.sni_callback = self._pick
        self._stamp = stamp
        return context

    def current(self) -> ssl.SSLContext:
        """The newest good context; re-checks the files when ``interval`` has passed."""
        with self._lock:
            now = self.clock()
            if now - self._checked >= self.interval:
                self._checked = now
                self._refresh()
            return self._context

    def _refresh(self) -> None:
        try:
            if _stamp(self.cert_file, self.key_file) == self._stamp:
                return
            self._context = self._build()
            log.info("Loaded a new serving certificate file=%s", self.cert_file)
        except (OSError, ValueError, ssl.SSLError) as err:
            log.warning("Kept the previous serving certificate file=%s reason=%r", self.cert_file, str(err))

    def _pick(self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
              initial: ssl.SSLContext) -> None:
        newest = self.current()
        if newest is not initial:
            connection.context = newest
