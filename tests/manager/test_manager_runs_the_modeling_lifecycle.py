"""The real ``python app.py manager`` on the local cluster, through the guide's modeling lifecycle.

One manager replica (the leader) serves the webhook and the status service; two simulated nodes
report with ServiceAccount tokens issued by the local cluster. The tests run in file order, sharing
one policy: created, rolled, loaded, patched to a one-minute window, reported, completed, deleted.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from tests.localcluster.support import Kube, eventually, running_pods
from tests.manager.support import (
    GUIDE,
    PROFILE,
    ManagerProcess,
    agent_token,
    data_body,
    local_cluster,
    report,
    running_manager,
    status_body,
)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
SHADOW = {"path": "/etc/shadow", "owner": True, "permissions": ["r"]}
C1 = {"path": "/root/c1", "owner": True, "permissions": ["r", "w"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kube, ManagerProcess]]:
    state = tmp_path_factory.mktemp("manager")
    with local_cluster(state) as kube, running_manager(kube, state, tail=10**9) as manager:
        namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"
        kube.kubectl("create", "-f", "-", stdin=namespace)
        kube.kubectl("create", "-f", "-", stdin=GUIDE["demo-4-demo.yaml"])
        eventually(lambda: running_pods(kube, "demo", "app=demo-4", 2), timeout=60)
        yield kube, manager


def vcpol(kube: Kube) -> dict[str, Any]:
    return dict(kube.custom.get_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies",
                                                      "demo-4"))


def columns(kube: Kube) -> dict[str, str]:
    """``kubectl get vcpol demo-4`` as column → cell, cut at the header's positions (cells may be empty)."""
    header, row = kube.kubectl("get", "vcpol", "demo-4").splitlines()
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")]
    bounds = [*starts[1:], None]
    return {header[a:b].strip(): row[a:b].strip() for a, b in zip(starts, bounds, strict=True)}


def test_the_leader_holds_the_lease_and_labels_its_pod(world: tuple[Kube, ManagerProcess]) -> None:
    kube, _ = world
    lease = kube.coordination.read_namespaced_lease("varmor-manager", "varmor")
    assert lease.spec.holder_identity == "manager-a"
    pod = eventually(lambda: (p := kube.core.read_namespaced_pod("manager-a", "varmor")).metadata.labels.get(
        "identity") == "leader" and p)
    assert pod.metadata.labels["app"] == "varmor-manager"


def test_a_created_policy_gets_its_profile_and_rolls_the_existing_workload(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, _ = world
    listed = kube.core.list_namespaced_pod("demo", label_selector="app=demo-4").items
    before = {p.metadata.name for p in listed}
    kube.kubectl("create", "-f", "-", stdin=GUIDE["demo-4-vcpol.yaml"])
    eventually(lambda: columns(kube).get("STATUS") == "Pending", timeout=20)
    assert columns(kube)["PROFILE-NAME"] == PROFILE and columns(kube)["READY"] == "false"
    profile = kube.custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor", "armorprofiles",
                                                       PROFILE)
    assert profile["metadata"]["ownerReferences"][0]["uid"] == vcpol(kube)["metadata"]["uid"]
    assert profile["metadata"]["finalizers"] == ["varmor.org/ap-protection"]
    assert profile["spec"]["profile"]["mode"] == "complain"

    def rolled() -> list[Any] | None:
        pods = running_pods(kube, "demo", "app=demo-4", 2)
        return pods if pods and not {p.metadata.name for p in pods} & before else None
    pods = eventually(rolled, timeout=60)
    template = kube.apps.read_namespaced_deployment("demo-4", "demo").spec.template.metadata.annotations
    assert "controller.varmor.org/restartedAt" in template
    for pod in pods:
        c0, c1 = pod.spec.containers
        assert c1.security_context.seccomp_profile.localhost_profile == PROFILE
        assert c0.security_context is None or c0.security_context.seccomp_profile is None


def test_bad_reports_get_401_413_400_and_404_never_5xx(world: tuple[Kube, ManagerProcess]) -> None:
    kube, manager = world
    token = agent_token(kube)
    assert report(manager, "", "/apis/v1/status", status_body("node-1")).status_code == 401
    assert report(manager, "forged.token.x", "/apis/v1/status", status_body("node-1")).status_code == 401
    assert report(manager, agent_token(kube, "another-audience"), "/apis/v1/data",
                  status_body("node-1")).status_code == 401
    huge = {**status_body("node-1"), "message": "x" * (9 * 1024 * 1024)}
    assert report(manager, token, "/apis/v1/data", huge).status_code == 413
    bad_bodies: list[Any] = [{"nodeName": "node-1"}, [],
                             {**status_body("node-1"), "dynamicResult": {"apparmor": []}}]
    for bad in bad_bodies:
        answer = report(manager, token, "/apis/v1/data", bad)
        assert answer.status_code == 400, answer.text
        assert "message" in answer.json()
    not_json = requests.post(manager.url("/apis/v1/status"), data=b"{", headers={"Token": token},
                             verify=False, timeout=10)
    assert not_json.status_code == 400
    assert report(manager, token, "/apis/v1/status", status_body("node-1", "no-such")).status_code == 404


def test_every_agent_loading_the_profile_makes_it_ready_and_modeling(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, manager = world
    token = agent_token(kube)
    for node in ("node-1", "node-2", "node-2"):
        assert report(manager, token, "/apis/v1/status", status_body(node)).status_code == 200
    eventually(lambda: columns(kube).get("STATUS") == "Modeling", timeout=10)
    assert columns(kube)["READY"] == "true"
    conditions = {c["type"]: c for c in vcpol(kube)["status"]["conditions"]}
    assert conditions["Ready"]["reason"] == "AllAgentsReady" and conditions["Created"]["status"] == "True"


def test_the_webhook_learns_a_new_policy_within_a_second(world: tuple[Kube, ManagerProcess]) -> None:
    kube, _ = world
    kube.custom.create_namespaced_custom_object("crd.varmor.org", "v1beta1", "demo", "varmorpolicies", {
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorPolicy",
        "metadata": {"name": "solo", "namespace": "demo"},
        "spec": {"target": {"kind": "Pod", "name": "solo"},
                 "policy": {"enforcer": "Seccomp", "mode": "AlwaysAllow"}}})
    time.sleep(1.0)
    pod = kube.core.create_namespaced_pod("demo", {
        "metadata": {"name": "solo", "labels": {"sandbox.varmor.org/enable": "true"}},
        "spec": {"containers": [{"name": "c", "image": "debian:10"}]}})
    assert pod.spec.containers[0].security_context.seccomp_profile.localhost_profile == "varmor-demo-solo"
    kube.custom.delete_namespaced_custom_object("crd.varmor.org", "v1beta1", "demo", "varmorpolicies", "solo")
    kube.core.delete_namespaced_pod("solo", "demo", grace_period_seconds=0)
    eventually(lambda: "solo" not in kube.kubectl("get", "pods", "-n", "demo", "-o", "name"), timeout=30)
    time.sleep(1.0)
    again = kube.core.create_namespaced_pod("demo", {
        "metadata": {"name": "solo", "labels": {"sandbox.varmor.org/enable": "true"}},
        "spec": {"containers": [{"name": "c", "image": "debian:10"}]}})
    context = again.spec.containers[0].security_context
    assert context is None or context.seccomp_profile is None  # the deleted policy no longer applies


def test_two_nodes_reports_merge_and_the_duration_patch_completes_the_policy(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, manager = world
    token = agent_token(kube)
    kube.kubectl("patch", "vcpol", "demo-4", "--type", "json", "-p",
                 '[{"op": "replace", "path": "/spec/policy/modelingOptions/duration", "value": 1}]')
    bodies = [data_body("node-1", ["/usr/bin/id", "/usr/bin/unshare"], [SHADOW], ["unshare", "read"],
                        ["sys_admin"]),
              data_body("node-2", ["/usr/bin/id"], [C1], ["write"], []),
              data_body("node-2", ["/usr/bin/id"], [C1], ["write"], [])]
    for body in bodies:
        answer = report(manager, token, "/apis/v1/data", body)
        assert answer.status_code == 200, answer.text
    eventually(lambda: columns(kube).get("STATUS") == "Completed", timeout=90, interval=0.5)
    model = kube.custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor",
                                                     "armorprofilemodels", PROFILE)
    assert model["status"]["reportedNodes"] == ["node-1", "node-2"]
    assert model["status"]["completedNumber"] == 2
    env = {"KUBECONFIG": str(kube.kubeconfig), "PATH": "/usr/bin:/bin:/usr/local/bin",
           "HOME": str(kube.kubeconfig.parent)}
    def guide(field: str) -> str:
        return subprocess.run(
            f"kubectl get ArmorProfileModel -n varmor {PROFILE} -o jsonpath='{{.data.profile.{field}}}' "
            "| base64 -d", shell=True, capture_output=True, text=True, env=env, check=True).stdout
    apparmor = guide("content")
    for rule in ("/usr/bin/id ix,", "/usr/bin/unshare ix,", "owner /etc/shadow r,", "owner /root/c1 rw,",
                 "capability sys_admin,"):
        assert f"\n  {rule}\n" in apparmor, apparmor
    assert "unshare" in json.loads(guide("seccompContent"))["syscalls"][1]["names"]
    events = kube.core.list_namespaced_event("default").items
    assert {"ModelingStarted", "NodeReported", "ModelingCompleted"} <= {e.reason for e in events}


def test_the_model_is_exported_only_to_a_subject_rbac_allows(world: tuple[Kube, ManagerProcess]) -> None:
    kube, manager = world
    kube.core.create_namespaced_service_account("varmor", {"metadata": {"name": "exporter"}})
    url = manager.url(f"/apis/crd.varmor.org/v1beta1/namespaces/varmor/armorprofilemodels/{PROFILE}")
    bearer = {"Authorization": f"Bearer {agent_token(kube, account='exporter')}"}
    refused = requests.get(url, headers=bearer, verify=False, timeout=10)
    assert refused.status_code == 403, refused.text
    assert "system:serviceaccount:varmor:exporter" in refused.json()["message"]
    kube.kubectl("create", "clusterrole", "apm-reader", "--verb=get",
                 "--resource=armorprofilemodels.crd.varmor.org")
    kube.kubectl("create", "rolebinding", "apm-reader", "-n", "varmor", "--clusterrole=apm-reader",
                 "--serviceaccount=varmor:exporter")
    def exported() -> requests.Response | None:  # verdicts are cached for a few seconds
        answer = requests.get(url, headers=bearer, verify=False, timeout=10)
        return answer if answer.status_code == 200 else None
    answer = eventually(exported, timeout=15)
    assert base64.b64decode(answer.json()["data"]["profile"]["content"]).startswith(b"\n## == Managed")
    imported = requests.post(url, json={"data": {}}, headers=bearer, verify=False, timeout=10)
    assert imported.status_code == 403  # get only: an import needs create


def _sample(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape('{' + labels + '}') if labels else ''} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"{name}{{{labels}}} missing"
    return float(match.group(1))


def test_metrics_of_every_process_are_scraped_from_either_server(world: tuple[Kube, ManagerProcess]) -> None:
    _, manager = world
    text = requests.get(manager.url("/metrics"), verify=False, timeout=10).text
    assert _sample(text, "varmor_status_reports_total", 'endpoint="data",result="accepted"') >= 2
    assert _sample(text, "varmor_status_reports_total", 'endpoint="data",result="401"') >= 1
    assert _sample(text, "varmor_model_merge_seconds_count") >= 1  # the status service merged
    assert _sample(text, "varmor_model_render_seconds_count") >= 1  # the controllers rendered
    assert _sample(text, "varmor_policies", 'phase="Completed"') == 1
    assert _sample(text, "varmor_admission_requests_total", 'operation="mutate",result="patched"') >= 2
    assert _sample(text, "varmor_admission_request_seconds_count", 'operation="validate"') >= 1
    webhook = requests.get(f"https://127.0.0.1:{manager.webhook_port}/metrics", verify=False, timeout=10).text
    assert _sample(webhook, "varmor_admission_requests_total", 'operation="mutate",result="patched"') >= 2


def test_deleting_the_policy_releases_the_profile_and_keeps_the_model(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, _ = world
    kube.kubectl("delete", "vcpol", "demo-4")
    def profile_gone() -> bool:
        names = kube.kubectl("get", "armorprofiles", "-n", "varmor", "-o", "name")
        return PROFILE not in names
    eventually(profile_gone, timeout=30)
    assert PROFILE in kube.kubectl("get", "armorprofilemodels", "-n", "varmor", "-o", "name")
    def cleaned() -> bool:
        template = kube.apps.read_namespaced_deployment("demo-4", "demo").spec.template
        return "container.seccomp.security.beta.varmor.org/c1" not in (template.metadata.annotations or {})
    eventually(cleaned, timeout=30)
    api: Any = kube.api
    dumped = yaml.safe_dump(api.sanitize_for_serialization(
        kube.apps.read_namespaced_deployment("demo-4", "demo").spec.template))
    assert PROFILE not in dumped


INVALID = """apiVersion: crd.varmor.org/v1beta1
kind: VarmorClusterPolicy
metadata:
  name: no-options
spec:
  target:
    kind: Deployment
    name: web
  policy:
    enforcer: AppArmor
    mode: BehaviorModeling
"""
MESSAGE = "The modelingOptions field should be set when the policy runs in the BehaviorModeling mode."


def test_an_invalid_policy_is_denied_and_the_controller_is_the_backstop(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, _ = world
    denied = kube.kubectl("create", "-f", "-", stdin=INVALID, check=False)
    assert MESSAGE in denied
    kube.admission.delete_validating_webhook_configuration("varmor-policy-validating-webhook-cfg-debug")
    kube.kubectl("create", "-f", "-", stdin=INVALID)  # failurePolicy Ignore: nothing checks it on the way in
    def refused() -> dict[str, Any] | None:
        obj = kube.custom.get_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies",
                                                    "no-options")
        return obj if (obj.get("status") or {}).get("phase") == "Error" else None
    status = eventually(refused, timeout=20)["status"]
    created = next(c for c in status["conditions"] if c["type"] == "Created")
    assert (created["status"], created["reason"], created["message"]) == ("False", "Forbidden", MESSAGE)
    assert "varmor-cluster-varmor-no-options" not in kube.kubectl("get", "armorprofiles", "-n", "varmor",
                                                                  "-o", "name")
