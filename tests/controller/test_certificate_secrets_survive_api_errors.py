"""A transient API error is not "no certificates": the renewer must never mint a new CA because the
API server answered 500 once. The real ``kubernetes`` client talks to the local cluster through a
small proxy that answers 500 to reads of the CA Secret while told to."""

from __future__ import annotations

import datetime
import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from certs.authority import ServingNames
from certs.renewing import Renewer
from certs.rotating import ensure
from controller.certificates import SecretStore
from localcluster.cluster import ClusterThread, Settings

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor")
FAILURE = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"InternalError","code":500}'


class FaultyProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to ``upstream``; answers 500 to the next ``failures`` CA Secret reads."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = urllib.parse.urlsplit(upstream)
        self.failures = 0
        self.lock = threading.Lock()

    def should_fail(self, method: str, path: str) -> bool:
        with self.lock:
            if method == "GET" and path.endswith("varmor-tls-ca") and self.failures > 0:
                self.failures -= 1
                return True
            return False


class _Forward(http.server.BaseHTTPRequestHandler):
    server: FaultyProxy

    def _forward(self) -> None:
        if self.server.should_fail(self.command, self.path):
            self._answer(500, FAILURE)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(self.server.upstream.netloc)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        reply = upstream.getresponse()
        self._answer(reply.status, reply.read(), reply.getheader("Content-Type") or "application/json")
        upstream.close()

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, FaultyProxy]]:
    """(direct CoreV1Api, CoreV1Api through the proxy, the proxy)."""
    thread = ClusterThread(Settings(state_dir=tmp_path_factory.mktemp("secrets-cluster")))
    thread.start()
    proxy = FaultyProxy(thread.cluster.url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    direct, proxied = client.Configuration(), client.Configuration()
    direct.host, proxied.host = thread.cluster.url, f"http://127.0.0.1:{proxy.server_address[1]}"
    core: Any = client.CoreV1Api(client.ApiClient(direct))
    core.create_namespace({"metadata": {"name": "varmor"}})
    try:
        yield core, client.CoreV1Api(client.ApiClient(proxied)), proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.stop()


def _stored_ca(core: Any) -> str:
    secret = core.read_namespaced_secret("varmor-webhook-svc.varmor.varmor-tls-ca", "varmor")
    return str(secret.data["rootCA.crt"])


def test_a_500_while_reading_the_ca_fails_the_check_and_keeps_the_ca(
    apis: tuple[Any, Any, FaultyProxy],
) -> None:
    core, proxied, proxy = apis
    ensure(SecretStore(core, "varmor"), NAMES, NOW)
    before = _stored_ca(core)
    proxy.failures = 1
    with pytest.raises(ApiException) as raised:
        ensure(SecretStore(proxied, "varmor"), NAMES, NOW)
    assert raised.value.status == 500
    assert _stored_ca(core) == before


def test_the_renewer_retries_through_transient_500s_and_reuses_the_ca(
    apis: tuple[Any, Any, FaultyProxy],
) -> None:
    core, proxied, proxy = apis
    ensure(SecretStore(core, "varmor"), NAMES, NOW)
    before = _stored_ca(core)
    proxy.failures = 3
    renewer = Renewer(SecretStore(proxied, "varmor"), NAMES, lambda: None,
                      interval=datetime.timedelta(minutes=5), retry_min=datetime.timedelta(milliseconds=20))
    assert renewer.check_with_retries() is False  # nothing to renew once the API answers
    assert proxy.failures == 0
    assert _stored_ca(core) == before
