"""The real ``python app.py manager`` on the local cluster with DefenseInDepth policies whose
profiles come from the model (upstream spec §5.5): without its model a policy is an Error with the
reason; when the model appears (in the object, or on the manager's disk when ``LocalDisk``) the
ArmorProfile carries the enforcing profiles and the policy protects once every agent loaded them.
The tests run in file order.
"""

from __future__ import annotations

import copy
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from api.names import ARMOR_PROFILE_MODELS, ARMOR_PROFILES, GROUP, VARMOR_CLUSTER_POLICIES, VERSION
from generator.apm import armor_profile_model, read_document
from tests.localcluster.support import Kube, eventually
from tests.manager.support import (
    ManagerProcess,
    agent_token,
    local_cluster,
    report,
    running_manager,
    status_body,
)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
SEED = pathlib.Path(__file__).resolve().parents[1] / "generator" / "data" / "seed_demo4.model.json"
World = tuple[Kube, ManagerProcess, pathlib.Path]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = tmp_path_factory.mktemp("manager-did")
    with local_cluster(state) as kube, running_manager(kube, state) as manager:
        yield kube, manager, state / "manager-a" / "apm"


def policy(name: str) -> dict[str, Any]:
    defense = {"appArmor": {"profileType": "BehaviorModel"}, "seccomp": {"profileType": "BehaviorModel"}}
    return {"apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy", "metadata": {"name": name},
            "spec": {"target": {"kind": "Deployment", "selector": {"matchLabels": {"app": name}}},
                     "policy": {"enforcer": "AppArmorSeccomp", "mode": "DefenseInDepth",
                                "defenseInDepth": defense}}}


def model(name: str) -> dict[str, Any]:
    learned = read_document(json.loads(SEED.read_text())).model
    return armor_profile_model(learned, f"varmor-cluster-varmor-{name}")


def status(kube: Kube, name: str) -> dict[str, Any]:
    obj = kube.custom.get_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, name)
    return dict(obj.get("status") or {})


def armor_profile(kube: Kube, name: str) -> dict[str, Any] | None:
    items = kube.custom.list_namespaced_custom_object(GROUP, VERSION, "varmor", ARMOR_PROFILES)["items"]
    return next((p for p in items if p["metadata"]["name"] == f"varmor-cluster-varmor-{name}"), None)


def learned_and_enforced(kube: Kube, name: str) -> bool:
    found = armor_profile(kube, name)
    if found is None:
        return False
    section = found["spec"]["profile"]
    seccomp = json.loads(section["seccompContent"])
    return (section["mode"] == "enforce" and seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
            and "unshare" in {n for g in seccomp["syscalls"] for n in g["names"]}
            and "/usr/bin/unshare ix," in section["content"])


def test_a_policy_without_its_model_is_an_error_with_the_reason_and_an_event(world: World) -> None:
    kube, _manager, _disk = world
    kube.custom.create_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, policy("did-4"))
    eventually(lambda: status(kube, "did-4").get("phase") == "Error", timeout=30)
    created = next(c for c in status(kube, "did-4")["conditions"] if c["type"] == "Created")
    assert (created["status"], created["reason"]) == ("False", "Error")
    assert "ArmorProfileModel varmor/varmor-cluster-varmor-did-4 was not found" in created["message"]
    assert status(kube, "did-4")["ready"] is False and armor_profile(kube, "did-4") is None
    def error_events() -> list[Any]:
        return [e for e in kube.core.list_namespaced_event("default").items
                if e.involved_object.name == "did-4" and e.reason == "Error" and e.type == "Warning"]
    [event] = eventually(error_events, timeout=10)
    assert event.message == created["message"]


def test_the_model_appearing_builds_the_enforcing_profile_and_the_policy_protects(world: World) -> None:
    kube, manager, _disk = world
    models = (GROUP, VERSION, "varmor", ARMOR_PROFILE_MODELS)
    kube.custom.create_namespaced_custom_object(*models, model("did-4"))
    eventually(lambda: learned_and_enforced(kube, "did-4"), timeout=10)  # the model's event, not a retry
    token = agent_token(kube)
    for node in ("node-1", "node-2"):
        body = status_body(node, profile="varmor-cluster-varmor-did-4")
        assert report(manager, token, "/apis/v1/status", body).status_code == 200
    eventually(lambda: status(kube, "did-4").get("phase") == "Protecting", timeout=20)
    assert status(kube, "did-4")["ready"] is True


def test_violations_an_agent_reports_are_kept_in_the_models_status(world: World) -> None:
    kube, manager, _disk = world
    token = agent_token(kube)
    item = {"pod": "default/demo-4-x", "container": "c0", "syscall": "unshare", "exe": "/usr/bin/unshare"}
    body = {**status_body("node-1", profile="varmor-cluster-varmor-did-4"), "violations": [item]}
    for _ in range(2):  # a retried report counts once
        assert report(manager, token, "/apis/v1/violations", body).status_code == 200
    stored = kube.custom.get_namespaced_custom_object(GROUP, VERSION, "varmor", ARMOR_PROFILE_MODELS,
                                                      "varmor-cluster-varmor-did-4")
    assert stored["status"]["violations"] == [{"node": "node-1", **item}]
    assert stored["data"]["profile"]["seccompContent"]  # the model itself is untouched
    bad = report(manager, token, "/apis/v1/violations", {**body, "violations": [{"syscall": 272}]})
    assert bad.status_code == 400 and "violation" in bad.json()["message"]
    unknown = report(manager, token, "/apis/v1/violations", {**body, "armorProfile": "varmor-nope"})
    assert unknown.status_code == 404


def test_a_local_disk_model_is_read_from_the_managers_disk(world: World) -> None:
    kube, _manager, disk = world
    stored = model("did-5")
    name = stored["metadata"]["name"]
    disk.mkdir(parents=True, exist_ok=True)
    (disk / name).write_text(json.dumps(stored))
    slim = {**copy.deepcopy(stored), "data": {}, "storageType": "LocalDisk"}
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, "varmor", ARMOR_PROFILE_MODELS, slim)
    kube.custom.create_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, policy("did-5"))
    eventually(lambda: learned_and_enforced(kube, "did-5"), timeout=30)
    (disk / name).unlink()  # the file is lost: the policy says so
    kube.custom.delete_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, "did-5")
    eventually(lambda: armor_profile(kube, "did-5") is None, timeout=30)
    kube.custom.create_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES, policy("did-5"))
    eventually(lambda: status(kube, "did-5").get("phase") == "Error", timeout=30)
    message = next(c for c in status(kube, "did-5")["conditions"] if c["type"] == "Created")["message"]
    assert "stored on LocalDisk and was not loaded" in message
