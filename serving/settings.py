"""Typed settings of one HTTPS server, built by the command that serves an app and passed down."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Literal

WorkerClass = Literal["gevent", "gthread"]


@dataclass(frozen=True)
class ServingSettings:
    """Where and how to serve: address, certificate directory, gunicorn workers and the limits.

    ``gevent`` (the default) gives every connection a greenlet, so slow or idle clients cost memory,
    not a worker thread; the TLS handshake must finish within ``handshake_timeout_seconds`` and a
    request's headers within ``keepalive_seconds``; each worker holds at most ``worker_connections``.
    ``gthread`` is kept for comparison in the benchmarks only: 8 slow clients stall it.
    """

    cert_dir: pathlib.Path
    host: str = "0.0.0.0"
    port: int = 3443
    workers: int = 2
    worker_class: WorkerClass = "gevent"
    threads: int = 4  # gthread only
    worker_connections: int = 1000
    keepalive_seconds: int = 75
    handshake_timeout_seconds: float = 10.0
    graceful_timeout_seconds: int = 5
    cert_reload_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be within 1..65535, not {self.port}")
        for name in ("workers", "threads", "worker_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.handshake_timeout_seconds <= 0 or self.keepalive_seconds < 1:
            raise ValueError("handshake and keep-alive timeouts must be positive")

    @property
    def cert_file(self) -> pathlib.Path:
        return self.cert_dir / "tls.crt"

    @property
    def key_file(self) -> pathlib.Path:
        return self.cert_dir / "tls.key"
