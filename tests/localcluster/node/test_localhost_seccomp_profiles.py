"""Localhost seccomp profiles from the node's seccomp directory confine containers and exec sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyseccomp

from localcluster.node import NodeSimulator, exec_in_container
from tests.localcluster.node.support import container_state, make_pod, sleeper, wait_for_phase


def every_syscall_but(*omitted: str) -> dict[str, Any]:
    """An allow-list profile (default EPERM) naming every syscall libseccomp knows but ``omitted``."""
    arch = pyseccomp.system_arch()
    names = set()
    for number in range(0, 500):
        try:
            names.add(pyseccomp.resolve_syscall(arch, number).decode())
        except (OSError, ValueError):
            continue
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": sorted(names - set(omitted)), "action": "SCMP_ACT_ALLOW"}],
    }


def localhost(name: str) -> dict[str, Any]:
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": name}}


def mkdir_job(target: Path, **extra: Any) -> dict[str, Any]:
    return {"name": "job", "command": ["mkdir", str(target)], **extra}


def test_a_container_whose_profile_omits_mkdir_cannot_create_directories(
    node: NodeSimulator, seccomp_dir: Path, tmp_path: Path
) -> None:
    (seccomp_dir / "no-mkdir.json").write_text(json.dumps(every_syscall_but("mkdir", "mkdirat")))
    pod = make_pod("confined", [mkdir_job(tmp_path / "made", securityContext=localhost("no-mkdir.json"))],
                   restartPolicy="Never")
    node.start_pod(pod)
    status = wait_for_phase(node, pod["metadata"]["uid"], ("Succeeded", "Failed"))
    assert status["phase"] == "Failed"
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert not (tmp_path / "made").exists()


def test_a_container_whose_profile_allows_mkdir_creates_directories(
    node: NodeSimulator, seccomp_dir: Path, tmp_path: Path
) -> None:
    (seccomp_dir / "all.json").write_text(json.dumps(every_syscall_but()))
    pod = make_pod("allowed", [mkdir_job(tmp_path / "made", securityContext=localhost("all.json"))],
                   restartPolicy="Never")
    node.start_pod(pod)
    assert wait_for_phase(node, pod["metadata"]["uid"], ("Succeeded", "Failed"))["phase"] == "Succeeded"
    assert (tmp_path / "made").is_dir()


def test_the_filter_is_loaded_into_the_container_and_its_exec_sessions(
    node: NodeSimulator, seccomp_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    deny = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    (seccomp_dir / "deny-mkdir.json").write_text(json.dumps(deny))
    pod = make_pod("web", [sleeper("app", securityContext=localhost("deny-mkdir.json")), sleeper("free")])
    node.start_pod(pod)
    uid = pod["metadata"]["uid"]
    assert seccomp_mode(container_state(state_dir, uid, "app")["pid"]) == "2"
    assert seccomp_mode(container_state(state_dir, uid, "free")["pid"]) == "0"
    assert exec_in_container(state_dir, "default", "web", "app", ["mkdir", str(tmp_path / "a")]) == 1
    assert exec_in_container(state_dir, "default", "web", "free", ["mkdir", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "b").is_dir()


def test_a_container_profile_wins_over_the_pod_profile(
    node: NodeSimulator, seccomp_dir: Path, tmp_path: Path
) -> None:
    (seccomp_dir / "no-mkdir.json").write_text(json.dumps(every_syscall_but("mkdir", "mkdirat")))
    (seccomp_dir / "all.json").write_text(json.dumps(every_syscall_but()))
    containers = [mkdir_job(tmp_path / "own", securityContext=localhost("all.json")),
                  {"name": "inherits", "command": ["mkdir", str(tmp_path / "inherited")]}]
    pod = make_pod("mixed", containers, restartPolicy="Never", securityContext=localhost("no-mkdir.json"))
    node.start_pod(pod)
    status = wait_for_phase(node, pod["metadata"]["uid"], ("Succeeded", "Failed"))
    codes = {c["name"]: c["state"]["terminated"]["exitCode"] for c in status["containerStatuses"]}
    assert codes == {"job": 0, "inherits": 1}


def test_runtime_default_and_unconfined_apply_no_filter(node: NodeSimulator, state_dir: Path) -> None:
    pod = make_pod("web", [sleeper("default", securityContext={"seccompProfile": {"type": "RuntimeDefault"}}),
                           sleeper("open", securityContext={"seccompProfile": {"type": "Unconfined"}})])
    node.start_pod(pod)
    for name in ("default", "open"):
        assert seccomp_mode(container_state(state_dir, pod["metadata"]["uid"], name)["pid"]) == "0"


def test_a_missing_profile_leaves_the_container_waiting_with_a_config_error(node: NodeSimulator) -> None:
    pod = make_pod("web", [sleeper("app", securityContext=localhost("absent.json"))])
    status = node.start_pod(pod)
    assert status["phase"] == "Pending"
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerConfigError"
    assert "absent.json" in waiting["message"]


def test_apparmor_profiles_are_recorded_in_the_state_file(node: NodeSimulator, state_dir: Path) -> None:
    apparmor = {"appArmorProfile": {"type": "Localhost", "localhostProfile": "varmor-demo"}}
    pod = make_pod("web", [sleeper("app", securityContext=apparmor), sleeper("legacy")])
    legacy = "container.apparmor.security.beta.kubernetes.io/legacy"
    pod["metadata"]["annotations"] = {legacy: "localhost/old"}
    node.start_pod(pod)
    uid = pod["metadata"]["uid"]
    assert container_state(state_dir, uid, "app")["apparmor"] == "localhost/varmor-demo"
    assert container_state(state_dir, uid, "legacy")["apparmor"] == "localhost/old"


def seccomp_mode(pid: int) -> str:
    """``Seccomp:`` from /proc/<pid>/status: 0 none, 2 filter."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Seccomp:"))
    return line.split()[1]
