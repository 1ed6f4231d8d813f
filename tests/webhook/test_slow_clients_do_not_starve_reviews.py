"""Slow and idle clients cannot starve admission: with far more of them open than the server has
threads, a valid review is still answered, and a client that does not finish its TLS handshake in
time is disconnected. (Latency under this load is a benchmark: bench/bench_slowclients.py.)"""

from __future__ import annotations

import contextlib
import json
import pathlib
import socket
import ssl
import time
from collections.abc import Iterator

import requests
import yaml

from tests.webhook.conftest import RunningWebhook, running_webhook
from tests.webhook.helpers import GOLDEN, review

_, DEMO = yaml.safe_load_all((GOLDEN / "demo-4" / "deployments.yaml").read_text())
HOSTILE = 25  # of each kind; the server runs one worker here


def _client_hello() -> bytes:
    outgoing = ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname="x")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@contextlib.contextmanager
def hostile_clients(server: RunningWebhook) -> Iterator[dict[str, list[socket.socket]]]:
    """Idle TCP connections, half-sent ClientHellos and handshaken clients stuck in their headers."""
    address, hello = ("127.0.0.1", server.port), _client_hello()
    trusting = ssl.create_default_context(cafile=str(server.ca))
    opened: dict[str, list[socket.socket]] = {"idle": [], "hello": [], "headers": []}
    try:
        for _ in range(HOSTILE):
            opened["idle"].append(socket.create_connection(address, timeout=5))
            opened["hello"].append(socket.create_connection(address, timeout=5))
            opened["hello"][-1].sendall(hello[:20])
            headers = trusting.wrap_socket(socket.create_connection(address, timeout=5),
                                           server_hostname="127.0.0.1")
            headers.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\n")
            opened["headers"].append(headers)
        yield opened
    finally:
        for sock in (s for group in opened.values() for s in group):
            sock.close()


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_valid_review_is_answered_while_slow_and_idle_clients_hold_connections(
    tmp_path: pathlib.Path,
) -> None:
    with running_webhook(tmp_path / "certs", tmp_path / "vcpol.yaml") as server, hostile_clients(server):
        started = time.monotonic()
        reply = requests.post(f"{server.url}/mutate", data=json.dumps(review(DEMO, "Deployment", "demo")),
                              headers={"Content-Type": "application/json"}, verify=str(server.ca), timeout=10)
        assert reply.status_code == 200 and reply.json()["response"]["patchType"] == "JSONPatch"
        assert time.monotonic() - started < 5


def test_a_client_that_does_not_finish_its_handshake_in_time_is_disconnected(
    tmp_path: pathlib.Path,
) -> None:
    with (running_webhook(tmp_path / "certs", tmp_path / "vcpol.yaml", "--handshake-timeout", "1") as server,
          hostile_clients(server) as opened):
        assert _closed_by_server(opened["idle"][0], within=10)
        assert _closed_by_server(opened["hello"][0], within=10)
