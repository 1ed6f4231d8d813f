"""cgroup v2 directories for pods and containers, named as the systemd cgroup driver names them.

``<v2 root>/kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice/
cri-containerd-<id>.scope``: one scope per container and one for the pod sandbox. The v2 mount
point is found in ``/proc/self/mountinfo`` (hybrid hosts mount it at ``/sys/fs/cgroup/unified``).
Naming is pure; the rest creates, signals, kills (``cgroup.kill``) and removes directories.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path, PurePosixPath

from localcluster.node.pods import QosClass

KUBEPODS = "kubepods.slice"


def v2_root_from_mountinfo(text: str) -> Path:
    """The mount point of the cgroup2 filesystem in a mountinfo text."""
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if sep and right.split(" ", 1)[0] == "cgroup2":
            point = left.split(" ")[4]
            return Path(point.encode().decode("unicode_escape"))
    raise FileNotFoundError("no cgroup2 filesystem is mounted (see /proc/self/mountinfo)")


def v2_root() -> Path:
    """The cgroup v2 mount point of this machine."""
    return v2_root_from_mountinfo(Path("/proc/self/mountinfo").read_text())


def pod_slice(qos: QosClass, uid: str) -> PurePosixPath:
    """The pod's slice, relative to the v2 root."""
    escaped = uid.replace("-", "_")
    if qos == "Guaranteed":
        return PurePosixPath(KUBEPODS, f"kubepods-pod{escaped}.slice")
    level = qos.lower()
    return PurePosixPath(KUBEPODS, f"kubepods-{level}.slice", f"kubepods-{level}-pod{escaped}.slice")


def scope_name(container_id: str) -> str:
    """The scope containerd creates for a container (or sandbox) id."""
    return f"cri-containerd-{container_id}.scope"


def procs(path: Path) -> list[int]:
    """Host pids in one cgroup (empty when the directory is gone)."""
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def signal_all(path: Path, signum: int) -> None:
    """Send ``signum`` to every process of the cgroup."""
    for pid in procs(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def kill(path: Path) -> None:
    """SIGKILL the whole cgroup at once (``cgroup.kill``, or process by process before 5.14)."""
    knob = path / "cgroup.kill"
    if knob.exists():
        knob.write_text("1")
    else:
        signal_all(path, signal.SIGKILL)


def wait_empty(paths: list[Path], deadline: float) -> bool:
    """Poll until no cgroup in ``paths`` holds a process, or ``time.monotonic()`` passes deadline."""
    while any(procs(p) for p in paths):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def remove(path: Path, timeout: float = 5.0) -> None:
    """rmdir a drained cgroup, retrying while the kernel still counts exiting tasks."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            kill(path)
            time.sleep(0.02)


def remove_empty_slices(root: Path) -> None:
    """Remove the QoS slices and ``kubepods.slice`` when no pod of any node uses them any more."""
    for path in [*(root / KUBEPODS).glob("kubepods-*.slice"), root / KUBEPODS]:
        if path.name.count("-pod") == 0:
            with contextlib.suppress(OSError):
                path.rmdir()
