"""Pure reading of Pod dicts, profiles and cgroup names (no kernel, no root)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from localcluster.node.cgroups import pod_slice, scope_name, v2_root_from_mountinfo
from localcluster.node.pods import pod_spec, qos_class
from localcluster.node.seccomp_profiles import ProfileError, parse_profile
from localcluster.node.statuses import phase
from localcluster.runtime.images import normalise

MOUNTINFO = """\
25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
34 25 0:29 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
41 34 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 34 0:39 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
"""


def pod(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    meta = {"name": "web", "namespace": "ns", "uid": "u-1"}
    return {"metadata": meta, "spec": {"containers": containers, **spec}}


def test_the_v2_root_is_read_from_mountinfo() -> None:
    assert str(v2_root_from_mountinfo(MOUNTINFO)) == "/sys/fs/cgroup/unified"
    with pytest.raises(FileNotFoundError):
        v2_root_from_mountinfo(MOUNTINFO.replace("cgroup2", "cgroup"))


def test_slices_and_scopes_are_named_as_the_systemd_driver_names_them() -> None:
    assert pod_slice("BestEffort", "a-b") == PurePosixPath(
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poda_b.slice")
    assert pod_slice("Burstable", "a-b").name == "kubepods-burstable-poda_b.slice"
    assert pod_slice("Guaranteed", "a-b") == PurePosixPath("kubepods.slice/kubepods-poda_b.slice")
    assert scope_name("ab" * 32) == f"cri-containerd-{'ab' * 32}.scope"


def test_qos_class_follows_requests_and_limits() -> None:
    assert qos_class([{}]) == "BestEffort"
    assert qos_class([{"resources": {"requests": {"memory": "1Mi"}}}]) == "Burstable"
    both = {"cpu": "1", "memory": "1Mi"}
    assert qos_class([{"resources": {"limits": both}}]) == "Guaranteed"
    assert qos_class([{"resources": {"limits": both, "requests": {"cpu": "500m"}}}]) == "Burstable"


def test_command_and_args_expand_variables_from_the_environment() -> None:
    env = [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)y"}]
    container = {"name": "c", "command": ["echo"], "args": ["$(B)", "$$(A)", "$(NONE)"], "env": env}
    spec = pod_spec(pod([container]), "10.0.0.1", "node-1")
    assert spec.containers[0].argv == ("echo", "xy", "$(A)", "$(NONE)")
    assert dict(spec.containers[0].env)["HOSTNAME"] == "web"


def test_the_container_seccomp_profile_wins_over_the_pod_one() -> None:
    local = {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}
    own = {"seccompProfile": {"type": "Unconfined"}}
    containers: list[dict[str, Any]] = [{"name": "a", "command": ["x"], "securityContext": own},
                                        {"name": "b", "command": ["x"]}]
    spec = pod_spec(pod(containers, securityContext=local), "h", "n")
    assert [c.seccomp for c in spec.containers] == ["unconfined", "localhost/p.json"]


def test_unsupported_env_sources_are_a_config_problem() -> None:
    env = [{"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    assert pod_spec(pod([{"name": "a", "command": ["x"], "env": env}]), "h", "n").containers[0].problem


def test_seccomp_profiles_parse_and_reject_bad_input() -> None:
    profile = parse_profile('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, '
                            '"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}')
    assert profile.rules[0].names == ("read",)
    assert profile.rules[0].errno_ret == 38
    names_not_a_list = ('{"defaultAction": "SCMP_ACT_ALLOW", '
                        '"syscalls": [{"names": "read", "action": "SCMP_ACT_LOG"}]}')
    for bad in ("[]", "{", '{"defaultAction": "ALLOW"}', names_not_a_list):
        with pytest.raises(ProfileError):
            parse_profile(bad)


def test_images_are_reported_fully_qualified() -> None:
    assert normalise("nginx") == "docker.io/library/nginx:latest"
    assert normalise("ghcr.io/org/app:v1") == "ghcr.io/org/app:v1"
    assert normalise("org/app") == "docker.io/org/app:latest"
    assert normalise("localhost:5000/app") == "localhost:5000/app:latest"


def test_the_phase_follows_the_restart_policy() -> None:
    done = [{"state": {"terminated": {"exitCode": 0}}}]
    failed = [{"state": {"terminated": {"exitCode": 2}}}]
    assert phase("Never", done) == "Succeeded"
    assert phase("Never", failed) == "Failed"
    assert phase("OnFailure", failed) == "Running"
    assert phase("Always", done) == "Running"
    assert phase("Always", [{"state": {"waiting": {}}}]) == "Pending"
