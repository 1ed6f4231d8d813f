"""A real webhook: ``python app.py webhook`` (gunicorn, TLS) on a free loopback port."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import tenacity

from tests.webhook.helpers import GOLDEN

ROOT = pathlib.Path(__file__).resolve().parents[2]
BODY_LIMIT = 256 * 1024


@dataclass(frozen=True)
class RunningWebhook:
    url: str
    ca: pathlib.Path
    port: int
    cert_dir: pathlib.Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], url: str, ca: pathlib.Path) -> None:
    def ready() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"the webhook exited with {process.returncode}")
        requests.get(f"{url}/readyz", verify=str(ca), timeout=2).raise_for_status()

    tenacity.Retrying(stop=tenacity.stop_after_delay(30), wait=tenacity.wait_fixed(0.2), reraise=True,
                      retry=tenacity.retry_if_exception_type((OSError, requests.RequestException)))(ready)


@contextlib.contextmanager
def running_webhook(cert_dir: pathlib.Path, policy: pathlib.Path, *extra: str) -> Iterator[RunningWebhook]:
    """``python app.py webhook`` on a free port until the block ends (SIGTERM, then SIGKILL)."""
    shutil.copy(GOLDEN / "demo-4" / "vcpol.yaml", policy)
    port = _free_port()
    command = [sys.executable, "app.py", "webhook", "--cert-dir", str(cert_dir), "--host", "127.0.0.1",
               "--port", str(port), "--policy-file", str(policy), "--max-body-bytes", str(BODY_LIMIT),
               "--workers", "1", "--threads", "4", *extra]
    process = subprocess.Popen(command, cwd=ROOT)
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_ready(process, url, cert_dir / "ca.crt")
        yield RunningWebhook(url, cert_dir / "ca.crt", port, cert_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def webhook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWebhook]:
    cert_dir = tmp_path_factory.mktemp("certs")
    policy = tmp_path_factory.mktemp("policies") / "vcpol.yaml"
    with running_webhook(cert_dir, policy, "--disable-behavior-modeling") as server:
        yield server
