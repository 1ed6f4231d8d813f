"""Pod cgroups as kubelet's cgroupfs driver leaves them: kubelet removes what runc does not.

runc removes a container's own cgroup; the pod's (``/kubepods/<qos>/pod<uid>``) and the QoS
parents stay in every hierarchy until kubelet removes them. Other clusters may share the QoS
parents, so they are removed only when empty.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)
CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchies() -> list[Path]:
    try:
        return [p for p in CGROUP_ROOT.iterdir() if p.is_dir()] + [CGROUP_ROOT]
    except OSError:
        return []


def remove_pod(parent: str) -> None:
    """kubelet removes the pod cgroup it made (runc leaves the parent directories)."""
    for root in hierarchies():
        path = root / parent.lstrip("/")
        if path.is_dir():
            try:
                path.rmdir()
            except OSError as err:
                log.warning("Removing pod cgroup failed path=%s error=%s", path, err)


def remove_empty_qos() -> None:
    for root in hierarchies():
        for sub in ("kubepods/besteffort", "kubepods/burstable", "kubepods"):
            path = root / sub
            if path.is_dir():
                with contextlib.suppress(OSError):  # still used by another cluster's pods
                    path.rmdir()
