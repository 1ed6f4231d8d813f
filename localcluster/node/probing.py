"""kubelet's prober: startup, readiness and liveness probes of a running container.

``Tracker`` (pure) is one probe of one container instance: when it is due (``initialDelaySeconds``,
``periodSeconds``), its consecutive successes and failures against ``successThreshold``/
``failureThreshold``, and its result. Readiness starts as failure, liveness and startup as unknown;
readiness and liveness wait until the startup probe succeeded. ``run`` performs one probe from the
host into the pod's IP (a ``hostNetwork`` pod's IP is the host's): ``httpGet`` (HTTP or HTTPS without
certificate checks, 200-399 is success), ``tcpSocket`` (a connection), ``exec`` (exit code 0, through
the CRI's ``ExecSync``). ``Prober`` runs them on a thread pool for a CRI node, reports kubelet's
``Unhealthy``/``Killing`` Events and stops a container whose liveness or startup probe failed.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cri import runtime_pb2 as pb
from cri.client import CriClient, CriError
from localcluster.node.slots import Slot

Kind = Literal["startup", "readiness", "liveness"]
KINDS: tuple[Kind, ...] = ("startup", "readiness", "liveness")
ExecSync = Callable[[list[str], int], tuple[int, bytes]]  # (command, timeout) -> (exit code, output)
Report = Callable[[str, str, str], None]  # (type, reason, message) of an Event


@dataclass
class Tracker:
    """One probe of one container instance."""

    kind: Kind
    spec: dict[str, Any]
    next_at: float
    result: bool | None = None
    successes: int = 0
    failures: int = 0
    pending: concurrent.futures.Future[tuple[bool, str]] | None = None

    @classmethod
    def start(cls, kind: Kind, spec: dict[str, Any], started: float) -> Tracker:
        initial = False if kind == "readiness" else None
        return cls(kind, spec, started + int(spec.get("initialDelaySeconds", 0)), initial)

    @property
    def period(self) -> float:
        return float(max(1, int(self.spec.get("periodSeconds", 10))))

    def due(self, now: float) -> bool:
        return self.pending is None and now >= self.next_at

    def record(self, ok: bool, now: float) -> bool:
        """Count one outcome; True when the result flipped (threshold reached)."""
        self.pending, self.next_at = None, now + self.period
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            flipped = self.result is not True and self.successes >= int(self.spec.get("successThreshold", 1))
        else:
            self.failures, self.successes = self.failures + 1, 0
            flipped = self.result is not False and self.failures >= int(self.spec.get("failureThreshold", 3))
        if flipped:
            self.result = ok
        return flipped


def trackers(container: dict[str, Any], started: float) -> dict[Kind, Tracker]:
    return {
        kind: Tracker.start(kind, container[f"{kind}Probe"], started)
        for kind in KINDS
        if container.get(f"{kind}Probe")
    }


def _port(value: Any, container: dict[str, Any]) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    named = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == value]
    if not named:
        raise ValueError(f"port {value!r} is not a container port")
    return int(named[0])


def _http(get: dict[str, Any], ip: str, container: dict[str, Any], timeout: float) -> tuple[bool, str]:
    host, port = get.get("host") or ip, _port(get.get("port"), container)
    if get.get("scheme", "HTTP").upper() == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
    try:
        conn.request("GET", get.get("path") or "/", headers={"User-Agent": "kube-probe/1.32", **headers})
        status = conn.getresponse().status
    except OSError as err:
        url = f"{get.get('scheme', 'http').lower()}://{host}:{port}{get.get('path', '/')}"
        return False, f'Get "{url}": {err}'
    finally:
        conn.close()
    return 200 <= status < 400, f"HTTP probe failed with statuscode: {status}"


def run(probe: dict[str, Any], ip: str, container: dict[str, Any], exec_sync: ExecSync) -> tuple[bool, str]:
    """One probe; (success, why it failed)."""
    timeout = max(1, int(probe.get("timeoutSeconds", 1)))
    try:
        if "httpGet" in probe:
            return _http(probe["httpGet"], ip, container, timeout)
        if "tcpSocket" in probe:
            tcp = probe["tcpSocket"]
            host, port = tcp.get("host") or ip, _port(tcp.get("port"), container)
            try:
                socket.create_connection((host, port), timeout=timeout).close()
            except OSError as err:
                return False, f"dial tcp {host}:{port}: {err}"
            return True, ""
        if "exec" in probe:
            code, output = exec_sync(list(probe["exec"].get("command") or []), timeout)
            return code == 0, output.decode(errors="replace").strip() or f"command exited with {code}"
    except ValueError as err:
        return False, str(err)
    return False, "probe has no handler (httpGet, tcpSocket or exec)"


class Prober:
    """Runs a node's due probes on a small thread pool; results are applied on the next sync."""

    def __init__(self, cri: CriClient) -> None:
        self.cri = cri
        self.pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="prober")

    def sync(
        self, slot: Slot, ip: str, grace: float, report: Report, stop: Callable[[str, float], None]
    ) -> None:
        """Probe one container instance; a failed liveness or startup probe stops it (the restart policy
        then restarts it)."""
        if not slot.container_id or slot.waiting is not None or slot.terminated is not None:
            return
        if slot.probed_id != slot.container_id:
            slot.probes, slot.probed_id = trackers(slot.spec, time.monotonic()), slot.container_id
        for kind, ok, flipped, message in self.step(slot.probes, slot.container_id, ip, slot.spec):
            if not ok:
                report("Warning", "Unhealthy", f"{kind.capitalize()} probe failed: {message}")
            if flipped and not ok and kind in ("liveness", "startup"):
                report("Normal", "Killing", f"Container {slot.name} failed {kind} probe, will be restarted")
                own = slot.spec[f"{kind}Probe"].get("terminationGracePeriodSeconds")
                self.pool.submit(stop, slot.container_id, float(grace if own is None else own))

    def step(
        self, probes: dict[Kind, Tracker], container_id: str, ip: str, container: dict[str, Any]
    ) -> list[tuple[Kind, bool, bool, str]]:
        """Apply finished probes, start due ones; (kind, success, result flipped, message) when finished."""
        now = time.monotonic()
        out: list[tuple[Kind, bool, bool, str]] = []
        started = "startup" not in probes or probes["startup"].result is True
        for kind, tracker in probes.items():
            if tracker.pending is not None and tracker.pending.done():
                ok, message = tracker.pending.result()
                out.append((kind, ok, tracker.record(ok, now), message))
            if tracker.due(now) and (kind == "startup") != started:

                def exec_sync(cmd: list[str], timeout: int) -> tuple[int, bytes]:
                    return self._exec_sync(container_id, cmd, timeout)

                tracker.pending = self.pool.submit(run, tracker.spec, ip, container, exec_sync)
        return out

    def _exec_sync(self, container_id: str, cmd: list[str], timeout: int) -> tuple[int, bytes]:
        request = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=timeout)
        try:
            answer = self.cri.call("ExecSync", request, timeout=timeout + 5)
        except CriError as err:
            return 1, err.message.encode()
        return int(answer.exit_code), bytes(answer.stdout) + bytes(answer.stderr)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
