"""Admission latency and throughput of the real webhook: gunicorn (gevent; gthread for comparison),
TLS, HTTP/1.1 keep-alive.

Starts ``python app.py webhook`` on a free loopback port with the user guide's VarmorClusterPolicy,
then POSTs the guide's ``demo/demo-4`` Deployment review (a real mutation, ~1.6 kB) over one
keep-alive TLS connection, and over 16 concurrent connections. The client is a lean raw-socket
loop with the request pre-serialised, so the numbers are mostly the server's. Target (DESIGN §4):
p99 <= 3 ms and >= 800 req/s with one client on 2 cores.
"""

from __future__ import annotations

import json
import pathlib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import requests
import tenacity
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "webhook" / "golden" / "demo-4"
WARMUP, SEQUENTIAL, CONCURRENT_CLIENTS, PER_CLIENT = 300, 3000, 16, 300


@dataclass(frozen=True)
class Run:
    label: str
    latencies_ms: list[float]
    seconds: float

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rate = len(lat) / self.seconds
        return (f"| {self.label} | {len(lat)} | {p50:.2f} | {p99:.2f} | {lat[-1]:.2f} | "
                f"{statistics.fmean(lat):.2f} | {rate:.0f} |")


def request_bytes(port: int) -> bytes:
    deployment = list(yaml.safe_load_all((GOLDEN / "deployments.yaml").read_text()))[1]
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "b3f5d3c4-0000-4000-8000-000000000001", "operation": "CREATE", "namespace": "demo",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "object": deployment}}
    body = json.dumps(review).encode()
    head = (f"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Client:
    """One keep-alive TLS connection sending a fixed request and reading Content-Length responses."""

    def __init__(self, port: int, ca: pathlib.Path, request: bytes, timeout: float | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        context = context or ssl.create_default_context(cafile=str(ca))
        self.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout),
                                        server_hostname="127.0.0.1")
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request, self.buffer = request, b""

    def call(self) -> None:
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += self._recv()
        if b'"patch"' not in rest[:length]:
            raise RuntimeError("the response carries no patch")
        self.buffer = rest[length:]

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("the server closed the connection")
        return data

    def timed(self, count: int) -> list[float]:
        latencies = []
        for _ in range(count):
            start = time.perf_counter()
            self.call()
            latencies.append((time.perf_counter() - start) * 1000)
        return latencies

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(workdir: pathlib.Path, *flags: str) -> tuple[subprocess.Popen[bytes], int]:
    """``python app.py webhook`` with the guide's policy and ``flags`` on a free port, once ready."""
    port = _free_port()
    command = [sys.executable, "app.py", "--log-level", "WARNING", "webhook", "--cert-dir",
               str(workdir / "certs"), "--host", "127.0.0.1", "--port", str(port), "--policy-file",
               str(GOLDEN / "vcpol.yaml"), *flags]
    process = subprocess.Popen(command, cwd=ROOT)
    ca = workdir / "certs" / "ca.crt"

    def ready() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"the webhook exited with {process.returncode}")
        requests.get(f"https://127.0.0.1:{port}/readyz", verify=str(ca), timeout=2).raise_for_status()

    try:
        tenacity.Retrying(stop=tenacity.stop_after_delay(30), wait=tenacity.wait_fixed(0.2), reraise=True,
                          retry=tenacity.retry_if_exception_type((OSError, requests.RequestException)))(ready)
    except (OSError, requests.RequestException, RuntimeError) as err:
        process.kill()
        raise RuntimeError(f"the webhook did not start: {err}") from None
    return process, port


def _sequential(port: int, ca: pathlib.Path, label: str) -> Run:
    client = Client(port, ca, request_bytes(port))
    client.timed(WARMUP)
    start = time.perf_counter()
    latencies = client.timed(SEQUENTIAL)
    seconds = time.perf_counter() - start
    client.close()
    return Run(label, latencies, seconds)


def _concurrent(port: int, ca: pathlib.Path, label: str) -> Run:
    """16 clients, each connecting and warming up at once, then all timed together."""
    results: list[list[float]] = [[] for _ in range(CONCURRENT_CLIENTS)]
    ready = threading.Barrier(CONCURRENT_CLIENTS + 1)
    done = threading.Barrier(CONCURRENT_CLIENTS + 1)

    def client_loop(index: int) -> None:
        client = Client(port, ca, request_bytes(port))
        client.timed(20)
        ready.wait(timeout=60)
        results[index] = client.timed(PER_CLIENT)
        done.wait(timeout=120)
        client.close()

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CONCURRENT_CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=60)
    start = time.perf_counter()
    done.wait(timeout=120)
    seconds = time.perf_counter() - start
    for thread in threads:
        thread.join()
    return Run(label, [x for r in results for x in r], seconds)


def _measure(name: str, *flags: str) -> list[Run]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        process, port = start(workdir, *flags)
        ca = workdir / "certs" / "ca.crt"
        try:
            return [_sequential(port, ca, f"{name}, 1 client"),
                    _concurrent(port, ca, f"{name}, {CONCURRENT_CLIENTS} clients")]
        finally:
            process.terminate()
            process.wait(timeout=15)


def main() -> str:
    runs = (_measure("gevent, 2 workers (default)", "--workers", "2")
            + _measure("gthread 2×4", "--worker-class", "gthread", "--workers", "2", "--threads", "4")
            + _measure("gthread 1×8", "--worker-class", "gthread", "--workers", "1", "--threads", "8"))
    one = runs[0]
    lat = sorted(one.latencies_ms)
    p99, rate = lat[int(len(lat) * 0.99)], len(lat) / one.seconds
    verdict = "met" if p99 <= 3 and rate >= 800 else "missed"
    lines = [
        "## Webhook admission latency (`bench/bench_webhook.py`)", "",
        "`python app.py webhook` (gunicorn, TLS 1.3, HTTP/1.1 keep-alive) mutating the guide's "
        "`demo/demo-4` Deployment; lean raw-socket client on the same 2 cores. Times in ms.", "",
        "| server, clients | requests | p50 | p99 | max | mean | req/s |", "|---|---|---|---|---|---|---|",
        *[run.row() for run in runs], "",
        f"Target p99 <= 3 ms and >= 800 req/s with one client (default setup): **{verdict}** "
        f"(p99 {p99:.2f} ms, {rate:.0f} req/s).",
    ]
    return "\n".join(lines)
