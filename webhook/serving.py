"""Serve the Flask app with gunicorn over TLS: threaded workers, HTTP/1.1 keep-alive.

``gthread`` keeps connections open between admission calls (the sync worker answers
``Connection: close``, so every call would pay a TLS handshake: ~10 ms here); see
bench/results/webhook.md. A gthread thread owns a new connection until its first request arrives.
SIGHUP (sent by the certificate renewer) starts new workers that load renewed certificates.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from webhook.settings import WebhookSettings


def gunicorn_options(settings: WebhookSettings) -> dict[str, Any]:
    cert_dir = settings.cert_dir
    return {
        "bind": f"{settings.host}:{settings.port}",
        "certfile": str(cert_dir / "tls.crt"),
        "keyfile": str(cert_dir / "tls.key"),
        "worker_class": "gthread",
        "workers": settings.workers,
        "threads": settings.threads,
        "keepalive": settings.keepalive_seconds,
        "accesslog": None,
        "loglevel": "warning",
        "graceful_timeout": 5,
    }


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """An embedded gunicorn arbiter serving one WSGI app."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve(app: Flask, settings: WebhookSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    GunicornServer(app, gunicorn_options(settings)).run()
