"""``exec_in_container`` runs a command inside a running container, as ``runc exec`` does."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from localcluster.node import ContainerNotFound, NodeSimulator, exec_in_container
from localcluster.node.simulator import PROJECT_ROOT
from tests.localcluster.node.support import (
    cgroup_of,
    container_state,
    make_pod,
    namespaces,
    pids_in,
    sleeper,
    wait_for,
)


def test_an_exec_session_sits_in_the_container_cgroup_and_namespaces_seen_from_the_host(
    node: NodeSimulator, state_dir: Path
) -> None:
    pod = make_pod("web", [sleeper("app")])
    node.start_pod(pod)
    app = container_state(state_dir, pod["metadata"]["uid"], "app")
    scope = Path(app["cgroup"])
    codes: list[int] = []
    session = threading.Thread(
        target=lambda: codes.append(exec_in_container(state_dir, "default", "web", "app", ["sleep", "30"]))
    )
    session.start()
    joined = wait_for(lambda: [p for p in pids_in(scope) if p != app["pid"]])
    assert cgroup_of(joined[0]) == cgroup_of(app["pid"])
    assert namespaces(joined[0]) == namespaces(app["pid"])
    node.stop_pod(pod["metadata"]["uid"], grace_seconds=0.2)
    session.join(timeout=10)
    assert codes == [143]  # SIGTERM from the pod stop, as kubectl exec sessions see it


def test_an_exec_session_sees_the_container_from_inside(
    node: NodeSimulator, state_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pod = make_pod("web", [sleeper("app", workingDir="/tmp", env=[{"name": "COLOR", "value": "blue"}])])
    node.start_pod(pod)
    app = container_state(state_dir, pod["metadata"]["uid"], "app")
    script = ("cat /proc/self/cgroup | grep '^0::'; for n in mnt pid uts ipc; do readlink /proc/self/ns/$n; "
              "done; hostname; pwd; echo $COLOR; ps -o pid= -o args= -p 1")
    code = exec_in_container(state_dir, "default", "web", "app", ["sh", "-c", script])
    lines = capfd.readouterr().out.splitlines()
    assert code == 0
    theirs = namespaces(app["pid"])
    assert lines[0] == f"0::{cgroup_of(app['pid'])}"
    assert lines[1:5] == [theirs["mnt"], theirs["pid"], theirs["uts"], theirs["ipc"]]
    assert lines[5:8] == ["web", "/tmp", "blue"]
    assert lines[8].split() == ["1", "sleep", "300"]


def test_exec_returns_the_exit_code_of_the_command(node: NodeSimulator, state_dir: Path) -> None:
    node.start_pod(make_pod("web", [sleeper("app")]))
    assert exec_in_container(state_dir, "default", "web", "app", ["sh", "-c", "exit 7"]) == 7
    assert exec_in_container(state_dir, "default", "web", "app", ["no-such-command-here"]) == 127


def test_exec_works_from_another_process_through_the_state_files(
    node: NodeSimulator, state_dir: Path
) -> None:
    node.start_pod(make_pod("web", [sleeper("app")]))
    code = f"""
import sys, pathlib
from localcluster.node import exec_in_container
sys.exit(exec_in_container(pathlib.Path({str(state_dir.parent)!r}), "default", "web", "app", ["hostname"]))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout) == (0, "web\n")


def test_exec_into_a_container_that_does_not_run_raises_container_not_found(
    node: NodeSimulator, state_dir: Path
) -> None:
    node.start_pod(make_pod("web", [sleeper("app")]))
    with pytest.raises(ContainerNotFound):
        exec_in_container(state_dir, "default", "web", "nope", ["true"])
    with pytest.raises(ContainerNotFound):
        exec_in_container(state_dir, "default", "absent", "app", ["true"])
