"""kubectl v1.32 runs the user guide's commands against the local cluster.

The two demo-4 Deployments are created with the guide's ``kubectl create -f -`` heredocs, their
pods reach Running, ``get -A -l``, ``patch --type=json``, ``-o jsonpath`` and Table output work,
and the VarmorClusterPolicy CRD's printer columns are printed.
"""

from __future__ import annotations

import pytest

from localcluster.guide import DEFAULT_DEPLOYMENT, DEMO_DEPLOYMENT, POLICY
from tests.localcluster.support import Kube, eventually, running_pods

DEMO_NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"


@pytest.fixture(scope="module")
def demo(kube: Kube) -> Kube:
    kube.kubectl("create", "-f", "-", stdin=DEMO_NS)
    for manifest in (DEFAULT_DEPLOYMENT, DEMO_DEPLOYMENT):
        out = kube.kubectl("create", "-f", "-", stdin=manifest)
        assert out.strip() == "deployment.apps/demo-4 created"
    for ns in ("default", "demo"):
        eventually(lambda ns=ns: running_pods(kube, ns, "app=demo-4", 2))  # type: ignore[misc]
    return kube


def test_both_demo_deployments_run_two_pods_each(demo: Kube) -> None:
    for ns in ("default", "demo"):
        pods = running_pods(demo, ns, "app=demo-4", 2) or []
        assert all(
            s.container_id.startswith("containerd://") for p in pods for s in p.status.container_statuses
        )


def test_get_pods_in_all_namespaces_by_label_lists_them(demo: Kube) -> None:
    lines = demo.kubectl("get", "pods", "-A", "-l", "app=demo-4").splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = [line.split() for line in lines[1:]]
    assert sorted(r[0] for r in rows) == ["default", "default", "demo", "demo"]
    assert {r[3] for r in rows} == {"Running"}
    assert sorted(r[2] for r in rows) == ["1/1", "1/1", "2/2", "2/2"]


def test_json_patch_of_the_template_rolls_the_pods(demo: Kube) -> None:
    before = {p.metadata.name for p in running_pods(demo, "default", "app=demo-4", 2) or []}
    patch = '[{"op": "add", "path": "/spec/template/metadata/annotations", "value": {"rollout": "1"}}]'
    out = demo.kubectl("patch", "deployment", "demo-4", "-n", "default", "--type=json", "-p", patch)
    assert "patched" in out

    def rolled() -> list[str] | None:
        pods = running_pods(demo, "default", "app=demo-4", 2) or []
        names = {p.metadata.name for p in pods if (p.metadata.annotations or {}).get("rollout") == "1"}
        return sorted(names) if len(names) == 2 and not names & before else None

    eventually(rolled)


def test_jsonpath_output_prints_the_field(demo: Kube) -> None:
    eventually(
        lambda: (
            demo.kubectl("get", "deploy", "demo-4", "-n", "demo", "-o", "jsonpath={.status.readyReplicas}")
            == "2"
        )
    )
    images = demo.kubectl(
        "get", "deploy", "demo-4", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[*].image}"
    )
    assert images == "curlimages/curl:7.87.0 debian:10"


def test_core_kinds_print_their_table_columns(demo: Kube) -> None:
    deploy = demo.kubectl("get", "deploy", "-n", "demo").splitlines()
    assert deploy[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deploy[1].split()[:4] == ["demo-4", "2/2", "2", "2"]
    nodes = demo.kubectl("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [line.split()[:2] for line in nodes[1:]] == [["node-1", "Ready"], ["node-2", "Ready"]]


def test_the_cluster_policy_prints_its_printer_columns(demo: Kube) -> None:
    demo.kubectl("create", "-f", "-", stdin=POLICY)
    lines = demo.kubectl("get", "vcpol", "demo-4").splitlines()
    assert lines[0].split() == [
        "NAME",
        "ENFORCER",
        "MODE",
        "TARGET-KIND",
        "TARGET-NAME",
        "TARGET-SELECTOR",
        "PROFILE-NAME",
        "READY",
        "STATUS",
        "AGE",
    ]
    row = lines[1].split()
    assert row[:5] == [
        "demo-4",
        "AppArmorSeccomp",
        "BehaviorModeling",
        "Deployment",
        '{"matchLabels":{"app":"demo-4"}}',
    ]
