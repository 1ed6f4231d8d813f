"""Kill the leader while a window is open: the other replica takes over within the Lease time, the
killed leader leaves no status service behind, and the policy still completes with every node's data."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
import requests

from tests.localcluster.support import Kube, eventually
from tests.manager.support import ManagerProcess, agent_token, local_cluster, report

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
PROFILE = "varmor-cluster-varmor-failover"


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Kube, ManagerProcess, ManagerProcess]]:
    state = tmp_path_factory.mktemp("failover")
    with local_cluster(state) as kube:
        first = ManagerProcess(kube, state, "manager-a")
        second: ManagerProcess | None = None
        try:
            eventually(first.serving_status, timeout=60)
            second = ManagerProcess(kube, state, "manager-b")
            yield kube, first, second
        finally:
            for replica in (first, second):
                if replica is not None:
                    replica.stop()


def data(node: str, execution: str) -> dict[str, object]:
    return {"namespace": "varmor", "armorProfile": PROFILE, "nodeName": node, "status": "succeeded",
            "dynamicResult": {"apparmor": {"profiles": [PROFILE], "executions": [execution]},
                              "seccomp": {"syscalls": ["read"]}}}


def phase(kube: Kube) -> str:
    policy = kube.custom.get_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies",
                                                   "failover")
    return str((policy.get("status") or {}).get("phase") or "")


def test_the_follower_takes_over_and_the_policy_completes_with_every_report(
    replicas: tuple[Kube, ManagerProcess, ManagerProcess],
) -> None:
    kube, leader, follower = replicas
    kube.custom.create_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies", {
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy",
        "metadata": {"name": "failover"},
        "spec": {"target": {"kind": "Deployment", "name": "web"},
                 "policy": {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling",
                            "modelingOptions": {"duration": 1}}}})
    eventually(lambda: phase(kube) == "Pending", timeout=20)
    token = agent_token(kube)
    assert report(leader, token, "/apis/v1/data", data("node-1", "/usr/bin/id")).status_code == 200
    assert not follower.serving_status()

    eventually(lambda: "Joined the election" in follower.log.read_text(), timeout=60)
    time.sleep(1.5)  # the follower has read the Lease at least once
    leader.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    def holder() -> str:
        return str(kube.coordination.read_namespaced_lease("varmor-manager", "varmor").spec.holder_identity)
    eventually(lambda: holder() == "manager-b", timeout=30, interval=0.2)
    took = time.monotonic() - killed
    assert took < 4 + 1 + 4, took  # the Lease's duration and retry period, with slack for a busy machine
    eventually(follower.serving_status, timeout=30)
    with pytest.raises(requests.RequestException):
        requests.get(leader.url("/healthz"), verify=False, timeout=2)  # no orphaned status service

    assert report(follower, token, "/apis/v1/data", data("node-2", "/usr/bin/env")).status_code == 200
    eventually(lambda: phase(kube) == "Completed", timeout=90, interval=0.5)
    model = kube.custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor",
                                                     "armorprofilemodels", PROFILE)
    assert model["status"]["reportedNodes"] == ["node-1", "node-2"]
    assert model["data"]["dynamicResult"]["apparmor"]["executions"] == ["/usr/bin/id", "/usr/bin/env"]
