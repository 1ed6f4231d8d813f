"""``kubectl port-forward`` reaches a pod's port through the API server, as kubectl 1.32 speaks it.

kubectl opens a WebSocket with ``SPDY/3.1+portforward.k8s.io`` and SPDY streams inside; nginx in a pod
answers HTTP requests made to the local port (several connections over one tunnel, a large response
intact), and a port nothing listens on gives kubectl kubelet's error.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.stream import portforward

from tests.localcluster.support import Kube, eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ns(kube: Kube) -> str:
    name = kube.namespace("pf")
    spec = {"containers": [{"name": "web", "image": "nginx", "readinessProbe": {"tcpSocket": {"port": 80}}}]}
    kube.core.create_namespaced_pod(name, {"metadata": {"name": "web"}, "spec": spec})
    eventually(lambda: kube.core.read_namespaced_pod("web", name).status.phase == "Running", 180)
    eventually(
        lambda: all(c.ready for c in kube.core.read_namespaced_pod("web", name).status.container_statuses), 60
    )
    return name


@pytest.fixture
def forward(kube: Kube, ns: str) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(remote: int, pod: str = "pod/web") -> tuple[int, subprocess.Popen[str]]:
        local = _free_port()
        env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
        proc = subprocess.Popen(
            ["kubectl", "port-forward", "-n", ns, pod, f"{local}:{remote}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"Forwarding from 127.0.0.1:{local} -> {remote}" in line, line
        return local, proc

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_port_forward_carries_http_requests_to_the_pod(kube: Kube, ns: str, forward: Any) -> None:
    local, _proc = forward(80)
    for _ in range(3):
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as answer:
            assert answer.status == 200
            assert b"Welcome to nginx" in answer.read()


def test_a_large_response_arrives_intact(kube: Kube, ns: str, forward: Any) -> None:
    script = "head -c 3000000 /dev/urandom > /var/www/html/big.bin && sha256sum /var/www/html/big.bin"
    want = kube.kubectl("exec", "-n", ns, "web", "-c", "web", "--", "sh", "-c", script).split()[0]
    local, _proc = forward(80)
    with urllib.request.urlopen(f"http://127.0.0.1:{local}/big.bin", timeout=30) as answer:
        body = answer.read()
    assert len(body) == 3000000
    assert hashlib.sha256(body).hexdigest() == want


def test_a_closed_port_reports_kubelets_error(kube: Kube, ns: str, forward: Any) -> None:
    local, proc = forward(81)
    with socket.create_connection(("127.0.0.1", local), timeout=10) as conn:
        conn.settimeout(10)
        assert conn.recv(1) == b""

    def stderr_line() -> str | None:
        line = proc.stderr.readline()
        return line if "error forwarding port 81" in line else None

    message = eventually(stderr_line, 20)
    assert re.search(r"dial tcp [0-9.]+:81: connect: connection refused", message), message


def test_the_kubernetes_clients_portforward_reaches_the_pod(kube: Kube, ns: str) -> None:
    forwarded = portforward(kube.core.connect_get_namespaced_pod_portforward, "web", ns, ports="80,81")
    conn = forwarded.socket(80)
    conn.setblocking(True)
    conn.sendall(b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    conn.close()
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"Welcome to nginx" in answer
    assert forwarded.error(80) is None
    assert "dial tcp" in str(forwarded.error(81)) and "connection refused" in str(forwarded.error(81))


def test_port_forward_reaches_a_server_on_the_pods_loopback(kube: Kube, ns: str, forward: Any) -> None:
    server = ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/etc"]
    spec = {"containers": [{"name": "c", "image": "python:3", "command": server}]}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "loopback"}, "spec": spec})
    pod = eventually(
        lambda: (p := kube.core.read_namespaced_pod("loopback", ns)).status.phase == "Running" and p, 300
    )
    with pytest.raises(OSError):
        socket.create_connection((pod.status.pod_ip, 8000), timeout=5).close()
    local, _proc = forward(8000, "loopback")
    body = eventually(lambda: _get(f"http://127.0.0.1:{local}/os-release"), 30)
    assert b"Debian GNU/Linux" in body


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bytes(answer.read())
    except OSError:
        return None
