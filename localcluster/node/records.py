"""The node's state files: what survives the simulator process, and what other processes read.

``<state_dir>/pods/<uid>/pod.json`` holds a ``PodRecord`` (the pod's cgroup slice, its sandbox and
one ``ContainerRecord`` per container: container id, host pid of its init, cgroup path, seccomp and
AppArmor profiles, command and environment for exec sessions). Each container's shim writes
``<id>.exit.json`` (an ``ExitRecord``) when the init exits, and ``<id>.launch.json`` is the
``LaunchSpec`` a shim starts from. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict


class LaunchSpec(TypedDict):
    """What the shim (``running``) needs to start one container or the pod sandbox."""

    kind: Literal["container", "sandbox"]
    cgroup: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str
    hostname: str
    join_pid: str | None  # /proc/<sandbox pid>/ns/pid when the pod shares one pid namespace
    join_uts: str | None  # /proc/<sandbox pid>/ns/uts, shared by the pod's containers
    join_ipc: str | None
    seccomp_file: str | None
    log: str
    exit_file: str


class ExitRecord(TypedDict):
    """How a container's init ended, written by its shim."""

    exitCode: int
    signal: int
    reason: str
    finishedAt: str


class ContainerRecord(TypedDict):
    """One container of a pod, as started."""

    name: str
    image: str
    id: str
    pid: int  # host pid of the container's init; 0 when it never started
    shim_pid: int
    cgroup: str
    seccomp: str | None
    seccomp_file: str | None
    apparmor: str | None
    argv: list[str]
    env: dict[str, str]
    working_dir: str
    startedAt: str
    restartCount: int
    log: str
    error: NotRequired[dict[str, Any]]  # {"reason", "message"[, "exitCode"]} when it did not start


class PodRecord(TypedDict):
    """One pod on this node."""

    uid: str
    namespace: str
    name: str
    node: str
    qos: str
    restartPolicy: str
    slice: str
    hostIP: str
    startTime: str
    sandbox: ContainerRecord
    containers: list[ContainerRecord]


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def pods_dir(state_dir: Path) -> Path:
    return state_dir / "pods"


def pod_dir(state_dir: Path, uid: str) -> Path:
    return pods_dir(state_dir) / uid


def load_pod(state_dir: Path, uid: str) -> PodRecord | None:
    """The pod's record, or None when this node does not run it."""
    try:
        data: PodRecord = json.loads((pod_dir(state_dir, uid) / "pod.json").read_text())
    except FileNotFoundError:
        return None
    return data


def save_pod(state_dir: Path, record: PodRecord) -> None:
    write_json(pod_dir(state_dir, record["uid"]) / "pod.json", record)


def load_exit(state_dir: Path, uid: str, container_id: str) -> ExitRecord | None:
    """The container's exit record, or None while it runs."""
    try:
        data: ExitRecord = json.loads((pod_dir(state_dir, uid) / f"{container_id}.exit.json").read_text())
    except FileNotFoundError:
        return None
    return data


def uids(state_dir: Path) -> list[str]:
    """Every pod uid with a record under ``state_dir``."""
    return sorted(p.parent.name for p in pods_dir(state_dir).glob("*/pod.json"))


def find_pod(state_dir: Path, namespace: str, name: str) -> PodRecord | None:
    """Find a pod by namespace and name under a node's state dir or any directory above several."""
    for path in sorted(state_dir.rglob("pod.json")):
        try:
            data: PodRecord = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("namespace") == namespace and data.get("name") == name:
            return data
    return None
