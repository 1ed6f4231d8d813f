"""The agent's reports: posted with the token read anew for every attempt, retried with back-off
until the status service answers 2xx, abandoned only when the agent stops."""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent import reporting


class Service:
    """A status service stand-in at our own port: answers the queued codes, then 200."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                service.seen.append((self.path, self.headers.get("Token", ""), body))
                self.send_response(service.codes.pop(0) if service.codes else 200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def service() -> Iterator[Service]:
    running = Service()
    yield running
    running.server.shutdown()


def test_a_report_is_retried_until_confirmed_with_a_fresh_token_each_time(service: Service,
                                                                          tmp_path: pathlib.Path) -> None:
    token = tmp_path / "bound-token"
    token.write_text("first\n")
    service.codes = [503, 401]
    client = reporting.StatusClient(lambda: reporting.Endpoint(service.url), token)
    retries: list[str] = []

    def rotate(message: str) -> None:
        retries.append(message)
        token.write_text("second\n")

    body = reporting.behavior_data("varmor", "varmor-x", "node-1", "uid-1", {"dynamicResult": {}})
    assert reporting.deliver(client, "/apis/v1/data", body, threading.Event(), max_wait=0.2, on_retry=rotate)
    assert [(path, tok) for path, tok, _ in service.seen] == [
        ("/apis/v1/data", "first"), ("/apis/v1/data", "second"), ("/apis/v1/data", "second")]
    assert service.seen[-1][2] == {
        "namespace": "varmor", "armorProfile": "varmor-x", "nodeName": "node-1", "window": "uid-1",
        "status": "succeeded", "message": "", "dynamicResult": {}}
    assert "HTTP 503" in retries[0] and "HTTP 401" in retries[1]


def test_an_unreachable_service_is_retried_until_the_agent_stops(tmp_path: pathlib.Path) -> None:
    token = tmp_path / "bound-token"
    token.write_text("t")
    unreachable = reporting.Endpoint("http://127.0.0.1:9")
    client = reporting.StatusClient(lambda: unreachable, token, timeout=2)
    stop = threading.Event()
    attempts: list[str] = []

    def count(message: str) -> None:
        attempts.append(message)
        if len(attempts) == 3:
            stop.set()

    assert not reporting.deliver(client, "/apis/v1/status", {}, stop, max_wait=0.1, on_retry=count)
    assert len(attempts) == 3


def test_a_missing_token_file_is_a_failed_attempt(service: Service, tmp_path: pathlib.Path) -> None:
    client = reporting.StatusClient(lambda: reporting.Endpoint(service.url), tmp_path / "none")
    with pytest.raises(reporting.DeliveryError, match="cannot read the token"):
        client.post("/apis/v1/status", {})
    assert service.seen == []
