"""The kubelet runs startup, readiness and liveness probes from the host into the pod, as kubelet does.

nginx serves HTTP in a pod: an ``httpGet`` readiness probe makes it Ready (READY ``1/1``) and a
probe on a missing path keeps it not ready with ``Unhealthy`` Events; ``tcpSocket`` and ``exec``
probes decide readiness the same way; a failing liveness probe restarts the container (RESTARTS
counts it, ``Killing`` is recorded); a startup probe holds readiness back until it passes; an HTTPS
probe on a named port ignores the self-signed certificate; Services route only to Ready pods.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from localcluster.cluster import ClusterThread
from tests.localcluster.support import Kube, eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")
SLEEP = ["/bin/sh", "-c", "sleep infinity"]


@pytest.fixture(scope="module")
def ns(kube: Kube) -> str:
    return kube.namespace("probe")


def _pod(kube: Kube, ns: str, name: str, container: dict[str, Any], grace: int = 30) -> None:
    spec = {"terminationGracePeriodSeconds": grace, "containers": [{"name": "c", **container}]}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": spec})


def _status(kube: Kube, ns: str, name: str) -> Any:
    return kube.core.read_namespaced_pod(name, ns).status


def _ready_condition(kube: Kube, ns: str, name: str) -> str:
    status = _status(kube, ns, name)
    return next((c.status for c in status.conditions or [] if c.type == "Ready"), "")


def _running_not_ready(kube: Kube, ns: str, name: str) -> bool:
    status = _status(kube, ns, name)
    running = bool(status.container_statuses) and status.container_statuses[0].state.running is not None
    return running and not status.container_statuses[0].ready and _ready_condition(kube, ns, name) == "False"


def _http(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": 80}, "periodSeconds": 1, "failureThreshold": 1}


def test_an_http_readiness_probe_decides_ready_and_the_ready_column(kube: Kube, ns: str) -> None:
    _pod(kube, ns, "web", {"image": "nginx", "readinessProbe": _http("/")})
    _pod(kube, ns, "web-bad", {"image": "nginx", "readinessProbe": _http("/missing")})
    eventually(lambda: _ready_condition(kube, ns, "web") == "True", 120)
    assert _status(kube, ns, "web").container_statuses[0].ready is True
    eventually(lambda: _running_not_ready(kube, ns, "web-bad"), 120)
    table = kube.kubectl("get", "pods", "-n", ns, "web", "web-bad", "--no-headers")
    ready = {line.split()[0]: line.split()[1] for line in table.splitlines()}
    assert ready == {"web": "1/1", "web-bad": "0/1"}

    def described() -> str | None:
        out = kube.kubectl("describe", "pod", "-n", ns, "web-bad")
        return out if "Readiness probe failed: HTTP probe failed with statuscode: 404" in out else None

    assert "Unhealthy" in eventually(described, 30)


def test_tcp_and_exec_probes_decide_readiness(kube: Kube, ns: str) -> None:
    tcp = {"tcpSocket": {"port": 80}, "periodSeconds": 1}
    _pod(kube, ns, "tcp", {"image": "nginx", "readinessProbe": tcp})
    closed = {"tcpSocket": {"port": 81}, "periodSeconds": 1, "failureThreshold": 1}
    _pod(kube, ns, "tcp-closed", {"image": "nginx", "readinessProbe": closed})
    marker = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    _pod(kube, ns, "exec", {"image": "debian:10", "command": SLEEP, "readinessProbe": marker}, grace=1)
    eventually(lambda: _ready_condition(kube, ns, "tcp") == "True", 120)
    eventually(lambda: _running_not_ready(kube, ns, "tcp-closed"), 60)
    eventually(lambda: _running_not_ready(kube, ns, "exec"), 60)
    kube.kubectl("exec", "-n", ns, "exec", "--", "touch", "/tmp/ready")
    eventually(lambda: _ready_condition(kube, ns, "exec") == "True", 20)


def test_a_failing_liveness_probe_restarts_the_container(kube: Kube, ns: str) -> None:
    live = {"exec": {"command": ["test", "!", "-e", "/tmp/sick"]}, "periodSeconds": 1, "failureThreshold": 2}
    _pod(kube, ns, "live", {"image": "debian:10", "command": SLEEP, "livenessProbe": live}, grace=1)
    eventually(lambda: _ready_condition(kube, ns, "live") == "True", 120)
    kube.kubectl("exec", "-n", ns, "live", "--", "touch", "/tmp/sick")
    eventually(lambda: _status(kube, ns, "live").container_statuses[0].restart_count >= 1, 60)
    eventually(lambda: _ready_condition(kube, ns, "live") == "True", 60)
    assert _status(kube, ns, "live").container_statuses[0].restart_count == 1  # the new instance is healthy
    events = kube.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=live")
    assert "Container c failed liveness probe, will be restarted" in events
    assert "Liveness probe failed" in events


def test_a_startup_probe_holds_readiness_until_it_passes(kube: Kube, ns: str) -> None:
    startup = {"exec": {"command": ["cat", "/tmp/up"]}, "periodSeconds": 1, "failureThreshold": 600}
    ready = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    container = {"image": "debian:10", "command": SLEEP, "startupProbe": startup, "readinessProbe": ready}
    _pod(kube, ns, "slow", container, grace=1)
    eventually(lambda: _running_not_ready(kube, ns, "slow"), 120)
    assert _status(kube, ns, "slow").container_statuses[0].started is False
    kube.kubectl("exec", "-n", ns, "slow", "--", "touch", "/tmp/up")
    eventually(lambda: _ready_condition(kube, ns, "slow") == "True", 20)
    assert _status(kube, ns, "slow").container_statuses[0].started is True


def test_a_service_routes_only_to_ready_pods(kube: Kube, ns: str, cluster: ClusterThread) -> None:
    for name, path in (("svc-ready", "/"), ("svc-unready", "/missing")):
        spec = {"containers": [{"name": "c", "image": "nginx", "readinessProbe": _http(path)}]}
        kube.core.create_namespaced_pod(
            ns, {"metadata": {"name": name, "labels": {"app": "svc"}}, "spec": spec}
        )
    ports = [{"port": 80, "targetPort": 80}]
    svc = kube.core.create_namespaced_service(
        ns, {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "svc"}, "ports": ports}}
    )
    eventually(lambda: _ready_condition(kube, ns, "svc-ready") == "True", 120)
    eventually(lambda: _running_not_ready(kube, ns, "svc-unready"), 60)
    ready_ip = _status(kube, ns, "svc-ready").pod_ip
    networking = cluster.cluster.networking
    assert networking is not None
    rules = [r for r in networking.rules() if r.cluster_ip == svc.spec.cluster_ip]
    assert [r.backends for r in rules] == [((ready_ip, 80),)]


def _self_signed() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem.decode()


HTTPS_SERVER = """
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthy" else 500)
        self.end_headers()
server = http.server.HTTPServer(("0.0.0.0", 8443), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/tls/tls.crt", "/tls/tls.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def test_an_https_probe_skips_certificate_checks_and_uses_named_ports(kube: Kube, ns: str) -> None:
    cert, key = _self_signed()
    kube.core.create_namespaced_secret(
        ns, {"metadata": {"name": "tls"}, "stringData": {"tls.crt": cert, "tls.key": key}}
    )
    for name, path in (("https-ok", "/healthy"), ("https-bad", "/sick")):
        probe = {
            "httpGet": {"path": path, "port": "webhook", "scheme": "HTTPS"},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
        container = {
            "image": "python:3",
            "command": ["python3", "-c", HTTPS_SERVER],
            "readinessProbe": probe,
            "ports": [{"name": "webhook", "containerPort": 8443}],
            "volumeMounts": [{"name": "tls", "mountPath": "/tls"}],
        }
        spec = {
            "terminationGracePeriodSeconds": 1,
            "volumes": [{"name": "tls", "secret": {"secretName": "tls"}}],
            "containers": [{"name": "c", **container}],
        }
        kube.core.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": spec})
    eventually(lambda: _ready_condition(kube, ns, "https-ok") == "True", 180)
    eventually(lambda: _running_not_ready(kube, ns, "https-bad"), 60)

    def described() -> str | None:
        out = kube.kubectl("describe", "pod", "-n", ns, "https-bad")
        return out if "Readiness probe failed: HTTP probe failed with statuscode: 500" in out else None

    assert "Unhealthy" in eventually(described, 30)
