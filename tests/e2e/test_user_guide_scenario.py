"""The user guide's scenario, end to end on the local cluster, with every piece real.

Our webhook (``app.py webhook``, TLS) is registered in the local cluster; the guide's two
``demo-4`` Deployments are created with ``kubectl create -f -``; their pods run as real
processes in containerd-named cgroups; the tracer follows the wired containers while the
guide's ``kubectl exec`` commands run (``app.py localcluster exec``); the recording becomes the
ArmorProfileModel whose profiles the guide prints. The node agent's part (installing the
modeling seccomp profile, following containers) is played by this test.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from generator.aggregate import model_from_events
from generator.apm import armor_profile_model
from generator.merge import merge
from generator.profilenames import cluster_policy_profile_name
from localcluster.admission import ENDPOINT_ANNOTATION
from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.node.criruntime import PREWARM, ContainerdRuntime
from localcluster.nodes import simulator_factory
from localcluster.runtime.imagebuild import build_images
from tests.localcluster.support import Kube, eventually, kubectl_on_tty, running_pods
from tests.tracer.harness import TracerProcess
from webhook.registrations import mutating_configuration

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDE = ROOT / "tests" / "localcluster" / "fixtures"
PROFILE = cluster_policy_profile_name("varmor", "demo-4")
MODELING_SECCOMP = {"defaultAction": "SCMP_ACT_LOG", "syscalls": [
    {"names": ["open", "openat", "openat2", "close", "read", "write"], "action": "SCMP_ACT_ALLOW"}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kube, pathlib.Path]]:
    state = tmp_path_factory.mktemp("guide-cluster")
    build_images(list(PREWARM))  # cached after the first run
    runtime = simulator_factory("containerd")
    thread = ClusterThread(Settings(state_dir=state, nodes=2, node_factory=runtime))
    thread.start()
    assert isinstance(runtime, ContainerdRuntime) and runtime.wait_prewarmed(300)
    (state / "seccomp").mkdir(exist_ok=True)
    (state / "seccomp" / PROFILE).write_text(json.dumps(MODELING_SECCOMP))  # the agent's job
    try:
        yield Kube(write_kubeconfig(state / "kubeconfig", thread.cluster.url), thread.cluster.url), state
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def webhook(cluster: tuple[Kube, pathlib.Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    kube, _ = cluster
    certs, port = tmp_path_factory.mktemp("certs"), _free_port()
    server = subprocess.Popen(
        [sys.executable, "app.py", "webhook", "--cert-dir", str(certs), "--host", "127.0.0.1",
         "--port", str(port), "--policy-file", str(GUIDE / "demo-4-vcpol.yaml"), "--workers", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: (certs / "ca.crt").exists() and _answers(port), timeout=30)
        kube.core.create_namespace({"metadata": {"name": "varmor"}})
        kube.core.create_namespaced_service("varmor", {
            "metadata": {"name": "varmor-webhook-svc",
                         "annotations": {ENDPOINT_ANNOTATION: f"127.0.0.1:{port}"}},
            "spec": {"ports": [{"port": 443}]}})
        ca = base64.b64encode((certs / "ca.crt").read_bytes()).decode()
        kube.admission.create_mutating_webhook_configuration(mutating_configuration(ca))
        yield
    finally:
        server.terminate()
        server.wait(timeout=20)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _pods(kube: Kube, namespace: str) -> list[Any]:
    return eventually(lambda: running_pods(kube, namespace, "app=demo-4", 2), timeout=180)


@pytest.fixture(scope="module")
def deployed(cluster: tuple[Kube, pathlib.Path], webhook: None) -> dict[str, list[Any]]:
    kube, _ = cluster
    kube.kubectl("create", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n")
    for fixture in ("demo-4-default.yaml", "demo-4-demo.yaml"):
        kube.kubectl("create", "-f", "-", stdin=(GUIDE / fixture).read_text())
    return {"default": _pods(kube, "default"), "demo": _pods(kube, "demo")}


def _wiring(pod: Any) -> dict[str, str | None]:
    out = {}
    for c in pod.spec.containers:
        profile = c.security_context.seccomp_profile if c.security_context else None
        out[c.name] = profile.localhost_profile if profile else None
    return out


def test_the_webhook_wires_the_guides_containers_and_leaves_c0_of_demo_alone(
    deployed: dict[str, list[Any]],
) -> None:
    for pod in deployed["default"]:
        assert _wiring(pod) == {"c0": PROFILE}
        assert pod.spec.containers[0].security_context.app_armor_profile.localhost_profile == PROFILE
    for pod in deployed["demo"]:
        assert _wiring(pod) == {"c0": None, "c1": PROFILE}
        assert pod.metadata.annotations["container.seccomp.security.beta.varmor.org/c0"] == "unconfined"


def _cgroup(container_id: str) -> str:
    found = glob.glob(f"/sys/fs/cgroup/unified/kubepods/*/pod*/{container_id}")
    assert len(found) == 1, found
    return found[0]


def _exec(kube: Kube, namespace: str, pod: str, container: str, script: str) -> str:
    """The guide's ``kubectl exec -n NS POD -c C -it -- bash -c SCRIPT``, on a terminal."""
    code, out = kubectl_on_tty(kube, "exec", "-n", namespace, pod, "-c", container, "-it", "--",
                               "bash", "-c", script)
    assert code == 0, out
    return out


def _wired_containers(deployed: dict[str, list[Any]]) -> dict[str, str]:
    """Target name → cgroup path of every container the policy covers (what the agent follows)."""
    targets = {}
    for pods in deployed.values():
        for pod in pods:
            for status in pod.status.container_statuses:
                if _wiring(pod)[status.name] == PROFILE:
                    targets[f"{pod.metadata.name}-{status.name}"] = _cgroup(
                        status.container_id.removeprefix("containerd://"))
    return targets


@pytest.fixture(scope="module")
def recorded(cluster: tuple[Kube, pathlib.Path], deployed: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    kube, _ = cluster
    tracer = TracerProcess()
    targets = _wired_containers(deployed)
    try:
        for name, path in targets.items():
            tracer.add(name, f"cgroup={path}")
        default_pod, demo_pod = deployed["default"][0].metadata.name, deployed["demo"][1].metadata.name
        _exec(kube, "default", default_pod, "c0", "cat /etc/shadow")
        _exec(kube, "default", default_pod, "c0", "unshare -Un id")
        _exec(kube, "demo", demo_pod, "c0", f"echo {demo_pod}/c0 > /root/c0")
        _exec(kube, "demo", demo_pod, "c1", f"echo {demo_pod}/c1 > /root/c1")
        written = {c: kube.kubectl("exec", "-n", "demo", demo_pod, "-c", c, "--", "cat", f"/root/{c}")
                   for c in ("c0", "c1")}
        time.sleep(0.5)
        events = [e for name in targets for e in tracer.remove(name)]
    finally:
        tracer.stop()
    assert written == {c: f"{demo_pod}/{c}\n" for c in ("c0", "c1")}
    assert not os.path.exists("/root/c0") and not os.path.exists("/root/c1"), "written on the host"
    model = merge(*(model_from_events(PROFILE, [e for e in events if e["target"] == name])
                    for name in targets))
    yield armor_profile_model(model, PROFILE)


def test_the_recorded_model_yields_the_guides_apparmor_rules(recorded: dict[str, Any]) -> None:
    profile = base64.b64decode(recorded["data"]["profile"]["content"]).decode()
    for rule in ("/usr/bin/id ix,", "/usr/bin/unshare ix,", "owner /etc/shadow r,", "owner /root/c1 rw,",
                 "capability sys_admin,", "owner /usr/lib/x86_64-linux-gnu/** mr,", "umount,"):
        assert f"\n  {rule}\n" in profile, profile
    assert "/root/c0" not in profile  # c0 of demo/demo-4 is opted out: not modeled
    assert f"profile {PROFILE} flags=(attach_disconnected,mediate_deleted) {{" in profile


def test_the_recorded_model_yields_a_seccomp_profile_with_unshare(recorded: dict[str, Any]) -> None:
    seccomp = json.loads(base64.b64decode(recorded["data"]["profile"]["seccompContent"]))
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "unshare" in seccomp["syscalls"][1]["names"]


def test_what_only_exec_sessions_did_is_marked_and_nothing_was_lost(recorded: dict[str, Any]) -> None:
    data = recorded["data"]
    assert "/usr/bin/unshare" in data["execSessionOnly"]["executions"]
    assert "sys_admin" in data["execSessionOnly"]["capabilities"]
    assert "/usr/bin/sleep" not in data["execSessionOnly"]["executions"]
    assert data["coverage"]["lostEvents"] == 0 and data["coverage"]["rulesDropped"] == 0
