"""Helpers for the local cluster tests: kubectl and the ``kubernetes`` client against one cluster."""

from __future__ import annotations

import os
import pathlib
import pty
import select
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

T = TypeVar("T")


class Kube:
    """kubectl with the cluster's kubeconfig, plus typed clients on the same server."""

    def __init__(self, kubeconfig: pathlib.Path, url: str) -> None:
        self.kubeconfig = kubeconfig
        cfg = client.Configuration()
        cfg.host = url
        self.api = client.ApiClient(cfg)
        self.core: Any = client.CoreV1Api(self.api)
        self.apps: Any = client.AppsV1Api(self.api)
        self.custom: Any = client.CustomObjectsApi(self.api)
        self.coordination: Any = client.CoordinationV1Api(self.api)
        self.admission: Any = client.AdmissionregistrationV1Api(self.api)

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout if check else proc.stdout + proc.stderr

    def namespace(self, prefix: str = "t", labels: dict[str, str] | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        body: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {}}}
        self.core.create_namespace(body)
        return name


def eventually(probe: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met after {timeout}s (last value {last!r})")


def running_pods(kube: Kube, namespace: str, selector: str, count: int) -> list[Any] | None:
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    live = [p for p in pods if not getattr(p.metadata, "deletion_timestamp", None)]
    ready = [p for p in live if p.status and p.status.phase == "Running"]
    return ready if len(ready) == count and len(live) == count else None


def kubectl_on_tty(kube: Kube, *args: str, stdin: bytes = b"", timeout: float = 60.0) -> tuple[int, str]:
    """kubectl with a terminal on stdin/stdout/stderr (as a user types ``-it``); exit code and output."""
    master, slave = pty.openpty()
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig), "TERM": "dumb"}
    proc = subprocess.Popen(["kubectl", *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    if stdin:
        os.write(master, stdin)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    try:
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return code, out.decode(errors="replace").replace("\r\n", "\n")


def running_pod(kube: Kube, ns: str, name: str, timeout: float = 120) -> Any:
    """The pod once it is Running with every container ready (waits up to ``timeout``)."""
    return eventually(
        lambda: (
            (p := kube.core.read_namespaced_pod(name, ns)).status
            and p.status.phase == "Running"
            and all(c.ready for c in p.status.container_statuses or [])
            and p
        ),
        timeout=timeout,
    )
