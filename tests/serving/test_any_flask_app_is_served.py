"""``serving.servers.serve`` serves any Flask app factory over the shared hardened TLS, building the
app in each worker after the fork, the way the webhook and the status service use it."""

from __future__ import annotations

import datetime
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import requests
from flask import Flask

from certs.authority import ServingNames, new_bundle
from certs.stores import DirectoryStore
from serving.settings import ServingSettings

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_app() -> Flask:
    app = Flask("example")
    built_in = os.getpid()

    @app.get("/whoami")
    def whoami() -> dict[str, int]:
        return {"built_in": built_in, "serving_in": os.getpid()}

    return app


def main(cert_dir: str, port: int) -> None:  # run in a subprocess by the test below
    from serving.servers import serve

    serve(make_app, ServingSettings(cert_dir=pathlib.Path(cert_dir), host="127.0.0.1", port=port, workers=1))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_second_app_is_served_over_tls_and_built_in_the_worker(tmp_path: pathlib.Path) -> None:
    DirectoryStore(tmp_path).save(new_bundle(ServingNames("varmor", ("127.0.0.1",)),
                                             datetime.datetime.now(datetime.UTC)))
    port = _free_port()
    code = f"from tests.serving.test_any_flask_app_is_served import main; main({str(tmp_path)!r}, {port})"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline, reply = time.monotonic() + 30, None
        while time.monotonic() < deadline and reply is None:
            try:
                reply = requests.get(f"https://127.0.0.1:{port}/whoami", verify=str(tmp_path / "ca.crt"),
                                     timeout=2)
            except requests.ConnectionError:
                time.sleep(0.2)
        assert reply is not None and reply.status_code == 200
        answer = reply.json()
        assert answer["built_in"] == answer["serving_in"] != process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="port"):
        ServingSettings(cert_dir=pathlib.Path("x"), port=70000)
    with pytest.raises(ValueError, match="workers"):
        ServingSettings(cert_dir=pathlib.Path("x"), workers=0)
    with pytest.raises(ValueError, match="timeouts"):
        ServingSettings(cert_dir=pathlib.Path("x"), handshake_timeout_seconds=0)
