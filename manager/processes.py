"""The manager's HTTP children: the webhook (every replica) and the status service (leader only).

Each serves one Flask app with gunicorn over TLS (today's ``webhook.serving``; swap the serve
function when HTTPS serving moves), in its own process started with the ``spawn`` method, so the
gunicorn arbiter owns a fresh main thread and no lock of the manager's threads is inherited. A child
asks the kernel to SIGTERM it when the manager dies, so a killed leader leaves no status service
answering for it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import signal
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

from manager.settings import ManagerSettings

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
SPAWN: Any = multiprocessing.get_context("spawn")


def _die_with_parent(level: str) -> None:
    """First thing in a child: gevent patches ``ssl``, sockets and threads before anything imports the
    Kubernetes client (urllib3 imports ``ssl``); gunicorn's gevent workers patch only later, and a
    client built on the unpatched ``ssl`` fails with ``RecursionError`` against an HTTPS API server."""
    from gevent import monkey

    monkey.patch_all()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname).1s %(name)s: %(message)s")


def _serve_webhook(settings: ManagerSettings, level: str) -> None:
    _die_with_parent(level)
    from manager.clusterpolicies import ClusterPolicySource
    from webhook.server import create_app
    from webhook.serving import serve
    from webhook.settings import WebhookSettings

    webhook = WebhookSettings(cert_dir=settings.cert_dir, host=settings.host, port=settings.webhook_port,
                              install_namespace=settings.install_namespace, addresses=settings.addresses,
                              kubernetes_version=settings.kubernetes_version,
                              behavior_modeling_enabled=settings.behavior_modeling,
                              workers=settings.webhook_workers, metrics_dir=settings.metrics_dir)
    serve(create_app(webhook, ClusterPolicySource(settings.kubeconfig)), webhook)


def _serve_status(settings: ManagerSettings, level: str, go: Any) -> None:
    """Import and build everything at once, but bind the port only when ``go`` is set (leading)."""
    _die_with_parent(level)
    from manager.wiring import status_app
    from webhook.serving import serve
    from webhook.settings import WebhookSettings

    serving = WebhookSettings(cert_dir=settings.cert_dir, host=settings.host, port=settings.status_port,
                              workers=1, threads=settings.status_threads)
    app = status_app(settings)
    go.wait()
    gc.freeze()  # what is built by now lives as long as the process: no collection walks it again
    serve(app, serving)


def start(target: str, settings: ManagerSettings, level: str, go: Any = None) -> BaseProcess:
    """Start the ``webhook`` or ``status`` child; the status child waits for ``go`` (an Event) to serve."""
    functions: dict[str, Any] = {"webhook": _serve_webhook, "status": _serve_status}
    args: tuple[Any, ...] = (replace(settings), level) if go is None else (replace(settings), level, go)
    process: BaseProcess = SPAWN.Process(target=functions[target], args=args, name=f"varmor-{target}",
                                         daemon=False)
    process.start()
    log.info("Started the %s server pid=%s", target, process.pid)
    return process


def stop(process: BaseProcess, timeout: float = 10.0) -> None:
    if process.is_alive():
        process.terminate()
        process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join(timeout)
