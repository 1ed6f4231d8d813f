"""The status service under 1,000 nodes each reporting one model (DESIGN §4, issue 11).

Runs the local cluster (``app.py localcluster up --detach``) and the real ``python app.py manager``
(``--agents 1000``), creates a one-minute BehaviorModeling VarmorClusterPolicy, waits until its
window has closed, then 1,000 simulated nodes POST ``/apis/v1/data`` (a small model each: shared
library paths, one file of their own, a few syscalls) with a ServiceAccount token of audience
``varmor-manager``, 32 at a time over keep-alive TLS. Baseline in the same run: ``GET /healthz``
through the same server and client. Measured: every report accepted, report latency (each answered
only once stored), and the delay from the last answer to the policy's ``Completed``.
Targets: p99 <= 100 ms, ``Completed`` <= 2 s after the last report.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import requests
import urllib3
from kubernetes import client, config

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODES, CLIENTS, HEALTH_CHECKS = 1000, 32, 1000
PROFILE = "varmor-cluster-varmor-bench"
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _body(node: int) -> dict[str, Any]:
    files: list[dict[str, Any]] = [{"path": f"/usr/lib/x86_64-linux-gnu/lib{i}.so", "permissions": ["m", "r"]}
                                   for i in range(5)]
    files.append({"path": f"/var/cache/node-{node}/state", "owner": True, "permissions": ["r", "w"]})
    return {"namespace": "varmor", "armorProfile": PROFILE, "nodeName": f"node-{node:04d}",
            "status": "succeeded", "message": "", "dynamicResult": {
                "apparmor": {"profiles": [PROFILE], "executions": ["/usr/bin/id"], "files": files},
                "seccomp": {"syscalls": ["read", "write", "unshare"]}}}


def _blast(url: str, bodies: list[dict[str, Any]] | None, count: int, token: str) -> tuple[list[float], int]:
    """``count`` requests over ``CLIENTS`` keep-alive sessions; latencies in ms and the non-200 count."""
    latencies: list[float] = []
    failures = [0]
    lock, cursor = threading.Lock(), iter(range(count))
    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            started = time.perf_counter()
            if bodies is None:
                answer = session.get(url, verify=False, timeout=60)
            else:
                answer = session.post(url, json=bodies[index], headers={"Token": token}, verify=False,
                                      timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                failures[0] += answer.status_code != 200
    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def _apis(kubeconfig: pathlib.Path) -> tuple[Any, Any]:
    configuration = client.Configuration()
    loader: Any = config
    loader.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = client.ApiClient(configuration)
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


def _phase(custom: Any) -> str:
    obj = custom.get_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies", "bench")
    return str((obj.get("status") or {}).get("phase") or "")


def _wait(probe: Any, timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s")


def _prepare(core: Any, custom: Any) -> str:
    core.create_namespace({"metadata": {"name": "varmor"}})
    core.create_namespaced_service_account("varmor", {"metadata": {"name": "varmor-agent"}})
    custom.create_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies", {
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy", "metadata": {"name": "bench"},
        "spec": {"target": {"kind": "Deployment", "name": "web"},
                 "policy": {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling",
                            "modelingOptions": {"duration": 1}}}})
    answer = core.create_namespaced_service_account_token(
        "varmor-agent", "varmor", {"spec": {"audiences": ["varmor-manager"]}})
    return str(answer.status.token)


def _measure(state: pathlib.Path, kubeconfig: pathlib.Path) -> str:
    core, custom = _apis(kubeconfig)
    token = _prepare(core, custom)
    port = _port()
    log = (state / "manager.log").open("wb")
    manager = subprocess.Popen(
        [sys.executable, "app.py", "--log-level", "WARNING", "manager", "--kubeconfig", str(kubeconfig),
         "--enableBehaviorModeling",
         "--cert-dir", str(state / "certs"), "--apm-dir", str(state / "apm"), "--host", "127.0.0.1",
         "--webhook-port", str(_port()), "--status-port", str(port), "--agents", str(NODES),
         "--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "POD_NAMESPACE": "varmor"})
    base = f"https://127.0.0.1:{port}"
    try:
        _wait(lambda: _healthy(base) or manager.poll() is not None, 90, 0.5)
        if manager.poll() is not None:
            raise RuntimeError(f"the manager exited: {(state / 'manager.log').read_text()[-2000:]}")
        _wait(lambda: _phase(custom) == "Pending", 60)
        profile = custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor", "armorprofiles",
                                                      PROFILE)
        created = time.mktime(time.strptime(profile["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        time.sleep(max(0.0, created - time.mktime(time.gmtime()) + 62))  # the window has closed
        health, _ = _blast(f"{base}/healthz", None, HEALTH_CHECKS, token)
        started = time.perf_counter()
        reports, failed = _blast(f"{base}/apis/v1/data", [_body(i) for i in range(NODES)], NODES, token)
        last = time.perf_counter()
        _wait(lambda: _phase(custom) == "Completed", 120)
        completed = time.perf_counter() - last
    finally:
        manager.terminate()
        manager.wait(timeout=30)
    return _section(health, reports, failed, last - started, completed)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", verify=False, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _section(health: list[float], reports: list[float], failed: int, seconds: float, completed: float) -> str:
    p99 = _pct(reports, 0.99)
    rows = [
        "| requests | count | p50 ms | p99 ms | max ms | × healthz p99 |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `GET /healthz` (baseline) | {len(health)} | {_pct(health, 0.5):.1f} | {_pct(health, 0.99):.1f} | "
        f"{max(health):.1f} | 1.00 |",
        f"| `POST /apis/v1/data` | {len(reports)} | {_pct(reports, 0.5):.1f} | {p99:.1f} | "
        f"{max(reports):.1f} | {p99 / _pct(health, 0.99):.2f} |",
    ]
    verdict = "met" if p99 <= 100 else "not met"
    done = "met" if completed <= 2 else "not met"
    return "\n".join([
        "## Status service: 1,000 nodes report one model each",
        "",
        f"Real manager on the local cluster, {CLIENTS} concurrent keep-alive TLS clients, TokenReview per "
        "token (cached), each report answered only after the model is stored (grouped per profile).",
        "",
        *rows,
        "",
        f"Accepted: {len(reports) - failed} of {len(reports)} ({len(reports) / seconds:.0f} reports/s). "
        f"p99 target ≤ 100 ms: {verdict}. `Completed` {completed:.2f} s after the last answer "
        f"(target ≤ 2 s: {done}). Load average during the run: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs (shared with the local cluster and the client).",
    ])


def main() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-status-") as directory:
        state = pathlib.Path(directory)
        subprocess.run([sys.executable, "app.py", "localcluster", "up", "--dir", str(state / "cluster"),
                        "--nodes", "1", "--node-simulator", "status-only", "--detach"],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
        try:
            return _measure(state, state / "cluster" / "kubeconfig")
        finally:
            down = [sys.executable, "app.py", "localcluster", "down", "--dir", str(state / "cluster")]
            subprocess.run(down, cwd=ROOT, check=False, capture_output=True, timeout=120)


if __name__ == "__main__":
    print(main())
