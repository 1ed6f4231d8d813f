"""Serve any Flask app factory over HTTPS with gunicorn and the shared hardening.

``serve(factory, settings)`` runs a gunicorn arbiter until SIGTERM/SIGINT. The factory is called in
each worker after it forked (and, under gevent, after monkey-patching), so an app may start its own
watches there. The TLS context comes from ``serving.tls`` (hardened, reloaded per handshake), the
worker from ``serving.workers``; see bench/results/slowclients.md for why gevent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from serving.settings import ServingSettings
from serving.tls import CertificateReloader, ContextClass

AppFactory = Callable[[], Flask]


class TlsHook:
    """gunicorn's ``ssl_context`` hook: one ``CertificateReloader`` per process, built on first use."""

    def __init__(self, settings: ServingSettings) -> None:
        self.settings = settings
        self._reloader: CertificateReloader | None = None
        self._pid = 0

    def _context_class(self) -> ContextClass | None:
        if self.settings.worker_class != "gevent":
            return None
        from serving.workers import DeferredHandshakeContext

        return DeferredHandshakeContext

    def __call__(self, config: Any, default_factory: Any) -> Any:
        if self._reloader is None or self._pid != os.getpid():
            self._reloader = CertificateReloader(self.settings.cert_file, self.settings.key_file,
                                                 self.settings.cert_reload_seconds, self._context_class())
            self._pid = os.getpid()
        return self._reloader.current()


def _worker_class(settings: ServingSettings) -> Any:
    if settings.worker_class == "gthread":
        return "gthread"
    from serving.workers import HardenedGeventWorker

    return type("HardenedGeventWorker", (HardenedGeventWorker,),
                {"handshake_timeout": settings.handshake_timeout_seconds})


def gunicorn_options(settings: ServingSettings) -> dict[str, Any]:
    """The gunicorn configuration for ``settings``."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "certfile": str(settings.cert_file),
        "keyfile": str(settings.key_file),
        "ssl_context": TlsHook(settings),
        "worker_class": _worker_class(settings),
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_connections": settings.worker_connections,
        "keepalive": settings.keepalive_seconds,
        "graceful_timeout": settings.graceful_timeout_seconds,
        "accesslog": None,
        "loglevel": "warning",
    }


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """An embedded gunicorn arbiter serving the app that ``factory`` builds in each worker."""

    def __init__(self, factory: AppFactory, options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def serve(factory: AppFactory, settings: ServingSettings) -> None:
    """Serve ``factory``'s app on ``settings.host:port`` until SIGTERM/SIGINT."""
    GunicornServer(factory, gunicorn_options(settings)).run()
