"""Slow and idle clients must not starve admission: valid-review p99 with and without hostile load.

Starts ``python app.py webhook`` (the guide's policy) and measures the ``demo-4`` mutation from a
well-behaved client, first alone, then while another process keeps 200 slow TLS clients and 50 idle
TCP connections open: 100 trickle their ClientHello one byte every 5 s, 100 finish the handshake and
trickle request headers one byte every 5 s, 50 connect and send nothing; whatever the server closes
is reopened at once. The valid client either keeps one connection alive (as the API server does) or
opens a new TLS connection per review. The default setup (gevent) is compared with gthread 2×4, the
previous default. Target (issue 8): valid-review p99 <= 50 ms under that load.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import pathlib
import selectors
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event

from bench.bench_webhook import Client, request_bytes, start

SLOW_HANDSHAKES, SLOW_HEADERS, IDLE, TRICKLE_SECONDS = 100, 100, 50, 5.0
MEASURE_SECONDS, FRESH_REVIEWS, CLIENT_TIMEOUT = 12.0, 150, 5.0
SETUPS = {"gevent, 2 workers (default)": ("--workers", "2"),
          "gthread 2×4 (previous default)": ("--worker-class", "gthread", "--workers", "2", "--threads", "4")}


@functools.cache
def _client_context(ca: pathlib.Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


@functools.cache
def _client_hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname="varmor-webhook-svc")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


HEADERS = b"POST /mutate HTTP/1.1\r\nHost: varmor-webhook-svc\r\n" * 64


class Trickler:
    """One hostile connection: ``payload`` sent one byte per tick; reopened when the server closes it."""

    def __init__(self, port: int, ca: pathlib.Path, kind: str, selector: selectors.BaseSelector) -> None:
        self.port, self.kind, self.selector, self.sent = port, kind, selector, 0
        self.context = _client_context(ca)
        self.payload = _client_hello() if kind == "handshake" else HEADERS
        self.sock: socket.socket | None = None
        self.handshaken = False
        self.reopen()

    def reopen(self) -> None:
        self.close()
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
        except OSError:
            return  # the backlog is full: try again on the next tick
        sock.setblocking(False)
        if self.kind == "headers":  # shake hands without blocking, driven by readable events
            sock = self.context.wrap_socket(sock, server_hostname="127.0.0.1", do_handshake_on_connect=False)
        self.selector.register(sock, selectors.EVENT_READ, self)
        self.sock, self.sent, self.handshaken = sock, 0, self.kind != "headers"
        self._shake()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def _shake(self) -> None:
        if self.handshaken or not isinstance(self.sock, ssl.SSLSocket):
            return
        try:
            self.sock.do_handshake()
            self.handshaken = True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:
            self.close()

    def tick(self) -> None:
        if self.sock is None:
            self.reopen()
        elif self.handshaken and self.kind != "idle" and self.sent < len(self.payload):
            try:
                self.sent += self.sock.send(self.payload[self.sent:self.sent + 1])
            except OSError:
                self.reopen()

    def readable(self) -> None:
        """The server sent something: a handshake step or a TLS 1.3 session ticket is fine, a close or
        an answer is not."""
        if not self.handshaken:
            self._shake()
            return
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            data = b""
        if not data or self.kind != "headers" or data.startswith(b"HTTP/"):
            self.reopen()


def _hostile_load(port: int, ca: pathlib.Path, ready: Event, stop: Event) -> None:
    """Runs in its own process: keep every hostile connection open until ``stop``."""
    selector = selectors.DefaultSelector()
    kinds = ["handshake"] * SLOW_HANDSHAKES + ["idle"] * IDLE + ["headers"] * SLOW_HEADERS
    clients = [Trickler(port, ca, kind, selector) for kind in kinds]
    ready.set()
    next_tick = time.monotonic()
    while not stop.is_set():
        for key, _ in selector.select(timeout=0.2):
            key.data.readable()
        if time.monotonic() >= next_tick:
            next_tick += TRICKLE_SECONDS
            for client in clients:
                client.tick()


@contextlib.contextmanager
def hostile_load(port: int, ca: pathlib.Path) -> Iterator[None]:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    process = context.Process(target=_hostile_load, args=(port, ca, ready, stop), daemon=True)
    process.start()
    try:
        if not ready.wait(timeout=120):
            raise RuntimeError("the hostile clients did not connect within 120 s")
        time.sleep(1.0)
        yield
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


@dataclass
class Sample:
    latencies_ms: list[float]
    failures: int = 0

    def quantile(self, q: float) -> float:
        lat = sorted(self.latencies_ms)
        return lat[min(len(lat) - 1, int(len(lat) * q))] if lat else float("inf")

    def p99(self) -> float:
        return self.quantile(0.99)

    def cell(self) -> str:
        text = f"{self.quantile(0.5):.2f} / {self.p99():.2f}" if self.latencies_ms else "–"
        return text + (f" ({self.failures} failed)" if self.failures else "")


def _timed(call: Callable[[], None], sample: Sample) -> None:
    started = time.perf_counter()
    try:
        call()
    except (OSError, RuntimeError):
        sample.failures += 1
        return
    sample.latencies_ms.append((time.perf_counter() - started) * 1000)


def keep_alive(port: int, ca: pathlib.Path) -> Sample:
    sample, client = Sample([]), None
    deadline = time.monotonic() + MEASURE_SECONDS
    while time.monotonic() < deadline and sample.failures < 5:
        try:
            client = client or _client(port, ca)
        except OSError:
            sample.failures += 1
            continue
        before = sample.failures
        _timed(client.call, sample)
        if sample.failures > before:
            client.close()
            client = None
    if client:
        client.close()
    return sample


def fresh_connections(port: int, ca: pathlib.Path) -> Sample:
    sample = Sample([])

    def one() -> None:
        client = _client(port, ca)
        try:
            client.call()
        finally:
            client.close()

    while len(sample.latencies_ms) + sample.failures < FRESH_REVIEWS and sample.failures < 5:
        _timed(one, sample)
    return sample


def _client(port: int, ca: pathlib.Path) -> Client:
    """A valid client; its TLS context is built once, so the time measured is the connection's."""
    return Client(port, ca, request_bytes(port), CLIENT_TIMEOUT, _client_context(ca))


def _measure(flags: tuple[str, ...]) -> dict[str, Sample]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        process, port = start(workdir, *flags)
        ca = workdir / "certs" / "ca.crt"
        try:
            Client(port, ca, request_bytes(port)).timed(200)  # warm up
            results = {"alone, keep-alive": keep_alive(port, ca), "alone, new connections":
                       fresh_connections(port, ca)}
            with hostile_load(port, ca):
                results["loaded, keep-alive"] = keep_alive(port, ca)
                results["loaded, new connections"] = fresh_connections(port, ca)
            return results
        finally:
            process.terminate()
            process.wait(timeout=30)


def _row(name: str, kind: str, results: dict[str, Sample]) -> str:
    alone, loaded = results[f"alone, {kind}"], results[f"loaded, {kind}"]
    ratio = f"×{loaded.p99() / alone.p99():.2f}" if loaded.latencies_ms and not loaded.failures else "–"
    return f"| {name} | {kind} | {alone.cell()} | {loaded.cell()} | {ratio} | {len(loaded.latencies_ms)} |"


def main() -> str:
    load_before = os.getloadavg()[0]
    measured = {name: _measure(flags) for name, flags in SETUPS.items()}
    default = next(iter(measured.values()))
    kept, fresh = default["loaded, keep-alive"], default["loaded, new connections"]
    verdict = "met" if kept.p99() <= 50 and not kept.failures + fresh.failures else "missed"
    lines = [
        "## Webhook under slow and idle clients (`bench/bench_slowclients.py`)", "",
        f"Valid `demo-4` mutations from one well-behaved client, alone and while {SLOW_HANDSHAKES} clients "
        f"trickle a TLS ClientHello and {SLOW_HEADERS} trickle request headers (one byte every "
        f"{TRICKLE_SECONDS:.0f} s) and {IDLE} TCP connections sit idle, all reopened as soon as the server "
        f"closes them. Keep-alive: {MEASURE_SECONDS:.0f} s of back-to-back reviews on one connection; new "
        f"connections: {FRESH_REVIEWS} reviews, each with its own TLS handshake. A request not answered "
        f"within {CLIENT_TIMEOUT:.0f} s counts as failed. p50 / p99 in ms; ratio = loaded p99 / alone "
        "p99.", "",
        "| server | valid client | alone | loaded | p99 ratio | reviews under load |",
        "|---|---|---|---|---|---|",
        *[_row(name, kind, results) for name, results in measured.items()
          for kind in ("keep-alive", "new connections")], "",
        f"Target valid-review p99 <= 50 ms under that load, for a keep-alive client as the API server is, "
        f"with no review failed on either client, default setup: **{verdict}** (p99 {kept.p99():.2f} ms, "
        f"{kept.failures + fresh.failures} failed). A new TLS connection per review costs a handshake "
        f"on both sides; its p99 on this shared 2-core machine is "
        f"{default['alone, new connections'].p99():.0f} ms without any load and "
        f"{fresh.p99():.0f} ms under it. The machine's load average was {load_before:.1f} when the run "
        "began (other work shares the 2 cores), which is why a p99 alone can exceed the p99 loaded; the "
        "p50 shows the steady cost.",
    ]
    return "\n".join(lines)
