"""The node runtime's pure parts: image names and recipes, containerd and CNI configuration,
kubelet's restart back-off and pod phase, the CRI requests a pod becomes, CRI log lines."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import tarfile
from typing import Any

from cri import runtime_pb2 as pb
from localcluster.node import criconfigs, slots
from localcluster.runtime import containerd, imagebuild, images, networks
from localcluster.streaming import exit_status, render_log, tail


def test_image_names_normalise_as_containerd_names_them() -> None:
    assert images.normalise("debian:10") == "docker.io/library/debian:10"
    assert images.normalise("curlimages/curl:7.87.0") == "docker.io/curlimages/curl:7.87.0"
    assert images.normalise("nginx") == "docker.io/library/nginx:latest"
    assert images.normalise("localhost:5000/x") == "localhost:5000/x:latest"


def test_recipes_cover_the_guides_images_and_common_examples_only() -> None:
    for name in (
        "debian:10",
        "debian:bookworm",
        "curlimages/curl:7.87.0",
        "busybox",
        "nginx:1.25",
        "python:3",
    ):
        assert images.recipe_for(name) is not None, name
    assert images.recipe_for("example.org/absent:1") is None
    assert images.recipe_for("debian:10") == images.recipe_for("debian:12")
    assert images.recipe_for("debian:10").key() != images.recipe_for("curlimages/curl:1").key()  # type: ignore[union-attr]


def test_an_oci_archive_holds_the_layer_config_manifest_and_name(tmp_path: pathlib.Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add(__file__, "etc/marker")
    recipe = images.Recipe("minbase", ("curl",), ("--help",), ("curl",))
    imagebuild.write_oci_archive(rootfs, recipe, tmp_path / "out.tar", "docker.io/library/x:1")
    with tarfile.open(tmp_path / "out.tar") as tar:
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        entry = index["manifests"][0]
        manifest = json.loads(tar.extractfile(f"blobs/sha256/{entry['digest'][7:]}").read())  # type: ignore[union-attr]
        config = json.loads(tar.extractfile(f"blobs/sha256/{manifest['config']['digest'][7:]}").read())  # type: ignore[union-attr]
        names = tar.getnames()
    assert entry["annotations"]["io.containerd.image.name"] == "docker.io/library/x:1"
    assert config["config"]["Entrypoint"] == ["curl"] and config["config"]["Cmd"] == ["--help"]
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    assert f"blobs/sha256/{manifest['layers'][0]['digest'][7:]}" in names


def test_containerd_keeps_everything_under_the_clusters_directory(tmp_path: pathlib.Path) -> None:
    text = containerd.render_config(containerd.Layout(tmp_path))
    for line in (
        f'root = "{tmp_path}/root"',
        f'state = "{tmp_path}/state"',
        f'address = "{tmp_path}/ctd.sock"',
        f'Root = "{tmp_path}/runc"',
        f'path = "{tmp_path}/opt"',
        "SystemdCgroup = false",
        "restrict_oom_score_adj = true",
        f'sandbox_image = "{images.PAUSE_IMAGE}"',
    ):
        assert line in text, line


def test_each_cluster_gets_a_free_subnet_and_its_own_bridge(tmp_path: pathlib.Path) -> None:
    first = networks.choose(tmp_path, set())
    taken = {ipaddress.IPv4Network(first.subnet)}
    second = networks.choose(tmp_path, taken)
    assert second.subnet != first.subnet and second.bridge != first.bridge
    assert len(first.bridge) <= 15
    conf = networks.conflist(first, tmp_path / "ipam")
    assert conf["plugins"][0]["ipam"]["dataDir"] == str(tmp_path / "ipam")
    assert networks.routed_subnets(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
    ) == {ipaddress.IPv4Network("192.168.0.0/24")}


def test_restarts_back_off_like_kubelets() -> None:
    slot = slots.Slot({"name": "c"})
    delays = [slot.next_backoff(0.0) for _ in range(8)]
    assert delays == [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    assert slots.restart_wanted("Always", 0) and slots.restart_wanted("OnFailure", 1)
    assert not slots.restart_wanted("OnFailure", 0) and not slots.restart_wanted("Never", 1)


def test_a_restarting_container_keeps_the_pod_running_and_a_never_started_one_pending() -> None:
    restarting = slots.Slot(
        {"name": "c", "image": "debian:10"},
        waiting=("CrashLoopBackOff", "x"),
        last_terminated={"exitCode": 3},
    )
    fresh = slots.Slot({"name": "d", "image": "debian:10"})
    statuses = [slots.container_status(restarting)]
    assert slots.phase("Always", statuses) == "Running"
    assert slots.phase("Always", [*statuses, slots.container_status(fresh)]) == "Pending"
    done = slots.Slot({"name": "e"}, waiting=None, terminated={"exitCode": 0})
    assert slots.phase("Never", [slots.container_status(done)]) == "Succeeded"
    assert slots.container_status(restarting)["image"] == "docker.io/library/debian:10"


def test_a_pod_becomes_kubelets_sandbox_and_container_requests(tmp_path: pathlib.Path) -> None:
    container: dict[str, Any] = {
        "name": "c1",
        "image": "debian:10",
        "command": ["sh", "-c", "echo $(X)"],
        "env": [{"name": "X", "value": "1"}],
        "securityContext": {
            "privileged": True,
            "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
        },
    }
    pod = {
        "metadata": {"name": "p", "namespace": "demo", "uid": "u-1", "labels": {"app": "p"}},
        "spec": {
            "shareProcessNamespace": True,
            "containers": [container],
        },
    }
    sandbox = criconfigs.sandbox_config(pod, tmp_path)
    assert sandbox.linux.cgroup_parent == "/kubepods/besteffort/podu-1"
    assert sandbox.linux.security_context.namespace_options.pid == pb.POD
    assert sandbox.linux.security_context.privileged
    assert dict(sandbox.labels) == {
        "app": "p",
        "io.kubernetes.pod.name": "p",
        "io.kubernetes.pod.namespace": "demo",
        "io.kubernetes.pod.uid": "u-1",
    }
    config, problem = criconfigs.container_config(pod, container, 2, tmp_path, tmp_path, "10.0.0.2")
    assert problem is None
    assert list(config.command) == ["sh", "-c", "echo 1"] and config.log_path == "c1/2.log"
    assert config.linux.security_context.seccomp.localhost_ref == str(tmp_path / "p.json")
    assert config.labels["io.kubernetes.container.name"] == "c1"


def test_cri_log_lines_render_as_kubectl_prints_them() -> None:
    data = (
        b"2026-12-01T20:00:00.1Z stdout P hel\n2026-12-01T20:00:00.2Z stdout F lo\n"
        b"2026-12-01T20:00:01Z stderr F oops\n"
    )
    assert render_log(data, False) == b"hello\noops\n"
    assert render_log(data, True).startswith(b"2026-12-01T20:00:00.1Z hello\n")
    assert tail(b"a\nb\nc\n", 2) == b"b\nc\n" and tail(b"a\n", 0) == b""
    assert exit_status(0)["status"] == "Success"
    assert exit_status(7)["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
