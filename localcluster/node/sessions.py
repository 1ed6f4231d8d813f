"""Exec sessions, caller side: find a running container and run a command in it like ``kubectl exec``.

``exec_in_container`` is called by the ``localcluster exec`` CLI in any process. It finds the container
in the node's state files (``records``), checks that its init still runs in its cgroup, and starts the
helper ``python -m localcluster.node.entering <session.json>`` with the caller's stdin/stdout/stderr;
the helper joins the container the way ``runc exec`` does. The exit code comes back unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TypedDict

from localcluster.node import records

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ContainerNotFound(LookupError):
    """No running container with that namespace, pod and container name."""


class Session(TypedDict):
    """What the helper needs: the container's init, cgroup and process settings, and the command."""

    pid: int
    cgroup: str
    env: dict[str, str]
    working_dir: str
    seccomp_file: str | None
    argv: list[str]


def exec_in_container(state_dir: Path, namespace: str, pod: str, container: str, argv: list[str]) -> int:
    """Run ``argv`` in the container with inherited stdio; return its exit code."""
    session = _session(Path(state_dir), namespace, pod, container, argv)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="exec-") as spec:
        json.dump(session, spec)
        spec.flush()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(PROJECT_ROOT)}
        return subprocess.run(
            [sys.executable, "-m", "localcluster.node.entering", spec.name],
            env=env,
            cwd=PROJECT_ROOT,
            check=False,
        ).returncode


def _session(state_dir: Path, namespace: str, pod: str, container: str, argv: list[str]) -> Session:
    record = records.find_pod(state_dir, namespace, pod)
    if record is None:
        raise ContainerNotFound(f'pods "{pod}" not found in namespace "{namespace}"')
    found = [c for c in record["containers"] if c["name"] == container]
    if not found or not found[0]["pid"]:
        raise ContainerNotFound(f"container {container} is not valid for pod {pod}")
    rec = found[0]
    if not _in_cgroup(rec["pid"], rec["cgroup"]):
        raise ContainerNotFound(f"container {container} in pod {pod} is not running")
    return Session(
        pid=rec["pid"],
        cgroup=rec["cgroup"],
        env=rec["env"],
        working_dir=rec["working_dir"],
        seccomp_file=rec["seccomp_file"],
        argv=list(argv),
    )


def _in_cgroup(pid: int, cgroup: str) -> bool:
    """Whether ``pid`` is alive in the container's cgroup (guards against pid reuse)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return False
    return any(line.startswith("0::") and cgroup.endswith(line[3:]) and line[3:] != "/" for line in lines)
