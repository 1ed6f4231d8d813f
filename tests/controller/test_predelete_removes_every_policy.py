"""``app.py predelete`` (the chart's pre-delete hook) deletes every policy and keeps the models,
run as the real command against the local cluster."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
GROUP, VERSION = "crd.varmor.org", "v1beta1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, pathlib.Path]]:
    state = tmp_path_factory.mktemp("predelete-cluster")
    thread = ClusterThread(Settings(state_dir=state))
    thread.start()
    cfg = client.Configuration()
    cfg.host = thread.cluster.url
    try:
        yield client.ApiClient(cfg), write_kubeconfig(state / "kubeconfig", thread.cluster.url)
    finally:
        thread.stop()


def policy(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": meta, "spec": {
        "target": {"kind": "Deployment", "name": "web"},
        "policy": {"enforcer": "Seccomp", "mode": "BehaviorModeling", "modelingOptions": {"duration": 3}}}}


def test_every_policy_goes_and_models_stay(cluster: tuple[Any, pathlib.Path]) -> None:
    api_client, kubeconfig = cluster
    core: Any = client.CoreV1Api(api_client)
    crd: Any = client.CustomObjectsApi(api_client)
    for ns in ("varmor", "team-a"):
        core.create_namespace({"metadata": {"name": ns}})
    crd.create_cluster_custom_object(GROUP, VERSION, "varmorclusterpolicies",
                                     policy("VarmorClusterPolicy", "c1"))
    crd.create_namespaced_custom_object(GROUP, VERSION, "team-a", "varmorpolicies",
                                        policy("VarmorPolicy", "p1", "team-a"))
    model = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ArmorProfileModel",
             "metadata": {"name": "varmor-team-a-p1", "namespace": "team-a"}, "data": {}}
    crd.create_namespaced_custom_object(GROUP, VERSION, "team-a", "armorprofilemodels", model)

    done = subprocess.run([sys.executable, "app.py", "predelete", "--kubeconfig", str(kubeconfig),
                           "--wait", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "Deleted 2 policies" in done.stdout
    assert crd.list_cluster_custom_object(GROUP, VERSION, "varmorclusterpolicies")["items"] == []
    assert crd.list_cluster_custom_object(GROUP, VERSION, "varmorpolicies")["items"] == []
    kept = crd.get_namespaced_custom_object(GROUP, VERSION, "team-a", "armorprofilemodels",
                                            "varmor-team-a-p1")
    assert kept["metadata"]["name"] == "varmor-team-a-p1"


def test_without_a_cluster_it_says_so_in_one_line(tmp_path: pathlib.Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "app.py", "predelete", "--kubeconfig", str(kubeconfig),
                           "--wait", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
