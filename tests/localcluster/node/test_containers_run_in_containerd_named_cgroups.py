"""Each container runs as a real process tree in its own containerd-named cgroup v2 scope."""

from __future__ import annotations

import os
import re
from pathlib import Path

from localcluster.node import NodeSimulator
from localcluster.node.cgroups import v2_root
from tests.localcluster.node.support import (
    cgroup_of,
    container_state,
    make_pod,
    namespaces,
    pids_in,
    sleeper,
    wait_for,
    wait_for_phase,
)


def test_each_container_runs_in_its_own_cri_containerd_scope_under_the_pod_slice(
    node: NodeSimulator,
) -> None:
    pod = make_pod("web", [sleeper("app"), {"name": "side", "command": ["sh", "-c", "sleep 300 & wait"]}])
    uid = pod["metadata"]["uid"]
    status = node.start_pod(pod)

    besteffort = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort"
    pod_slice = f"{besteffort}-pod{uid.replace('-', '_')}.slice"
    scopes = set()
    for entry in status["containerStatuses"]:
        cid = entry["containerID"].removeprefix("containerd://")
        scope = f"{pod_slice}/cri-containerd-{cid}.scope"
        pids = pids_in(Path(f"{v2_root()}{scope}"))
        assert pids
        assert all(cgroup_of(pid) == scope for pid in pids)
        scopes.add(scope)
    assert len(scopes) == 2
    side = next(s for s in status["containerStatuses"] if s["name"] == "side")
    side_scope = Path(f"{v2_root()}{pod_slice}/cri-containerd-{side['containerID'][13:]}.scope")
    assert wait_for(lambda: len(pids_in(side_scope)) == 2)  # sh and its background sleep


def test_the_container_id_in_the_status_names_the_scope_of_the_container_init(
    node: NodeSimulator, state_dir: Path
) -> None:
    pod = make_pod("web", [sleeper("app")])
    status = node.start_pod(pod)
    container_id = status["containerStatuses"][0]["containerID"]
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", container_id)
    init = container_state(state_dir, pod["metadata"]["uid"], "app")["pid"]
    assert cgroup_of(init).endswith(f"/cri-containerd-{container_id.removeprefix('containerd://')}.scope")


def test_a_pod_with_requests_and_limits_lands_in_its_qos_slice(node: NodeSimulator) -> None:
    burstable = make_pod("b", [sleeper("app", resources={"requests": {"cpu": "100m"}})])
    guaranteed = make_pod("g", [sleeper("app", resources={"limits": {"cpu": "1", "memory": "64Mi"}})])
    assert node.start_pod(burstable)["qosClass"] == "Burstable"
    assert node.start_pod(guaranteed)["qosClass"] == "Guaranteed"
    root = v2_root() / "kubepods.slice"
    b_uid = burstable["metadata"]["uid"].replace("-", "_")
    g_uid = guaranteed["metadata"]["uid"].replace("-", "_")
    assert (root / "kubepods-burstable.slice" / f"kubepods-burstable-pod{b_uid}.slice").is_dir()
    assert (root / f"kubepods-pod{g_uid}.slice").is_dir()


def test_containers_get_new_mount_pid_and_uts_namespaces_and_are_pid_1(
    node: NodeSimulator, state_dir: Path
) -> None:
    pod = make_pod("web", [sleeper("app")])
    node.start_pod(pod)
    init = container_state(state_dir, pod["metadata"]["uid"], "app")["pid"]
    theirs, ours = namespaces(init), namespaces("self")
    assert all(theirs[kind] != ours[kind] for kind in ("mnt", "pid", "uts", "ipc"))
    nspid = next(x for x in Path(f"/proc/{init}/status").read_text().splitlines() if x.startswith("NSpid"))
    assert nspid.split()[1:] == [str(init), "1"]


def test_the_command_runs_on_the_host_filesystem_with_its_working_dir_and_environment(
    node: NodeSimulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    script = "pwd > $(OUT); echo $GREETING $(WHO) >> $(OUT)"
    command = {"name": "job", "command": ["sh", "-c"], "args": [script],
               "workingDir": str(tmp_path),
               "env": [{"name": "OUT", "value": str(out)}, {"name": "GREETING", "value": "hello"},
                       {"name": "WHO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}
    pod = make_pod("greeter", [command], restartPolicy="Never")
    node.start_pod(pod)
    wait_for_phase(node, pod["metadata"]["uid"], ("Succeeded",))
    assert out.read_text().splitlines() == [str(tmp_path), "hello greeter"]
    assert os.path.exists(out)
