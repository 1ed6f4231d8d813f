"""Helpers for driving the real ``python app.py manager`` against the local cluster."""

from __future__ import annotations

import base64
import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
from kubernetes.client.exceptions import ApiException

from localcluster import guide
from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.nodes import StatusOnlyNode
from tests.localcluster.support import Kube, eventually

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The guide's objects as `app.py demo` types them (one copy, in the product's guide).
GUIDE = {"demo-4-default.yaml": guide.DEFAULT_DEPLOYMENT, "demo-4-demo.yaml": guide.DEMO_DEPLOYMENT,
         "demo-4-vcpol.yaml": guide.POLICY}
PROFILE = "varmor-cluster-varmor-demo-4"
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_cluster(state: pathlib.Path, nodes: int = 2) -> Iterator[Kube]:
    thread = ClusterThread(Settings(state_dir=state, nodes=nodes, node_factory=StatusOnlyNode))
    thread.start()
    try:
        kube = Kube(write_kubeconfig(state / "kubeconfig", thread.cluster.url), thread.cluster.url)
        kube.core.create_namespace({"metadata": {"name": "varmor"}})
        kube.core.create_namespaced_service_account("varmor", {"metadata": {"name": "varmor-agent"}})
        yield kube
    finally:
        thread.stop()


class ManagerProcess:
    """One ``app.py manager`` replica with its own ports, certificates and model directory."""

    def __init__(self, kube: Kube, state: pathlib.Path, identity: str, extra: tuple[str, ...] = ()) -> None:
        self.kube, self.identity = kube, identity
        self.webhook_port, self.status_port = free_port(), free_port()
        self.cert_dir = state / identity / "certs"
        self.log = state / f"{identity}.log"
        env = {**os.environ, "POD_NAME": identity, "POD_NAMESPACE": "varmor"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "app.py", "manager", "--kubeconfig", str(kube.kubeconfig),
                 "--enableBehaviorModeling", "--cert-dir", str(self.cert_dir), "--apm-dir",
                 str(state / identity / "apm"), "--host", "127.0.0.1", "--webhook-port",
                 str(self.webhook_port), "--status-port", str(self.status_port), "--lease-duration", "4",
                 "--renew-deadline", "3", "--retry-period", "1", *extra],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.status_port}{path}"

    def serving_status(self) -> bool:
        try:
            return requests.get(self.url("/healthz"), verify=False, timeout=2).text == "ok"
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


MUTATING = "varmor-resource-mutating-webhook-cfg-debug"
VALIDATING = "varmor-policy-validating-webhook-cfg-debug"


def registered_webhooks(kube: Kube, manager: ManagerProcess) -> None:
    """The leader registered upstream's out-of-cluster (``-debug``) configurations: its URL and CA."""
    ca = base64.b64encode((manager.cert_dir / "ca.crt").read_bytes()).decode()
    def current() -> bool:
        try:
            mutating = kube.admission.read_mutating_webhook_configuration(MUTATING)
            validating = kube.admission.read_validating_webhook_configuration(VALIDATING)
        except ApiException:
            return False
        configs = [*mutating.webhooks, *validating.webhooks]
        base = f"https://127.0.0.1:{manager.webhook_port}/"
        return all(w.client_config.ca_bundle == ca and w.client_config.url.startswith(base) for w in configs)
    eventually(current, timeout=30)


@contextmanager
def running_manager(kube: Kube, state: pathlib.Path, pod: str = "manager-a",
                    tail: int = 6000) -> Iterator[ManagerProcess]:
    """One real manager whose pod exists (the leader labels it), serving and registered; its log's tail
    is printed when it stops."""
    kube.core.create_namespaced_pod("varmor", {
        "metadata": {"name": pod, "labels": {"app": "varmor-manager"}},
        "spec": {"containers": [{"name": "manager", "image": "varmor:dev"}]}})
    manager = ManagerProcess(kube, state, pod)
    try:
        eventually(manager.serving_status, timeout=60)
        registered_webhooks(kube, manager)
        yield manager
    finally:
        manager.stop()
        print(manager.log.read_text()[-tail:])


def agent_token(kube: Kube, audience: str = "varmor-manager", account: str = "varmor-agent") -> str:
    answer = kube.core.create_namespaced_service_account_token(
        account, "varmor", {"spec": {"audiences": [audience], "expirationSeconds": 86400}})
    return str(answer.status.token)


def report(manager: ManagerProcess, token: str, path: str, body: Any) -> requests.Response:
    return requests.post(manager.url(path), json=body, headers={"Token": token}, verify=False, timeout=30)


def status_body(node: str, profile: str = PROFILE, namespace: str = "varmor") -> dict[str, str]:
    return {"namespace": namespace, "armorProfile": profile, "nodeName": node, "status": "succeeded",
            "message": ""}


def data_body(node: str, executions: list[str], files: list[dict[str, Any]], syscalls: list[str],
              capabilities: list[str]) -> dict[str, Any]:
    return {**status_body(node), "dynamicResult": {
        "apparmor": {"profiles": [PROFILE], "executions": executions, "files": files,
                     "capabilities": capabilities},
        "seccomp": {"syscalls": syscalls}}}
