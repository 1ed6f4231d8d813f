"""``localcluster up --detach`` serves kubectl, and ``down`` leaves no process or cgroup behind."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

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
    kubeconfig = pathlib.Path(app("up", "--dir", str(tmp_path), "--nodes", "2", "--detach"))
    pid = int((tmp_path / "pid").read_text())
    server = next(line.split()[-1] for line in kubeconfig.read_text().splitlines() if "server:" in line)
    kube = Kube(kubeconfig, server)
    try:
        pod = {
            "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "debian", "command": ["/bin/sh", "-c", MARKER]}]},
        }
        kube.core.create_namespaced_pod("default", pod)
        pods = eventually(lambda: running_pods(kube, "default", "app=p", 1))
        container_id = pods[0].status.container_statuses[0].container_id.removeprefix("containerd://")
    finally:
        assert app("down", "--dir", str(tmp_path)) == "stopped"
    assert not os.path.exists(f"/proc/{pid}")
    assert not (tmp_path / "pid").exists()
    assert marked_processes() == []
    assert not list(pathlib.Path("/sys/fs/cgroup").rglob(f"*{container_id}*"))
