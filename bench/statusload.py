"""Load for the status-service benchmark: paced open-loop senders and closed-loop keep-alive clients.

``paced`` is how agents report: each request at its own absolute time, on a fresh TLS connection,
in its own thread, so a slow answer never delays another sender (open loop). ``closed_loop`` is a
capacity probe: a fixed number of kept-alive connections, each sending its next request when the
previous one is answered. Both spread their clients over a few processes, so that no client
measures its own GIL queue, and return per-request latency in ms and the non-200 count.
"""

from __future__ import annotations

import http.client
import multiprocessing
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

PROCESSES = 4


@dataclass(frozen=True)
class Request:
    at: float  # time.time() to send it (paced); ignored by closed_loop
    method: str
    path: str
    body: bytes
    token: str


@dataclass
class Outcome:
    latencies: list[float]  # ms, from connecting to the answer's last byte
    starts: list[float]  # time.time() each request started (paced), in the order of ``latencies``
    failures: int  # answers other than 200, and requests that got no answer
    lag: float  # ms, the latest a paced sender started after its time (the client's own delay)


def _context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def _exchange(connection: http.client.HTTPSConnection, request: Request) -> int:
    headers = {"Token": request.token, "Content-Type": "application/json"}
    connection.request(request.method, request.path, body=request.body if request.method == "POST" else None,
                       headers=headers)
    answer = connection.getresponse()
    answer.read()
    return answer.status


def _once(port: int, request: Request, context: ssl.SSLContext,
          results: list[tuple[float, int, float]]) -> None:
    """One request on a fresh TLS connection, closed after the answer (an agent's report)."""
    wall, started = time.time(), time.perf_counter()
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)
    try:
        status = _exchange(connection, request)
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    results.append(((time.perf_counter() - started) * 1000, status, wall))


def _paced_process(port: int, requests: list[Request], out: Any) -> None:
    context, lag = _context(), 0.0
    results: list[tuple[float, int, float]] = []
    threads: list[threading.Thread] = []
    for request in sorted(requests, key=lambda r: r.at):
        delay = request.at - time.time()
        if delay > 0:
            time.sleep(delay)
        lag = max(lag, time.time() - request.at)
        thread = threading.Thread(target=_once, args=(port, request, context, results))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    out.put(([ms for ms, _, _ in results], sum(status != 200 for _, status, _ in results), lag * 1000,
             [wall for _, _, wall in results]))


def _keep_alive_process(port: int, shares: list[list[Request]], out: Any) -> None:
    def connection_worker(share: list[Request]) -> None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=_context(), timeout=60)
        latencies: list[float] = []
        failures = 0
        for request in share:
            started = time.perf_counter()
            failures += _exchange(connection, request) != 200
            latencies.append((time.perf_counter() - started) * 1000)
        connection.close()
        out.put((latencies, failures, 0.0, []))

    threads = [threading.Thread(target=connection_worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _run(target: Any, arguments: list[tuple[Any, ...]], answers: int) -> Outcome:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    processes = [context.Process(target=target, args=(*args, out)) for args in arguments]
    for process in processes:
        process.start()
    outcome = Outcome([], [], 0, 0.0)
    for _ in range(answers):
        latencies, failures, lag, starts = out.get(timeout=600)
        outcome.latencies += latencies
        outcome.starts += starts
        outcome.failures += failures
        outcome.lag = max(outcome.lag, lag)
    for process in processes:
        process.join()
    return outcome


def paced(port: int, requests: list[Request]) -> Outcome:
    """Every request at its ``at``, each on its own fresh connection, open-loop."""
    shares = [requests[i::PROCESSES] for i in range(PROCESSES)]
    return _run(_paced_process, [(port, share) for share in shares], PROCESSES)


def closed_loop(port: int, requests: list[Request], clients: int) -> Outcome:
    """``requests`` over ``clients`` kept-alive connections, each sending when answered."""
    shares = [requests[i::clients] for i in range(clients)]
    per = clients // PROCESSES
    arguments = [(port, shares[i * per:(i + 1) * per]) for i in range(PROCESSES)]
    return _run(_keep_alive_process, arguments, clients)
