"""The user guide on the local cluster with the product's own parts only: the real manager
(``app.py manager``) and one real agent per node (``app.py agent``), pods on containerd nodes,
kubectl as the guide types it. No test code installs a profile, picks a container, runs the tracer
or merges a recording: the agents find the wired containers, record them and report, the manager
merges and completes. One agent is killed and restarted mid-window; nothing it saved is lost.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api.names import ARMOR_PROFILE_MODELS, GROUP, VARMOR_CLUSTER_POLICIES, VERSION
from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.nodes import simulator_factory
from tests.localcluster.support import Kube, eventually, kubectl_on_tty, running_pods
from tests.manager.support import GUIDE, PROFILE, ManagerProcess, agent_token, free_port, registered_webhooks

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODES = ("node-1", "node-2")


class AgentProcess:
    """``app.py agent`` for one node, out of cluster, on the local cluster's containerd."""

    def __init__(self, kube: Kube, state: pathlib.Path, node: str, status_url: str,
                 token: pathlib.Path) -> None:
        self.node, self.state = node, state
        self.readiness = free_port()
        self.argv = [sys.executable, "app.py", "agent", "--kubeconfig", str(kube.kubeconfig),
                     "--nodeName", node, "--namespace", "varmor", "--enableBehaviorModeling",
                     "--containerdSocket", str(state / "containerd" / "ctd.sock"),
                     "--seccompRoot", str(state / "seccomp"), "--apparmorDir", str(state / "agents" / node),
                     "--stateDir", str(state / "agents" / node), "--statusService", status_url,
                     "--tokenPath", str(token), "--readinessPort", str(self.readiness)]
        self.log = state / f"agent-{node}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        eventually(self.ready, timeout=60)

    def ready(self) -> bool:
        try:
            answer = requests.get(f"http://127.0.0.1:{self.readiness}/health/readiness", timeout=2)
            return answer.status_code == 200
        except requests.RequestException:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


World = tuple[Kube, ManagerProcess, dict[str, AgentProcess]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = tmp_path_factory.mktemp("guide-product")
    thread = ClusterThread(Settings(state_dir=state, nodes=2, node_factory=simulator_factory("containerd")))
    thread.start()
    agents: dict[str, AgentProcess] = {}
    manager: ManagerProcess | None = None
    try:
        kube = Kube(write_kubeconfig(state / "kubeconfig", thread.cluster.url), thread.cluster.url)
        kube.core.create_namespace({"metadata": {"name": "varmor"}})
        kube.core.create_namespaced_service_account("varmor", {"metadata": {"name": "varmor-agent"}})
        kube.core.create_namespaced_pod("varmor", {  # the pod the leader labels
            "metadata": {"name": "manager-a", "labels": {"app": "varmor-manager"}},
            "spec": {"nodeName": "none", "containers": [{"name": "manager", "image": "varmor:dev"}]}})
        manager = ManagerProcess(kube, state, "manager-a", extra=("--address", "127.0.0.1"))
        eventually(manager.serving_status, timeout=60)
        registered_webhooks(kube, manager)  # the leader registers them, with its CA
        token = state / "bound-token"
        token.write_text(agent_token(kube))
        for node in NODES:
            agents[node] = AgentProcess(kube, state, node, f"https://127.0.0.1:{manager.status_port}", token)
            agents[node].start()
        yield kube, manager, agents
    finally:
        for agent in agents.values():
            agent.stop()
            print(agent.log.read_text()[-4000:])
        if manager is not None:
            manager.stop()
            print(manager.log.read_text()[-4000:])
        thread.stop()


def vcpol_status(kube: Kube) -> dict[str, Any]:
    obj = kube.custom.get_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, "demo-4")
    return dict(obj.get("status") or {})


def wired_pods(kube: Kube, namespace: str, count: int) -> list[Any] | None:
    pods = running_pods(kube, namespace, "app=demo-4", count)
    if not pods or not all(PROFILE in json.dumps(p.metadata.annotations or {}) for p in pods):
        return None
    return pods


def recording_events(kube: Kube, namespace: str, pod: str, container: str) -> int:
    """How many times an agent said it records ``container`` of ``pod`` (Events, reason Recording)."""
    events = kube.core.list_namespaced_event(namespace).items
    return sum(1 for e in events if e.reason == "Recording" and e.involved_object.name == pod
               and e.involved_object.field_path == f"spec.containers{{{container}}}")


def exec_in(kube: Kube, namespace: str, pod: str, container: str, *command: str) -> str:
    code, output = kubectl_on_tty(kube, "exec", "-n", namespace, pod, "-c", container, "-it", "--", *command)
    assert code == 0, output
    return output


def test_the_guide_is_modeled_by_the_agents_and_completed_by_the_manager(
        world: World) -> None:
    kube, _manager, agents = world
    kube.kubectl("create", "namespace", "demo")
    for name in ("demo-4-default.yaml", "demo-4-demo.yaml"):
        kube.kubectl("create", "-f", "-", stdin=GUIDE[name])
    eventually(lambda: running_pods(kube, "demo", "app=demo-4", 2), timeout=120)
    kube.kubectl("create", "-f", "-", stdin=GUIDE["demo-4-vcpol.yaml"])
    eventually(lambda: vcpol_status(kube).get("phase") == "Modeling" and vcpol_status(kube).get("ready"),
               timeout=60)
    default = eventually(lambda: wired_pods(kube, "default", 2), timeout=180)[0].metadata.name
    demo = eventually(lambda: wired_pods(kube, "demo", 2), timeout=180)[1].metadata.name

    eventually(lambda: recording_events(kube, "default", default, "c0"), timeout=120)
    eventually(lambda: recording_events(kube, "demo", demo, "c1"), timeout=120)
    exec_in(kube, "default", default, "c0", "cat", "/etc/shadow")
    exec_in(kube, "default", default, "c0", "bash", "-c", "unshare -Un id")
    # The agent of the demo pod's node is killed mid-window and started again: its snapshot survives.
    demo_node = kube.core.read_namespaced_pod(demo, "demo").spec.node_name
    agents[demo_node].stop(signal.SIGKILL)
    agents[demo_node].start()
    eventually(lambda: recording_events(kube, "demo", demo, "c1") == 2, timeout=120)
    exec_in(kube, "demo", demo, "c0", "bash", "-c", f"echo {demo}/c0 > /root/c0")
    exec_in(kube, "demo", demo, "c0", "cat", "/root/c0")
    exec_in(kube, "demo", demo, "c1", "bash", "-c", f"echo {demo}/c1 > /root/c1")
    assert exec_in(kube, "demo", demo, "c1", "cat", "/root/c1").strip() == f"{demo}/c1"
    assert not pathlib.Path("/root/c1").exists()

    patch = '[{"op": "replace", "path": "/spec/policy/modelingOptions/duration", "value":1}]'
    kube.kubectl("patch", "vcpol", "demo-4", "--type=json", f"-p={patch}")
    eventually(lambda: vcpol_status(kube).get("phase") == "Completed", timeout=180, interval=1.0)

    profile_name = kube.kubectl("get", "vcpol", "demo-4", "-o", "jsonpath={.status.profileName}")
    assert profile_name == PROFILE
    content = kube.kubectl("get", "ArmorProfileModel", "-n", "varmor", PROFILE, "-o",
                           "jsonpath={.data.profile.content}")
    apparmor = base64.b64decode(content).decode()
    for rule in ("/usr/bin/id ix,", "/usr/bin/unshare ix,", "owner /etc/shadow r,", "owner /root/c1 rw,",
                 "capability sys_admin,"):
        assert rule in apparmor, apparmor
    assert "/root/c0" not in apparmor
    # unshare -Un is the only capability the workload uses: the runtime's overlay copy-up of /root
    # (echo > /root/c1) checks dac_override, dac_read_search and sys_admin with the mounter's credentials
    assert [line.strip() for line in apparmor.splitlines()
            if line.strip().startswith("capability")] == ["capability sys_admin,"], apparmor
    assert recording_events(kube, "demo", demo, "c0") == 0  # opted out: never recorded
    for foreign in ("python", "app.py", "localcluster", "/work/"):
        assert foreign not in apparmor, apparmor
    encoded = kube.kubectl("get", "ArmorProfileModel", "-n", "varmor", PROFILE, "-o",
                           "jsonpath={.data.profile.seccompContent}")
    seccomp = json.loads(base64.b64decode(encoded))
    assert "unshare" in seccomp["syscalls"][1]["names"]


def test_every_agent_reported_once_and_forgot_its_snapshot(
        world: World) -> None:
    kube, _manager, agents = world
    model = kube.custom.get_namespaced_custom_object(GROUP, VERSION, "varmor", ARMOR_PROFILE_MODELS, PROFILE)
    assert sorted(model["status"]["reportedNodes"]) == list(NODES)
    for agent in agents.values():
        assert not list((agent.state / "agents" / agent.node / "windows").glob("*.snapshot"))
    assert os.path.exists(agents["node-1"].state / "seccomp" / PROFILE)
