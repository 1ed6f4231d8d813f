"""Where a container's processes are: its cgroup v2 directory, asked of containerd through CRI.

The agent never guesses a cgroup path from names: it asks containerd's CRI service for the
container's status (``verbose``), takes the init process's pid from the runtime's info and reads
that process's cgroup v2 membership from ``/proc`` (the agent runs with ``hostPID``); when the pid
is gone it falls back to the OCI spec's ``linux.cgroupsPath`` (cgroupfs driver form). Results are
cached per container id: a container's cgroup does not change while it lives.
"""

from __future__ import annotations

import json
import logging
import pathlib
from typing import Any

from cri import runtime_pb2 as pb
from cri.client import CriClient, CriError

log = logging.getLogger(__name__)


def cgroup_from_proc(pid: int, cgroup_root: pathlib.Path,
                     proc: pathlib.Path = pathlib.Path("/proc")) -> str | None:
    """The cgroup v2 directory of ``pid`` (the ``0::`` line of /proc/PID/cgroup) under ``cgroup_root``."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            path = cgroup_root / line[3:].lstrip("/")
            return str(path) if path.is_dir() else None
    return None


def cgroup_from_info(info: dict[str, Any], cgroup_root: pathlib.Path) -> str | None:
    """From CRI's verbose info: the pid's cgroup, else the OCI spec's cgroupfs path."""
    pid = info.get("pid")
    if isinstance(pid, int) and pid > 0 and (found := cgroup_from_proc(pid, cgroup_root)):
        return found
    spec_path = ((info.get("runtimeSpec") or {}).get("linux") or {}).get("cgroupsPath", "")
    if isinstance(spec_path, str) and spec_path.startswith("/"):
        path = cgroup_root / spec_path.lstrip("/")
        return str(path) if path.is_dir() else None
    return None


class CriRuntime:
    """The agent's view of the node's containerd."""

    def __init__(self, socket: pathlib.Path, cgroup_root: pathlib.Path, timeout: float = 5.0) -> None:
        self.client = CriClient(socket, timeout=timeout)
        self.cgroup_root = cgroup_root
        self._cache: dict[str, str] = {}

    def version(self) -> str:
        answer = self.client.call("Version", pb.VersionRequest(version="v1"))
        return f"{answer.runtime_name}://{answer.runtime_version}"

    def cgroup_of(self, container_id: str) -> str | None:
        if container_id in self._cache:
            return self._cache[container_id]
        try:
            status = self.client.call("ContainerStatus", pb.ContainerStatusRequest(container_id=container_id,
                                                                                  verbose=True))
        except CriError as error:
            log.warning("Container not found in containerd container=%s error=%s", container_id,
                        error.message)
            return None
        try:
            info = json.loads(status.info.get("info", "{}"))
        except ValueError:
            info = {}
        found = cgroup_from_info(info, self.cgroup_root)
        if found is not None:
            self._cache[container_id] = found
        return found

    def forget(self, live: set[str]) -> None:
        for container_id in [c for c in self._cache if c not in live]:
            del self._cache[container_id]

    def close(self) -> None:
        self.client.close()
