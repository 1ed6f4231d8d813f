"""``localcluster up --detach --install-varmor``: the image imported, the chart installed by Helm's SDK.

The pieces of the install run for real on a two-node local cluster: ``make image``'s archive imported
into the cluster's containerd under the chart's default name, ``helm install`` through Helm's Go SDK
against the local API server, and the chart's agent DaemonSet running from the image on every node
with the local node paths (the cluster's containerd socket, its seccomp root, the host's BTF, cgroup
v2, modules and kernel headers): Ready means the agent passed its node checks and serves readiness.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from localcluster import charts, installing

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODES = ["node-1", "node-2"]
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes and the tracer need root")


def _app(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def cluster(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    state = tmp_path / "cluster"
    up = _app("localcluster", "up", "--detach", "--dir", str(state), "--nodes", str(len(NODES)))
    assert up.returncode == 0, up.stderr
    try:
        yield state
    finally:
        _app("localcluster", "down", "--dir", str(state))


def test_the_charts_agents_run_from_the_image_on_every_node(cluster: pathlib.Path) -> None:
    image = installing.import_image(cluster, sys.stderr)
    values = charts.merged(installing.local_values(cluster), charts.values_from_sets(
        ["behaviorModeling.enabled=true"]))
    release = charts.install(cluster / "kubeconfig", values)
    assert release["status"] == "deployed" and release["namespace"] == "varmor"
    api = client.CoreV1Api(config.new_client_from_config(str(cluster / "kubeconfig")))  # type: ignore[no-untyped-call]

    def pods() -> list[dict[str, Any]]:
        listed = api.list_namespaced_pod("varmor", label_selector="app=varmor-agent")
        return [api.api_client.sanitize_for_serialization(p) for p in listed.items]

    installing.wait_ready(pods, NODES, replicas=0, timeout=300)
    agents = pods()
    assert sorted(p["spec"]["nodeName"] for p in agents) == NODES
    images = {p["spec"]["containers"][0]["image"] for p in agents}
    assert images == {image} == {"docker.io/varmor/varmor-py:0.1.0"}
    for pod in agents:
        log = api.read_namespaced_pod_log(pod["metadata"]["name"], "varmor")
        assert f"Agent started node={pod['spec']['nodeName']} modeling=True" in log, log
        assert (cluster / "agents" / pod["spec"]["nodeName"] / "reported").is_dir()  # its own state
    secrets = [s.metadata.name for s in api.list_namespaced_secret("varmor").items if s.metadata]
    assert "sh.helm.release.v1.varmor.v1" in secrets  # Helm's own release record


def test_install_flags_are_checked_before_a_cluster_starts(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "never"
    bad_set = _app("localcluster", "up", "--detach", "--dir", str(state), "--install-varmor", "--set", "a={b")
    assert bad_set.returncode == 2 and bad_set.stderr.startswith("error: --set a={b"), bad_set.stderr
    assert "Traceback" not in bad_set.stderr
    no_detach = _app("localcluster", "up", "--dir", str(state), "--install-varmor")
    assert no_detach.returncode == 2 and "need --detach" in no_detach.stderr
    set_alone = _app("localcluster", "up", "--detach", "--dir", str(state), "--set", "x=1")
    assert set_alone.returncode == 2 and "--set is for --install-varmor" in set_alone.stderr
    assert not (state / "pid").exists()
