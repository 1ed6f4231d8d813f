"""The product's own processes on the local cluster, for ``bench_agent``.

A one-node local cluster whose pods run on its containerd, the real manager (``app.py manager``,
restartable on the same ports and certificates, so that the agent's status-service URL stays
valid) and the real agent (``app.py agent``) of that node, started as a user starts them out of
cluster. Also what the benchmark reads of them: the RSS of a process and its descendants (the
agent and its tracer child) from ``/proc``, and the agent's log lines with their timestamps.
"""

from __future__ import annotations

import base64
import datetime
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import urllib3
from kubernetes import client

from localcluster.admission import ENDPOINT_ANNOTATION
from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.nodes import simulator_factory
from webhook.registrations import mutating_configuration, validating_configuration

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODE = "node-1"
T = TypeVar("T")
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(probe: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise RuntimeError(f"condition not met after {timeout}s (last value {last!r})")


@dataclass(frozen=True)
class Memory:
    """One process's memory in bytes: resident, of which anonymous (private heap), and proportional."""

    rss: int
    anon: int
    pss: int


def _kib(text: str, key: str) -> int:
    return next((int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith(key)), 0)


def tree_memory(pid: int) -> dict[int, Memory]:
    """The memory of ``pid`` and each of its descendants (``/proc/PID/task/*/children``)."""
    found: dict[int, Memory] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = pathlib.Path(f"/proc/{current}/status").read_text()
            rollup = pathlib.Path(f"/proc/{current}/smaps_rollup").read_text()
        except OSError:
            continue
        found[current] = Memory(_kib(status, "VmRSS:"), _kib(status, "RssAnon:"), _kib(rollup, "Pss:"))
        for task in pathlib.Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def accepting(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}")
LOGS = pathlib.Path(tempfile.gettempdir()) / "varmor-bench-agent-logs"  # the last run's logs, kept


def log_time(line: str) -> float | None:
    """Epoch seconds of an ``app.py`` log line (``2026-12-01 20:47:00,123 I name: ...``)."""
    found = STAMP.findall(line)
    if not found:
        return None
    stamp = datetime.datetime.strptime(found[-1], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()  # app.py logs local time, as this naive datetime is read


@dataclass
class Kube:
    kubeconfig: pathlib.Path
    core: Any
    apps: Any
    custom: Any
    admission: Any


class Manager:
    """``app.py manager`` with fixed ports, certificates and model directory: restartable."""

    def __init__(self, kube: Kube, state: pathlib.Path, identity: str = "manager-a") -> None:
        self.kube, self.identity = kube, identity
        self.webhook_port, self.status_port = free_port(), free_port()
        self.cert_dir = state / identity / "certs"
        self.log = state / f"{identity}.log"
        self.argv = [sys.executable, "app.py", "manager", "--kubeconfig", str(kube.kubeconfig),
                     "--enableBehaviorModeling", "--cert-dir", str(self.cert_dir), "--apm-dir",
                     str(state / identity / "apm"), "--host", "127.0.0.1", "--webhook-port",
                     str(self.webhook_port), "--status-port", str(self.status_port), "--lease-duration", "4",
                     "--renew-deadline", "3", "--retry-period", "1", "--address", "127.0.0.1"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "POD_NAME": self.identity, "POD_NAMESPACE": "varmor"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.status_port}{path}"

    def serving(self) -> bool:
        try:
            return requests.get(self.url("/healthz"), verify=False, timeout=2).text == "ok"
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Agent:
    """``app.py agent`` for the node, out of cluster, on the local cluster's containerd."""

    def __init__(self, kube: Kube, state: pathlib.Path, status_url: str, token: pathlib.Path) -> None:
        self.state = state / "agent"
        self.readiness = free_port()
        self.argv = [sys.executable, "app.py", "agent", "--kubeconfig", str(kube.kubeconfig),
                     "--nodeName", NODE, "--namespace", "varmor", "--enableBehaviorModeling",
                     "--containerdSocket", str(state / "containerd" / "ctd.sock"),
                     "--seccompRoot", str(state / "seccomp"), "--apparmorDir", str(self.state),
                     "--stateDir", str(self.state), "--statusService", status_url,
                     "--tokenPath", str(token), "--readinessPort", str(self.readiness)]
        self.log = state / "agent.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        eventually(self.ready, timeout=120, interval=0.5)

    def ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.readiness}/health/readiness"
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def lines(self, needle: str) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if needle in line]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def register_webhooks(kube: Kube, manager: Manager) -> None:
    """What the chart installs: the webhook Service (mapped to the manager's port) and both configurations."""
    eventually(lambda: (manager.cert_dir / "ca.crt").exists(), timeout=60)
    kube.core.create_namespaced_service("varmor", {
        "metadata": {"name": "varmor-webhook-svc",
                     "annotations": {ENDPOINT_ANNOTATION: f"127.0.0.1:{manager.webhook_port}"}},
        "spec": {"ports": [{"port": 443}]}})
    ca = base64.b64encode((manager.cert_dir / "ca.crt").read_bytes()).decode()
    kube.admission.create_mutating_webhook_configuration(mutating_configuration(ca))
    kube.admission.create_validating_webhook_configuration(validating_configuration(ca))


def agent_token(kube: Kube) -> str:
    answer = kube.core.create_namespaced_service_account_token(
        "varmor-agent", "varmor", {"spec": {"audiences": ["varmor-manager"], "expirationSeconds": 86400}})
    return str(answer.status.token)


@dataclass
class World:
    kube: Kube
    manager: Manager
    agent: Agent
    state: pathlib.Path


@contextmanager
def world(state: pathlib.Path) -> Iterator[World]:
    """The cluster (one containerd node), the manager and the node's agent; all stopped at exit."""
    thread = ClusterThread(Settings(state_dir=state, nodes=1, node_factory=simulator_factory("containerd")))
    thread.start(timeout=120)
    manager: Manager | None = None
    agent: Agent | None = None
    try:
        cfg = client.Configuration()
        cfg.host = thread.cluster.url
        api = client.ApiClient(cfg)
        kube = Kube(write_kubeconfig(state / "kubeconfig", thread.cluster.url), client.CoreV1Api(api),
                    client.AppsV1Api(api), client.CustomObjectsApi(api),
                    client.AdmissionregistrationV1Api(api))
        kube.core.create_namespace({"metadata": {"name": "varmor"}})
        kube.core.create_namespaced_service_account("varmor", {"metadata": {"name": "varmor-agent"}})
        kube.core.create_namespaced_pod("varmor", {  # the pod the leader labels
            "metadata": {"name": "manager-a", "labels": {"app": "varmor-manager"}},
            "spec": {"nodeName": "none", "containers": [{"name": "manager", "image": "varmor:dev"}]}})
        manager = Manager(kube, state)
        manager.start()
        eventually(manager.serving, timeout=120, interval=0.5)
        register_webhooks(kube, manager)
        token = state / "bound-token"
        token.write_text(agent_token(kube))
        agent = Agent(kube, state, f"https://127.0.0.1:{manager.status_port}", token)
        agent.start()
        yield World(kube, manager, agent, state)
    finally:
        if agent is not None:
            agent.stop()
        if manager is not None:
            manager.stop()
        thread.stop(timeout=300)
        LOGS.mkdir(exist_ok=True)
        for log in state.glob("*.log"):
            shutil.copy(log, LOGS / log.name)
