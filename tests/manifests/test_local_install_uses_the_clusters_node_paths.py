"""The local install (``localcluster up --install-varmor``) is the chart with this machine's node paths.

The chart is rendered with Helm's own SDK exactly as the install applies it; only containerd's socket
and the kubelet's seccomp root differ from a real node, and the user's ``--set`` strings win.
"""

from __future__ import annotations

import pathlib
from typing import Any

from localcluster import charts, installing
from localcluster.runtime import productimage


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    sets = [f"agent.containerdSocket={values['agent']['containerdSocket']}",
            f"agent.kubeletSeccompRoot={values['agent']['kubeletSeccompRoot']}",
            f"agent.stateDir={values['agent']['stateDir']}",
            f"agent.stateDirPerNode={str(values['agent']['stateDirPerNode']).lower()}",
            f"manager.replicas={values['manager']['replicas']}"]
    return charts.render(sets)


def _kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


def test_the_agent_finds_the_clusters_own_containerd_and_seccomp_root(tmp_path: pathlib.Path) -> None:
    values = installing.local_values(tmp_path)
    agent = _kind(_render(values), "DaemonSet")["spec"]["template"]["spec"]
    container = agent["containers"][0]
    socket = tmp_path / "containerd" / "ctd.sock"
    assert f"--containerdSocket={socket}" in container["args"]
    assert f"--seccompRoot={tmp_path / 'seccomp'}" in container["args"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    host = {v["name"]: v.get("hostPath", {}).get("path") for v in agent["volumes"]}
    assert mounts["containerd"] == host["containerd"] == str(socket.parent)
    assert mounts["seccomp-root"] == host["seccomp-root"] == str(tmp_path / "seccomp")
    assert host["state"] == str(tmp_path / "agents") and mounts["state"] == "/var/lib/varmor"
    assert "--stateDir=/var/lib/varmor/$(NODE_NAME)" in container["args"]  # one per node, kubelet expands it
    for path in ("/sys/fs/cgroup", "/sys/kernel/btf", "/lib/modules", "/usr/src"):
        assert path in mounts.values() and path in host.values()


def test_the_users_sets_win_over_the_local_values(tmp_path: pathlib.Path) -> None:
    user = charts.values_from_sets(["manager.replicas=2", "behaviorModeling.enabled=true"])
    values = charts.merged(installing.local_values(tmp_path), user)
    assert values["manager"]["replicas"] == 2 and values["behaviorModeling"]["enabled"] is True
    assert values["agent"]["containerdSocket"].endswith("ctd.sock")


def test_the_default_chart_runs_the_image_make_image_builds() -> None:
    objects = charts.render()
    images = {c["image"] for o in objects if o["kind"] in ("Deployment", "DaemonSet")
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert images == {productimage.image_name()} == {"docker.io/varmor/varmor-py:0.1.0"}


def _pod(app: str, node: str, ready: bool, **status: Any) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {"metadata": {"name": f"{app}-{node}", "labels": {"app": app}}, "spec": {"nodeName": node},
            "status": {"conditions": [condition], **status}}


def test_the_install_is_ready_only_with_the_manager_and_an_agent_on_every_node() -> None:
    nodes = ["node-1", "node-2"]
    manager = _pod(installing.MANAGER, "node-1", True)
    agents = [_pod(installing.AGENT, n, True) for n in nodes]
    assert installing.not_ready([manager, *agents], nodes, 1) == []
    assert installing.not_ready([manager, agents[0]], nodes, 1) == ["varmor-agent on node-2: not Ready"]
    assert installing.not_ready([*agents], nodes, 1) == ["varmor-manager: 0/1 Ready"]
    assert installing.not_ready([manager, *agents], nodes, 2) == ["varmor-manager: 1/2 Ready"]
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "x"}}
    crashing = _pod(installing.AGENT, "node-2", False, phase="Running",
                    containerStatuses=[{"name": "agent", "ready": False, "state": waiting}])
    assert installing.not_ready([manager, agents[0], crashing], nodes, 1) == [
        "varmor-agent on node-2: not Ready"]
    assert installing.describe(crashing) == "varmor-agent-node-2 (Running) agent CrashLoopBackOff: x"


def test_waiting_gives_up_with_what_is_not_ready() -> None:
    ticks = iter(range(0, 100, 50))
    pods = [_pod(installing.MANAGER, "node-1", False, phase="Pending")]
    try:
        installing.wait_ready(lambda: pods, ["node-1"], 1, timeout=10, clock=lambda: float(next(ticks)))
    except installing.InstallError as error:
        assert "varmor-manager: 0/1 Ready" in str(error) and "varmor-agent on node-1" in str(error)
        assert "varmor-manager-node-1 (Pending)" in str(error)
    else:
        raise AssertionError("wait_ready returned without Ready pods")


def test_the_image_is_keyed_by_its_inputs_and_runs_varmor() -> None:
    files = productimage.input_files()
    assert "app.py" in files and "requirements.txt" in files and "scripts/image-packages.txt" in files
    assert not any(f.startswith("tests/") for f in files)
    root = productimage.ROOT
    assert productimage.input_hash(root, files) == productimage.input_hash(root, list(files))
    assert productimage.input_hash(root, files) != productimage.input_hash(root, files[1:])
    config = productimage.oci_config("docker.io/varmor/varmor-py:0.1.0", "ab" * 32)
    assert config["config"]["Entrypoint"] == ["varmor"]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + "ab" * 32]
    assert "python3-bpfcc" in productimage.packages() and "apparmor" in productimage.packages()
