"""``localcluster up --detach`` serves kubectl, and ``down`` leaves nothing behind: no containerd,
shim or container process, no cgroup, mount, network namespace or bridge."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
from typing import Any

from tests.localcluster.support import Kube, eventually, running_pods

ROOT = pathlib.Path(__file__).resolve().parents[2]
MARKER = "sleep 86399"


def app(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "localcluster", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return proc.stdout.strip()


def up(state: pathlib.Path, *args: str) -> tuple[Kube, int]:
    """``localcluster up --detach`` in ``state``: a client of the cluster, and its process id."""
    kubeconfig = pathlib.Path(app("up", "--dir", str(state), *args, "--detach"))
    server = next(line.split()[-1] for line in kubeconfig.read_text().splitlines() if "server:" in line)
    return Kube(kubeconfig, server), int((state / "pid").read_text())


def marked_pod(name: str) -> dict[str, Any]:
    """A pod labelled ``app=p`` whose one container runs the ``MARKER`` command."""
    return {
        "metadata": {"name": name, "labels": {"app": "p"}},
        "spec": {"containers": [{"name": "c", "image": "debian", "command": ["/bin/sh", "-c", MARKER]}]},
    }


def marked_processes() -> list[int]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and MARKER.encode() in (entry / "cmdline").read_bytes().replace(
                b"\0", b" "
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_up_serves_kubectl_and_down_leaves_nothing_running(tmp_path: pathlib.Path) -> None:
    kube, pid = up(tmp_path, "--nodes", "2")
    try:
        kube.core.create_namespaced_pod("default", marked_pod("p"))
        pods = eventually(lambda: running_pods(kube, "default", "app=p", 1), timeout=120)
        container_id = pods[0].status.container_statuses[0].container_id.removeprefix("containerd://")
        uid = pods[0].metadata.uid
        bridge = _our_bridge(tmp_path)
        assert f"dev {bridge} " in _ip("route", "get", pods[0].status.pod_ip)
    finally:
        assert app("down", "--dir", str(tmp_path)) == "stopped"
    assert not os.path.exists(f"/proc/{pid}")
    assert not (tmp_path / "pid").exists()
    assert marked_processes() == []
    assert processes_mentioning(str(tmp_path).encode()) == []
    assert not list(pathlib.Path("/sys/fs/cgroup").glob(f"*/kubepods/*/pod{uid}"))
    assert not list(pathlib.Path("/sys/fs/cgroup").glob(f"*/kubepods/*/pod{uid}/{container_id}"))
    assert str(tmp_path) not in pathlib.Path("/proc/self/mountinfo").read_text()
    assert f"{bridge} " not in _ip("-br", "link")


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def _our_bridge(state: pathlib.Path) -> str:
    conf = json.loads(next((state / "containerd" / "net.d").glob("*.conflist")).read_text())
    return str(conf["plugins"][0]["bridge"])


def processes_mentioning(text: bytes) -> list[int]:
    """Pids whose command line names ``text`` (containerd, its shims, ...)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_killed_cluster_leaves_nothing_behind_either(tmp_path: pathlib.Path) -> None:
    kube, pid = up(tmp_path)
    kube.core.create_namespaced_pod("default", marked_pod("p"))
    uid = eventually(lambda: running_pods(kube, "default", "app=p", 1), timeout=120)[0].metadata.uid
    bridge = _our_bridge(tmp_path)
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: processes_mentioning(str(tmp_path).encode()) == [], timeout=60)
    assert marked_processes() == []
    assert not list(pathlib.Path("/sys/fs/cgroup").glob(f"*/kubepods/*/pod{uid}"))
    assert str(tmp_path) not in pathlib.Path("/proc/self/mountinfo").read_text()
    assert f"{bridge} " not in _ip("-br", "link")
    assert app("down", "--dir", str(tmp_path)) == f"no local cluster runs from {tmp_path}"


def test_down_stops_a_cluster_whose_containerd_no_longer_answers(tmp_path: pathlib.Path) -> None:
    """A hung containerd (here: stopped with SIGSTOP) costs the shutdown one call's deadline, not a
    minute per call: the cluster stops by itself within ``down``'s wait, and nothing is left."""
    kube, pid = up(tmp_path)
    for name in ("p", "q"):
        kube.core.create_namespaced_pod("default", marked_pod(name))
    eventually(lambda: running_pods(kube, "default", "app=p", 2), timeout=120)
    (containerd,) = processes_mentioning(str(tmp_path / "containerd" / "config.toml").encode())
    os.kill(containerd, signal.SIGSTOP)
    assert app("down", "--dir", str(tmp_path)) == "stopped"
    assert not os.path.exists(f"/proc/{pid}")
    log = (tmp_path / "localcluster.log").read_text()
    assert "containerd did not answer" in log
    assert "Stopped local cluster" in log, "the cluster was killed by down, not stopped by itself"
    eventually(lambda: processes_mentioning(str(tmp_path).encode()) == [], timeout=30)
    assert marked_processes() == []
    assert str(tmp_path) not in pathlib.Path("/proc/self/mountinfo").read_text()
