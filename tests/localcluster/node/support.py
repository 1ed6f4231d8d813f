"""Helpers for the node simulator tests: Pod dicts with unique uids, /proc and cgroup-tree probes."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from localcluster.node import NodeSimulator
from localcluster.node.cgroups import v2_root

T = TypeVar("T")


def make_pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A Pod as the API server would hand it to the kubelet, with a unique uid."""
    for c in containers:
        c.setdefault("image", "busybox")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())},
        "spec": {"containers": containers, **spec},
    }


def sleeper(name: str, **extra: Any) -> dict[str, Any]:
    """A container that runs until it is stopped."""
    return {"name": name, "command": ["sleep", "300"], **extra}


def state(state_dir: Path, uid: str) -> dict[str, Any]:
    """The pod's state file."""
    data: dict[str, Any] = json.loads((state_dir / "pods" / uid / "pod.json").read_text())
    return data


def container_state(state_dir: Path, uid: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in state(state_dir, uid)["containers"] if c["name"] == name)
    return found


def cgroup_of(pid: int) -> str:
    """The v2 cgroup path of a process, relative to the v2 root."""
    line = next(x for x in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if x.startswith("0::"))
    return line[3:]


def namespaces(pid: int | str) -> dict[str, str]:
    return {kind: os.readlink(f"/proc/{pid}/ns/{kind}") for kind in ("mnt", "pid", "uts", "ipc")}


def pids_in(cgroup: Path) -> list[int]:
    return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]


def pids_under(fragment: str) -> list[int]:
    """Live processes whose v2 cgroup path contains ``fragment`` (e.g. a pod's slice name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "cgroup").read_text()
            except OSError:
                continue
            if any(line.startswith("0::") and fragment in line for line in text.splitlines()):
                found.append(int(entry.name))
    return found


def pod_slice_name(uid: str) -> str:
    return f"pod{uid.replace('-', '_')}.slice"


def cgroups_under(fragment: str) -> list[Path]:
    """cgroup directories anywhere under kubepods.slice whose name contains ``fragment``."""
    base = v2_root() / "kubepods.slice"
    return [p for p in base.rglob("*") if p.is_dir() and fragment in p.name] if base.exists() else []


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def wait_for_phase(node: NodeSimulator, uid: str, phases: tuple[str, ...]) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status = node.pod_status(uid)
        return status if status and status["phase"] in phases else None

    return wait_for(probe)
