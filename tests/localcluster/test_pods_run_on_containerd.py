"""Pods on the local cluster run on its own containerd through CRI, the way kubelet runs them.

Checked through the real ``kubectl``/``kubernetes`` client and the cluster's containerd socket:
containerd's Kubernetes labels in namespace ``k8s.io``, kubelet's cgroupfs layout, the container's
own root filesystem, pod IPs reachable from the host, hostNetwork/hostPID/shareProcessNamespace/
privileged, hostPath volumes with env and args, restart back-off with RESTARTS, a missing Localhost
seccomp profile retried and explained in ``describe``, images that are not there.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import subprocess
import sys
import tarfile
import urllib.request
from typing import Any

import pytest

from cri import runtime_pb2 as pb
from cri.client import CriClient
from localcluster.cluster import ClusterThread
from localcluster.node.crinode import CriNode
from localcluster.runtime.imagebuild import write_oci_archive
from localcluster.runtime.images import Recipe
from tests.localcluster.support import Kube, eventually, running_pod

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")
ROOT = pathlib.Path(__file__).resolve().parents[2]
SLEEP = ["/bin/sh", "-c", "sleep infinity"]


def _pod(kube: Kube, ns: str, name: str, spec: dict[str, Any]) -> None:
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": name, "labels": {"app": name}}, "spec": spec})


def _status(kube: Kube, ns: str, name: str) -> Any:
    return kube.core.read_namespaced_pod(name, ns).status


def _containers(kube: Kube, ns: str, name: str) -> list[Any]:
    status = _status(kube, ns, name)
    return list(status.container_statuses or []) if status else []



def _waiting(kube: Kube, ns: str, name: str, reason: str, timeout: float = 60) -> Any:
    def probe() -> Any:
        states = [c.state.waiting for c in _containers(kube, ns, name) if c.state.waiting]
        return next((w for w in states if w.reason == reason), None)

    return eventually(probe, timeout=timeout)


@pytest.fixture(scope="module")
def ns(kube: Kube) -> str:
    return kube.namespace("cri")


def test_containers_carry_kubelets_labels_in_containerds_k8s_namespace(
    kube: Kube, ns: str, cluster_dir: pathlib.Path
) -> None:
    _pod(kube, ns, "labelled", {"containers": [{"name": "c1", "image": "debian:10", "command": SLEEP}]})
    pod = running_pod(kube, ns, "labelled")
    cri = CriClient(cluster_dir / "containerd" / "ctd.sock")
    try:
        found = cri.call(
            "ListContainers",
            pb.ListContainersRequest(
                filter=pb.ContainerFilter(label_selector={"io.kubernetes.pod.uid": pod.metadata.uid})
            ),
        ).containers
    finally:
        cri.close()
    assert len(found) == 1
    assert (
        dict(found[0].labels).items()
        >= {
            "io.kubernetes.pod.name": "labelled",
            "io.kubernetes.pod.namespace": ns,
            "io.kubernetes.pod.uid": pod.metadata.uid,
            "io.kubernetes.container.name": "c1",
        }.items()
    )
    assert pod.status.container_statuses[0].container_id == f"containerd://{found[0].id}"
    cgroup = kube.kubectl("exec", "-n", ns, "labelled", "--", "cat", "/proc/self/cgroup")
    assert f"0::/kubepods/besteffort/pod{pod.metadata.uid}/{found[0].id}" in cgroup.splitlines()


def test_exec_writes_land_in_the_container_and_exit_codes_and_stdin_come_back(kube: Kube, ns: str) -> None:
    _pod(kube, ns, "writer", {"containers": [{"name": "c1", "image": "debian:10", "command": SLEEP}]})
    running_pod(kube, ns, "writer")
    target = f"/root/lc-{secrets.token_hex(4)}"
    kube.kubectl("exec", "-n", ns, "writer", "-c", "c1", "--", "bash", "-c", f"echo writer/c1 > {target}")
    assert kube.kubectl("exec", "-n", ns, "writer", "-c", "c1", "--", "cat", target) == "writer/c1\n"
    assert not os.path.exists(target)
    out = kube.kubectl("exec", "-n", ns, "writer", "--", "sh", "-c", "exit 7", check=False)
    assert "command terminated with exit code 7" in out
    piped = kube.kubectl("exec", "-i", "-n", ns, "writer", "--", "tr", "a-z", "A-Z", stdin="piped in\n")
    assert piped == "PIPED IN\n"


def test_exec_with_a_terminal_gets_a_tty(kube: Kube, ns: str) -> None:
    from tests.localcluster.support import kubectl_on_tty

    _pod(kube, ns, "tty", {"containers": [{"name": "c1", "image": "debian:10", "command": SLEEP}]})
    running_pod(kube, ns, "tty")
    code, out = kubectl_on_tty(kube, "exec", "-n", ns, "tty", "-it", "--", "bash", "-c", "tty; exit 3")
    assert code == 3
    assert "/dev/pts/" in out


def test_logs_follow_the_container_and_its_previous_instance(kube: Kube, ns: str) -> None:
    script = "echo started $(cat /proc/sys/kernel/random/uuid); sleep 1; exit 3"
    _pod(
        kube,
        ns,
        "crasher",
        {"containers": [{"name": "c1", "image": "debian:10", "command": ["/bin/sh", "-c", script]}]},
    )
    eventually(
        lambda: (cs := _containers(kube, ns, "crasher")) and cs[0].restart_count >= 1,
        timeout=60,
    )
    waiting = _waiting(kube, ns, "crasher", "CrashLoopBackOff", timeout=30)
    assert "back-off" in waiting.message
    previous = kube.kubectl("logs", "-n", ns, "crasher", "-c", "c1", "--previous")
    assert previous.startswith("started ")
    row = kube.kubectl("get", "pod", "-n", ns, "crasher", "--no-headers").split()
    assert int(row[3]) >= 1  # RESTARTS
    last = kube.core.read_namespaced_pod("crasher", ns).status.container_statuses[0].last_state.terminated
    assert last.exit_code == 3 and last.reason == "Error"
    events = kube.kubectl("describe", "pod", "-n", ns, "crasher")
    assert "BackOff" in events and "Back-off restarting failed container c1" in events


def test_a_missing_localhost_seccomp_profile_is_retried_and_explained(
    kube: Kube, ns: str, cluster_dir: pathlib.Path
) -> None:
    name = f"missing-{secrets.token_hex(4)}.json"
    ctx = {"seccompProfile": {"type": "Localhost", "localhostProfile": name}}
    _pod(
        kube,
        ns,
        "seccomp",
        {"containers": [{"name": "c1", "image": "debian:10", "command": SLEEP, "securityContext": ctx}]},
    )
    waiting = _waiting(kube, ns, "seccomp", "CreateContainerError")
    assert name in waiting.message
    assert name in kube.kubectl("describe", "pod", "-n", ns, "seccomp").split("Events:")[1]
    seccomp = cluster_dir / "seccomp"
    seccomp.mkdir(exist_ok=True)
    (seccomp / name).write_text(
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}'
    )
    running_pod(kube, ns, "seccomp", timeout=60)
    out = kube.kubectl("exec", "-n", ns, "seccomp", "--", "mkdir", "/tmp/x", check=False)
    assert "Operation not permitted" in out


def test_images_that_are_not_there_wait_with_kubelets_reasons(kube: Kube, ns: str) -> None:
    _pod(
        kube,
        ns,
        "never",
        {
            "containers": [
                {"name": "c1", "image": "example.org/absent:1", "imagePullPolicy": "Never", "command": SLEEP}
            ]
        },
    )
    _pod(
        kube,
        ns,
        "absent",
        {"containers": [{"name": "c1", "image": "example.org/absent:1", "command": SLEEP}]},
    )
    assert "not present with pull policy of Never" in _waiting(kube, ns, "never", "ErrImageNeverPull").message
    backoff = _waiting(kube, ns, "absent", "ImagePullBackOff")
    assert "localcluster image import" in backoff.message
    assert kube.core.read_namespaced_pod("absent", ns).status.phase == "Pending"


def test_host_path_volumes_env_and_args_reach_the_container(
    kube: Kube, ns: str, tmp_path: pathlib.Path
) -> None:
    spec = {
        "restartPolicy": "Never",
        "volumes": [{"name": "out", "hostPath": {"path": str(tmp_path)}}],
        "containers": [
            {
                "name": "c1",
                "image": "debian:10",
                "command": ["/bin/sh", "-c"],
                "args": ['echo "$GREETING $(POD)" > /out/greeting'],
                "env": [
                    {"name": "GREETING", "value": "hello"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                ],
                "volumeMounts": [{"name": "out", "mountPath": "/out"}],
            }
        ],
    }
    _pod(kube, ns, "volumes", spec)
    eventually(lambda: getattr(_status(kube, ns, "volumes"), "phase", None) == "Succeeded", timeout=120)
    assert (tmp_path / "greeting").read_text() == "hello volumes\n"


def test_pod_namespaces_follow_share_process_namespace_host_pid_and_privileged(kube: Kube, ns: str) -> None:
    two = [
        {"name": "c1", "image": "debian:10", "command": ["/bin/sh", "-c", "sleep 86401"]},
        {"name": "c2", "image": "debian:10", "command": SLEEP},
    ]
    _pod(kube, ns, "shared", {"shareProcessNamespace": True, "containers": two})
    _pod(
        kube,
        ns,
        "hostpid",
        {
            "hostPID": True,
            "containers": [
                {
                    "name": "c1",
                    "image": "debian:10",
                    "command": SLEEP,
                    "securityContext": {"privileged": True},
                }
            ],
        },
    )
    running_pod(kube, ns, "shared")
    running_pod(kube, ns, "hostpid")
    ps = kube.kubectl(
        "exec", "-n", ns, "shared", "-c", "c2", "--", "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"
    )
    assert "sleep 86401" in ps
    init = kube.kubectl("exec", "-n", ns, "hostpid", "--", "cat", "/proc/1/cmdline")
    assert init.split("\0")[0] == pathlib.Path("/proc/1/cmdline").read_bytes().split(b"\0")[0].decode()
    caps = kube.kubectl("exec", "-n", ns, "hostpid", "--", "grep", "CapEff", "/proc/self/status")
    assert caps.split()[1] == pathlib.Path("/proc/self/status").read_text().split("CapEff:")[1].split()[0]


def test_pod_ips_answer_from_the_host_and_host_network_pods_use_the_hosts(kube: Kube, ns: str) -> None:
    _pod(
        kube,
        ns,
        "web",
        {
            "containers": [
                {"name": "httpd", "image": "busybox", "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"]}
            ]
        },
    )
    _pod(
        kube,
        ns,
        "hostnet",
        {"hostNetwork": True, "containers": [{"name": "c1", "image": "debian:10", "command": SLEEP}]},
    )
    web = running_pod(kube, ns, "web")
    with urllib.request.urlopen(f"http://{web.status.pod_ip}:8080/hostname", timeout=5) as answer:
        assert answer.read().decode().strip() == "web"
    hostnet = running_pod(kube, ns, "hostnet")
    assert hostnet.status.pod_ip == hostnet.status.host_ip
    links = kube.kubectl("exec", "-n", ns, "hostnet", "--", "cat", "/proc/net/dev")
    assert links.count(":") == pathlib.Path("/proc/net/dev").read_text().count(":")


def test_every_node_is_a_containerd_node(cluster: ClusterThread) -> None:
    assert all(isinstance(k.simulator, CriNode) for k in cluster.cluster.kubelets)


def test_logs_follow_streams_new_lines_of_the_named_container(kube: Kube, ns: str) -> None:
    script = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"
    _pod(
        kube,
        ns,
        "ticker",
        {
            "containers": [
                {"name": "quiet", "image": "debian:10", "command": SLEEP},
                {"name": "loud", "image": "debian:10", "command": ["/bin/bash", "-c", script]},
            ]
        },
    )
    running_pod(kube, ns, "ticker")
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
    proc = subprocess.Popen(
        ["kubectl", "logs", "-f", "-n", ns, "ticker", "-c", "loud", "--tail=1"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.kill()
        proc.wait()
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert kube.kubectl("logs", "-n", ns, "ticker", "-c", "quiet") == ""


def test_an_imported_archive_runs_with_pull_policy_never(
    kube: Kube, ns: str, cluster_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add("/usr/bin/sleep", "usr/bin/sleep")
        for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
            tar.add(os.path.realpath(lib), lib.lstrip("/"))
    archive = tmp_path / "tool.tar"
    recipe = Recipe("minbase", (), ("/usr/bin/sleep", "86402"))
    name = f"example.org/tool-{secrets.token_hex(3)}:1"
    write_oci_archive(rootfs, recipe, archive, f"{name}")
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "localcluster",
            "image",
            "import",
            "--dir",
            str(cluster_dir),
            str(archive),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert f"imported {name}" in out
    _pod(kube, ns, "imported", {"containers": [{"name": "c1", "image": name, "imagePullPolicy": "Never"}]})
    pod = running_pod(kube, ns, "imported")
    assert pod.status.container_statuses[0].image == name


def test_localcluster_exec_is_kubectl_exec(kube: Kube, ns: str, cluster_dir: pathlib.Path) -> None:
    _pod(kube, ns, "wrapped", {"containers": [{"name": "c1", "image": "debian:10", "command": SLEEP}]})
    running_pod(kube, ns, "wrapped")
    argv = [
        sys.executable,
        str(ROOT / "app.py"),
        "localcluster",
        "exec",
        "--dir",
        str(cluster_dir),
        "-n",
        ns,
        "wrapped",
        "-c",
        "c1",
        "--",
        "sh",
        "-c",
        "cat /etc/hostname; exit 4",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (4, "wrapped\n")
