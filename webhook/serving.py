"""Serve the webhook app through the shared HTTPS home, ``serving`` (gunicorn, gevent, TLS).

The server setup (worker class, handshake deadline, connection limits, TLS policy, certificate
reloading) lives in ``serving`` so that the status service gets the same; see bench/results/
slowclients.md for the measurements behind it.
"""

from __future__ import annotations

from flask import Flask

from serving.servers import serve as serve_app
from webhook.settings import WebhookSettings


def serve(app: Flask, settings: WebhookSettings) -> None:
    """Run until SIGTERM/SIGINT."""
    serve_app(lambda: app, settings.serving_settings())
