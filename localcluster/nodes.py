"""The port to a node's container runtime, and a status-only stand-in for unit tests.

``NodePort`` is what the kubelet loop drives. ``containerd`` nodes (``localcluster.node.crinode``)
run pods through CRI on the cluster's own containerd, as kubelet does; ``process`` nodes
(``localcluster.node.NodeSimulator``) run containers as host processes in namespaces (kept as the
benchmark baseline); ``StatusOnlyNode`` runs nothing and reports every container Running, for
non-root unit tests. ``simulator_factory`` picks one; ``auto`` means containerd when it can run.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import logging
import os
import pathlib
import shutil
import uuid
from collections.abc import Callable
from typing import Any, Protocol, cast

log = logging.getLogger(__name__)


class NodePort(Protocol):
    def start_pod(self, pod: dict[str, Any]) -> dict[str, Any]: ...

    def pod_status(self, uid: str) -> dict[str, Any] | None: ...

    def stop_pod(self, uid: str, grace_seconds: float = 2.0) -> None: ...

    def shutdown(self) -> None: ...


NodeFactory = Callable[[str, pathlib.Path, pathlib.Path], NodePort]


def _image_id(image: str) -> str:
    return f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def running_status(
    pod: dict[str, Any], host_ip: str = "127.0.0.1", pod_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """A Running/Ready pod status with one running containerd container per container (pure)."""
    t = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    containers = pod.get("spec", {}).get("containers") or []
    return {
        "phase": "Running",
        "hostIP": host_ip,
        "podIP": pod_ip,
        "startTime": t,
        "conditions": [
            {"type": c, "status": "True", "lastTransitionTime": t}
            for c in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "ready": True,
                "started": True,
                "restartCount": 0,
                "imageID": _image_id(c.get("image", "")),
                "containerID": f"containerd://{uuid.uuid4().hex}{uuid.uuid4().hex}",
                "state": {"running": {"startedAt": t}},
            }
            for c in containers
        ],
    }


class StatusOnlyNode:
    """Reports pods Running without running anything (used when ``localcluster.node`` is absent)."""

    def __init__(self, node_name: str, state_dir: pathlib.Path, seccomp_dir: pathlib.Path) -> None:
        self.node_name = node_name
        self._pods: dict[str, dict[str, Any]] = {}

    def start_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        status = running_status(pod)
        self._pods[pod["metadata"]["uid"]] = status
        return status

    def pod_status(self, uid: str) -> dict[str, Any] | None:
        return self._pods.get(uid)

    def stop_pod(self, uid: str, grace_seconds: float = 2.0) -> None:
        self._pods.pop(uid, None)

    def shutdown(self) -> None:
        self._pods.clear()


def simulator_factory(kind: str = "auto") -> NodeFactory:
    """``containerd``, ``process``, ``status-only``, or ``auto`` (containerd as root when installed)."""
    if kind == "status-only":
        return StatusOnlyNode
    if kind == "containerd" or (kind == "auto" and os.geteuid() == 0 and shutil.which("containerd")):
        from localcluster.node.criruntime import ContainerdRuntime

        return ContainerdRuntime()
    try:
        module = importlib.import_module("localcluster.node")
    except ImportError:
        if kind == "process":
            raise
        log.warning("Node simulator not installed; pods will only be reported Running (status-only nodes)")
        return StatusOnlyNode
    return cast(NodeFactory, module.NodeSimulator)
