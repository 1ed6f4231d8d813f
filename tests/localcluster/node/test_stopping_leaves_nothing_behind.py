"""Stopping a pod or shutting the node down leaves no process, cgroup or state file behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from localcluster.node import NodeSimulator, exec_in_container
from localcluster.node.cgroups import v2_root
from tests.localcluster.node.support import (
    cgroups_under,
    make_pod,
    pids_under,
    pod_slice_name,
    sleeper,
    state,
    wait_for,
)


def shim_pids(state_dir: Path, uid: str) -> list[int]:
    record = state(state_dir, uid)
    return [c["shim_pid"] for c in [*record["containers"], record["sandbox"]]]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (zombies of our own children count as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def test_stopping_a_pod_kills_its_processes_and_exec_sessions_and_removes_its_cgroups(
    node: NodeSimulator, state_dir: Path
) -> None:
    forker = {"name": "forker", "command": ["sh", "-c", "sleep 300 & sleep 300 & wait"]}
    pod = make_pod("web", [sleeper("app"), forker])
    uid = pod["metadata"]["uid"]
    node.start_pod(pod)
    argv = ["sleep", "60"]
    session = threading.Thread(target=exec_in_container, args=(state_dir, "default", "web", "app", argv))
    session.start()
    slice_name = pod_slice_name(uid)
    wait_for(lambda: len(pids_under(slice_name)) >= 6)  # pause, app, sh + 2 sleeps, exec'd sleep
    shims = shim_pids(state_dir, uid)

    node.stop_pod(uid, grace_seconds=0.5)
    session.join(timeout=10)

    assert pids_under(slice_name) == []
    assert cgroups_under(slice_name) == []
    assert not any(alive(pid) for pid in shims)
    assert not (state_dir / "pods" / uid).exists()
    assert node.pod_status(uid) is None


def test_stopping_sends_sigterm_before_the_grace_period_ends(node: NodeSimulator, tmp_path: Path) -> None:
    marker, ready = tmp_path / "terminated", tmp_path / "ready"
    polite = {"name": "polite", "command": ["sh", "-c", f"trap 'echo bye > {marker}; exit 0' TERM; "
                                            f"touch {ready}; while :; do sleep 0.1; done"]}
    pod = make_pod("web", [polite])
    node.start_pod(pod)
    deadline = time.monotonic() + 30  # a pid 1 without its handler yet would ignore SIGTERM
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    node.stop_pod(pod["metadata"]["uid"], grace_seconds=30)
    assert marker.read_text() == "bye\n"


def test_stopping_an_unknown_pod_does_nothing(node: NodeSimulator) -> None:
    node.stop_pod("00000000-0000-0000-0000-000000000000")


def test_shutdown_stops_every_pod_of_the_node_and_removes_the_kubepods_slices(
    node: NodeSimulator, state_dir: Path
) -> None:
    pods = [make_pod(f"web-{i}", [sleeper("app"), sleeper("side")]) for i in range(3)]
    pods.append(make_pod("guaranteed", [sleeper("app", resources={"limits": {"cpu": "1", "memory": "1Gi"}})]))
    for pod in pods:
        node.start_pod(pod)
    uids = [p["metadata"]["uid"] for p in pods]
    shims = [pid for uid in uids for pid in shim_pids(state_dir, uid)]

    node.shutdown(grace_seconds=0.2)

    for uid in uids:
        assert pids_under(pod_slice_name(uid)) == []
        assert cgroups_under(pod_slice_name(uid)) == []
    assert not any(alive(pid) for pid in shims)
    assert list((state_dir / "pods").iterdir()) == []
    assert not (v2_root() / "kubepods.slice").exists() or any(
        p.name.count("-pod") for p in (v2_root() / "kubepods.slice").rglob("*.slice")
    )  # removed, unless another node of a parallel test still runs pods


def test_a_container_that_exits_leaves_no_zombie_shim_after_a_status_poll(
    node: NodeSimulator, state_dir: Path
) -> None:
    pod = make_pod("job", [{"name": "once", "command": ["true"]}], restartPolicy="Never")
    uid = pod["metadata"]["uid"]
    node.start_pod(pod)
    shim = state(state_dir, uid)["containers"][0]["shim_pid"]
    wait_for(lambda: (s := node.pod_status(uid)) and s["phase"] == "Succeeded")
    wait_for(lambda: node.pod_status(uid) and not Path(f"/proc/{shim}").exists())
