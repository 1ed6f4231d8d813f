"""From model to enforcement on the local cluster: the guide's workload is modeled by the real
manager and agents, the policy is deleted and re-created in ``DefenseInDepth`` mode with
``BehaviorModel`` profiles, and containerd + runc enforce the learned seccomp profile: the
workload's own commands still run, ``unshare`` (never seen while modeling) fails with EPERM, and
with ``allowViolations: true`` the same call succeeds and the kernel logs it (``type=1326``).
"""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import yaml

from api.names import ARMOR_PROFILE_MODELS, ARMOR_PROFILES, GROUP, VERSION
from tests.e2e import test_agents_and_manager_model_the_guide as guide
from tests.e2e.test_agents_and_manager_model_the_guide import (
    World,
    exec_in,
    recording_events,
    vcpol_status,
    wired_pods,
)
from tests.localcluster.support import Kube, eventually, kubectl_on_tty, running_pods
from tests.manager.support import GUIDE, PROFILE

UNSHARE = 272  # x86_64
world = guide.world  # the same fixture: a local cluster, the real manager and one agent per node


def defense_in_depth(allow_violations: bool) -> str:
    policy = yaml.safe_load(GUIDE["demo-4-vcpol.yaml"])
    policy["spec"]["policy"] = {
        "enforcer": "AppArmorSeccomp", "mode": "DefenseInDepth",
        "defenseInDepth": {"appArmor": {"profileType": "BehaviorModel"},
                           "seccomp": {"profileType": "BehaviorModel"}, "allowViolations": allow_violations}}
    return yaml.safe_dump(policy)


def learned_syscalls(kube: Kube) -> set[str]:
    encoded = kube.kubectl("get", "ArmorProfileModel", "-n", "varmor", PROFILE, "-o",
                           "jsonpath={.data.profile.seccompContent}")
    return {n for group in json.loads(base64.b64decode(encoded))["syscalls"] for n in group["names"]}


def enforced_pods(kube: Kube, namespace: str, since: str) -> list[str] | None:
    """Both pods running, created after ``since``, their confined containers on the Localhost profile.

    Read as JSON: a pod status the typed client refuses (a transient empty ``startedAt``) is only
    not ready yet.
    """
    pods = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-l", "app=demo-4", "-o", "json"))["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    if len(live) != 2 or any(p["metadata"]["creationTimestamp"] < since for p in live):
        return None
    if any(p.get("status", {}).get("phase") != "Running" for p in live):
        return None
    for pod in live:
        for container in pod["spec"]["containers"]:
            profile = (container.get("securityContext") or {}).get("seccompProfile") or {}
            confined = container["name"] != "c0" or namespace == "default"  # demo's c0 opts out
            if confined and profile.get("localhostProfile") != PROFILE:
                return None
    return [p["metadata"]["name"] for p in live]


def unwired(kube: Kube, namespace: str) -> bool:
    """The policy's cleanup restarted both pods without the profile."""
    pods = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-l", "app=demo-4", "-o", "json"))["items"]
    return len(pods) == 2 and all(p.get("status", {}).get("phase") == "Running" and PROFILE not in json.dumps(
        p["metadata"].get("annotations") or {}) for p in pods)


def create_and_wait(kube: Kube, allow_violations: bool) -> tuple[str, str]:
    """Create the DefenseInDepth policy; the names of a default and a demo pod enforced by it."""
    kube.kubectl("create", "-f", "-", stdin=defense_in_depth(allow_violations))
    created = kube.kubectl("get", "vcpol", "demo-4", "-o", "jsonpath={.metadata.creationTimestamp}")
    eventually(lambda: vcpol_status(kube).get("phase") == "Protecting" and vcpol_status(kube).get("ready"),
               timeout=120, interval=1.0)
    default = eventually(lambda: enforced_pods(kube, "default", created), timeout=240, interval=1.0)
    demo = eventually(lambda: enforced_pods(kube, "demo", created), timeout=240, interval=1.0)
    return default[0], demo[0]


def delete_policy(kube: Kube) -> None:
    kube.kubectl("delete", "vcpol", "demo-4")
    def released() -> bool:
        names = [p["metadata"]["name"] for p in kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, "varmor", ARMOR_PROFILES)["items"]]
        return PROFILE not in names
    eventually(released, timeout=60)
    for namespace in ("default", "demo"):
        eventually(lambda: unwired(kube, namespace), timeout=180, interval=1.0)  # noqa: B023


def restarts(kube: Kube, namespace: str) -> int:
    pods = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-l", "app=demo-4", "-o", "json"))["items"]
    return sum(c.get("restartCount", 0) for p in pods for c in p["status"].get("containerStatuses") or [])


def kernel_logged(comm: str, syscall: int) -> bool:
    """A seccomp ``SCMP_ACT_LOG`` record (audit type 1326, code 0x7ffc0000) of ``comm`` in the kernel log."""
    text = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    return any("type=1326" in line and f'comm="{comm}"' in line and f" syscall={syscall} " in line
               and "code=0x7ffc0000" in line for line in text.splitlines())


def test_the_model_of_the_guide_is_enforced_and_an_unseen_unshare_fails_with_eperm(world: World) -> None:
    kube, _manager, _agents = world
    kube.kubectl("create", "namespace", "demo")
    for name in ("demo-4-default.yaml", "demo-4-demo.yaml"):
        kube.kubectl("create", "-f", "-", stdin=GUIDE[name])
    eventually(lambda: running_pods(kube, "demo", "app=demo-4", 2), timeout=120)
    kube.kubectl("create", "-f", "-", stdin=GUIDE["demo-4-vcpol.yaml"])
    default = eventually(lambda: wired_pods(kube, "default", 2), timeout=180)[0].metadata.name
    demo = eventually(lambda: wired_pods(kube, "demo", 2), timeout=180)[0].metadata.name
    eventually(lambda: recording_events(kube, "default", default, "c0"), timeout=120)
    eventually(lambda: recording_events(kube, "demo", demo, "c1"), timeout=120)
    # The agents attach to a container once it runs, after its command started: its start-up
    # (`sh -c "sleep infinity"`) is recorded by running the same command while modeling.
    for namespace, pod, container in (("default", default, "c0"), ("demo", demo, "c1")):
        code, output = kubectl_on_tty(kube, "exec", "-n", namespace, pod, "-c", container, "--",
                                      "timeout", "1", "/bin/sh", "-c", "sleep infinity")
        assert code == 124, output  # stopped by timeout
    exec_in(kube, "default", default, "c0", "cat", "/etc/shadow")
    exec_in(kube, "default", default, "c0", "bash", "-c", "id")
    exec_in(kube, "demo", demo, "c1", "bash", "-c", "echo c1 > /root/c1")
    exec_in(kube, "demo", demo, "c1", "cat", "/root/c1")
    patch = '[{"op": "replace", "path": "/spec/policy/modelingOptions/duration", "value":1}]'
    kube.kubectl("patch", "vcpol", "demo-4", "--type=json", f"-p={patch}")
    eventually(lambda: vcpol_status(kube).get("phase") == "Completed", timeout=180, interval=1.0)
    assert "unshare" not in learned_syscalls(kube)
    delete_policy(kube)

    default, demo = create_and_wait(kube, allow_violations=False)
    assert "/etc/shadow" not in exec_in(kube, "default", default, "c0", "cat", "/etc/shadow")
    assert "uid=0(root)" in exec_in(kube, "default", default, "c0", "bash", "-c", "id")
    exec_in(kube, "demo", demo, "c1", "bash", "-c", "echo c1 > /root/c1")
    assert exec_in(kube, "demo", demo, "c1", "cat", "/root/c1").strip() == "c1"
    code, output = kubectl_on_tty(kube, "exec", "-n", "default", default, "-c", "c0", "-it", "--",
                                  "bash", "-c", "unshare -Un id")
    assert code != 0
    assert "unshare failed: Operation not permitted" in output, output
    assert restarts(kube, "default") == restarts(kube, "demo") == 0  # the workload keeps running


def violation_events(kube: Kube, kind: str, namespace: str) -> list[str]:
    """Messages of the agents' Violation Events about objects of ``kind`` in ``namespace``."""
    events = kube.core.list_namespaced_event(namespace).items
    return [e.message for e in events if e.reason == "Violation" and e.involved_object.kind == kind]


def test_with_allow_violations_the_unseen_unshare_runs_and_is_logged(world: World) -> None:
    kube, _manager, _agents = world
    delete_policy(kube)
    default, _demo = create_and_wait(kube, allow_violations=True)
    output = exec_in(kube, "default", default, "c0", "bash", "-c", "unshare -Un id")
    assert "uid=" in output
    eventually(lambda: kernel_logged("unshare", UNSHARE), timeout=10)
    # The agent finds the container by the pid's cgroup when it reads the record; `id` may be gone
    # by then (README: measured), a process that stays a moment is always found. It runs what was
    # modeled (the workload's command) after the unshare, so unshare is its only violation.
    code, output = kubectl_on_tty(kube, "exec", "-n", "default", default, "-c", "c0", "--", "unshare", "-Un",
                                  "timeout", "1", "/bin/sh", "-c", "sleep infinity")
    assert code == 124, output
    # The agent tells the policy (its Events: `kubectl describe vcpol demo-4`) and the pod.
    told = eventually(lambda: violation_events(kube, "VarmorClusterPolicy", "default"), timeout=30)
    assert any(f"would deny unshare in default/{default} container c0" in m for m in told), told
    assert not [m for m in told if "exe /usr/bin/sleep" in m], told  # the workload's own command is modeled
    assert eventually(lambda: violation_events(kube, "Pod", "default"), timeout=30)
    # ... and the model keeps it, with the node, pod and container (`status.violations`).
    def kept() -> list[dict[str, str]]:
        model = kube.custom.get_namespaced_custom_object(GROUP, VERSION, "varmor", ARMOR_PROFILE_MODELS,
                                                         PROFILE)
        return list(model["status"].get("violations") or [])
    violations = eventually(kept, timeout=30)
    assert {(v["pod"], v["container"], v["syscall"]) for v in violations} == {(f"default/{default}", "c0",
                                                                              "unshare")}, violations
    def condition() -> dict[str, Any] | None:
        found = [c for c in vcpol_status(kube).get("conditions") or [] if c["type"] == "Violations"]
        return found[0] if found else None
    assert f"unshare (default/{default} c0 on " in eventually(condition, timeout=30)["message"]
