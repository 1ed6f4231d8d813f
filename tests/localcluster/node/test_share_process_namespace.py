"""Pods share one pid namespace across containers only with ``shareProcessNamespace: true``."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcluster.node import NodeSimulator, exec_in_container
from tests.localcluster.node.support import container_state, make_pod, namespaces, sleeper


def test_containers_of_a_pod_sharing_its_process_namespace_share_one_pid_namespace(
    node: NodeSimulator, state_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    containers = [sleeper("a"), {"name": "b", "command": ["sleep", "301"]}]
    pod = make_pod("shared", containers, shareProcessNamespace=True)
    node.start_pod(pod)
    uid = pod["metadata"]["uid"]
    a, b = (namespaces(container_state(state_dir, uid, n)["pid"]) for n in ("a", "b"))
    assert a["pid"] == b["pid"]
    assert a["mnt"] != b["mnt"]
    assert exec_in_container(state_dir, "default", "shared", "a", ["ps", "-o", "args=", "-e"]) == 0
    seen = capfd.readouterr().out.splitlines()
    assert "sleep 301" in seen


def test_containers_of_other_pods_get_one_pid_namespace_each(node: NodeSimulator, state_dir: Path) -> None:
    pod = make_pod("apart", [sleeper("a"), sleeper("b")])
    node.start_pod(pod)
    uid = pod["metadata"]["uid"]
    a, b = (namespaces(container_state(state_dir, uid, n)["pid"]) for n in ("a", "b"))
    assert a["pid"] != b["pid"]
    assert a["uts"] == b["uts"]  # the pod's UTS namespace, as with the pause container
