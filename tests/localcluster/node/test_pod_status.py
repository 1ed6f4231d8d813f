"""``start_pod`` and ``pod_status`` report what a kubelet reports, also after a simulator restart."""

from __future__ import annotations

from pathlib import Path

from localcluster.node import NodeSimulator
from tests.localcluster.node.support import (
    cgroups_under,
    make_pod,
    pids_under,
    pod_slice_name,
    sleeper,
    wait_for_phase,
)


def test_a_started_pod_is_running_and_ready_with_one_status_per_container(node: NodeSimulator) -> None:
    pod = make_pod("web", [sleeper("app", image="nginx:1.27"), sleeper("side")])
    status = node.start_pod(pod)
    assert status["phase"] == "Running"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert status["podIP"] == status["hostIP"]
    assert status["startTime"].endswith("Z")
    app, side = status["containerStatuses"]
    assert (app["name"], app["image"], side["image"]) == ("app", "docker.io/library/nginx:1.27",
                                                           "docker.io/library/busybox:latest")
    assert app["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert (app["ready"], app["started"], app["restartCount"]) == (True, True, 0)
    assert set(app["state"]) == {"running"}
    assert app["containerID"] != side["containerID"]


def test_starting_a_pod_twice_starts_it_once(node: NodeSimulator) -> None:
    pod = make_pod("web", [sleeper("app")])
    first = node.start_pod(pod)
    again = node.start_pod(pod)
    assert first["containerStatuses"][0]["containerID"] == again["containerStatuses"][0]["containerID"]
    assert len(pids_under(pod_slice_name(pod["metadata"]["uid"]))) == 2  # the pause and sleep


def test_a_pod_whose_containers_all_exit_zero_under_restart_policy_never_succeeds(
    node: NodeSimulator,
) -> None:
    containers = [{"name": "a", "command": ["true"]}, {"name": "b", "command": ["sh", "-c", "exit 0"]}]
    pod = make_pod("job", containers, restartPolicy="Never")
    node.start_pod(pod)
    status = wait_for_phase(node, pod["metadata"]["uid"], ("Succeeded", "Failed"))
    assert status["phase"] == "Succeeded"
    ended = status["containerStatuses"][0]["state"]["terminated"]
    assert (ended["exitCode"], ended["reason"]) == (0, "Completed")
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "False"


def test_a_failing_container_fails_the_pod_with_its_exit_code(node: NodeSimulator) -> None:
    pod = make_pod("job", [{"name": "a", "command": ["sh", "-c", "exit 3"]}], restartPolicy="Never")
    node.start_pod(pod)
    status = wait_for_phase(node, pod["metadata"]["uid"], ("Failed",))
    ended = status["containerStatuses"][0]["state"]["terminated"]
    assert (ended["exitCode"], ended["reason"]) == (3, "Error")


def test_a_command_missing_on_the_host_is_a_start_error(node: NodeSimulator) -> None:
    pod = make_pod("web", [{"name": "a", "command": ["no-such-binary-anywhere"]}], restartPolicy="Never")
    status = node.start_pod(pod)
    ended = status["containerStatuses"][0]["state"]["terminated"]
    assert (ended["exitCode"], ended["reason"]) == (128, "StartError")
    assert "executable file not found" in ended["message"]
    assert status["phase"] == "Failed"


def test_a_container_without_command_or_args_waits_with_a_config_error(node: NodeSimulator) -> None:
    status = node.start_pod(make_pod("web", [{"name": "a", "image": "nginx"}]))
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CreateContainerConfigError"


def test_a_restarted_simulator_reports_and_stops_the_pods_it_finds_in_its_state_dir(
    state_dir: Path, seccomp_dir: Path
) -> None:
    first = NodeSimulator("node-r", state_dir, seccomp_dir)
    pod = make_pod("web", [sleeper("app")])
    uid = pod["metadata"]["uid"]
    started = first.start_pod(pod)
    del first

    second = NodeSimulator("node-r", state_dir, seccomp_dir)
    try:
        status = second.pod_status(uid)
        assert status is not None
        assert status["containerStatuses"] == started["containerStatuses"]
        second.stop_pod(uid, grace_seconds=0.2)
        assert pids_under(pod_slice_name(uid)) == []
        assert cgroups_under(pod_slice_name(uid)) == []
    finally:
        second.shutdown(grace_seconds=0.2)
