"""A DefenseInDepth policy's plan: the ArmorProfile carries the enforcing profiles of its model,
and an absent or empty model is an Error with the reason until the model appears (spec §5.5)."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

from api.names import LOCAL_DISK
from controller.plans import MODEL_RETRY, Observed, Options, plan
from generator.apm import armor_profile_model, read_document
from tests.controller.test_policy_plans import KEY, NAME, T0, vcpol

DATA = pathlib.Path(__file__).resolve().parents[1] / "generator" / "data"
OPTIONS = Options()


def guide_model() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "seed_demo4.model.json").read_text())
    model = armor_profile_model(read_document(document).model, NAME)
    model["metadata"]["namespace"] = "varmor"
    return model


def did(allow_violations: bool = False, enforcer: str = "AppArmorSeccomp") -> dict[str, Any]:
    defense = {"appArmor": {"profileType": "BehaviorModel"}, "seccomp": {"profileType": "BehaviorModel"},
               "allowViolations": allow_violations}
    policy = vcpol(mode="DefenseInDepth", enforcer=enforcer, defenseInDepth=defense)
    policy["spec"]["policy"].pop("modelingOptions")
    return policy


def observed(policy: dict[str, Any], model: dict[str, Any] | None, profile: dict[str, Any] | None = None
             ) -> Observed:
    return Observed(KEY, policy, profile, model, 2, T0)


def test_the_profile_enforces_the_models_seccomp_with_errno_and_its_apparmor_in_enforce_mode() -> None:
    steps = plan(observed(did(), guide_model()), OPTIONS)
    assert steps.create_profile is not None
    section = steps.create_profile["spec"]["profile"]
    assert section["mode"] == "enforce" and section["enforcer"] == "AppArmorSeccomp"
    seccomp = json.loads(section["seccompContent"])
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "unshare" in {n for group in seccomp["syscalls"] for n in group["names"]}
    assert "/usr/bin/unshare ix," in section["content"] and f"profile {NAME} " in section["content"]
    assert steps.create_profile["spec"]["behaviorModeling"] == {"enable": False, "duration": 0}
    assert steps.roll == "restart"
    assert steps.status is not None and steps.status["phase"] == "Pending"


def test_allow_violations_makes_the_profile_complain_and_seccomp_log() -> None:
    section = plan(observed(did(allow_violations=True), guide_model()), OPTIONS).create_profile
    assert section is not None
    assert section["spec"]["profile"]["mode"] == "complain"
    assert json.loads(section["spec"]["profile"]["seccompContent"])["defaultAction"] == "SCMP_ACT_LOG"


def test_a_missing_model_is_an_error_with_the_reason_and_an_event_until_the_model_appears() -> None:
    policy = did()
    steps = plan(observed(policy, None), OPTIONS)
    assert steps.create_profile is None and steps.roll == ""
    assert steps.status is not None
    assert (steps.status["phase"], steps.status["ready"]) == ("Error", False)
    created = next(c for c in steps.status["conditions"] if c["type"] == "Created")
    assert (created["status"], created["reason"]) == ("False", "Error")
    assert f"ArmorProfileModel varmor/{NAME} was not found" in created["message"]
    assert steps.events == (("Warning", "Error", created["message"]),)
    assert steps.requeue_after == MODEL_RETRY
    waiting = {**policy, "status": steps.status}
    again = plan(observed(waiting, None), OPTIONS)
    assert again.status is None and again.events == ()  # no second write, no second Event
    appeared = plan(observed(waiting, guide_model()), OPTIONS)
    assert appeared.create_profile is not None and appeared.status is not None
    assert next((c["type"], c["status"]) for c in appeared.status["conditions"]) == ("Created", "True")


def test_an_empty_or_unloaded_model_is_an_error_with_the_reason() -> None:
    empty = guide_model()
    empty["data"] = {}
    steps = plan(observed(did(enforcer="Seccomp"), empty), OPTIONS)
    assert steps.status is not None and steps.status["phase"] == "Error"
    assert "has no seccomp profile" in steps.events[0][2]
    unloaded = {**guide_model(), "storageType": LOCAL_DISK, "data": {}}
    steps = plan(observed(did(), unloaded), OPTIONS)
    assert "stored on LocalDisk and was not loaded" in steps.events[0][2]


def test_the_policy_protects_once_every_agent_loaded_the_enforcing_profile() -> None:
    model = guide_model()
    profile = copy.deepcopy(plan(observed(did(), model), OPTIONS).create_profile)
    assert profile is not None
    profile["metadata"].update(uid="ap-1", creationTimestamp="2026-01-01T12:00:00Z")
    profile["status"] = {"loadedNodes": ["node-1", "node-2"]}
    steps = plan(observed(did(), model, profile), OPTIONS)
    assert steps.profile_spec is None and steps.create_profile is None
    assert steps.status is not None
    assert (steps.status["phase"], steps.status["ready"]) == ("Protecting", True)
    switched = plan(observed(did(allow_violations=True), model, profile), OPTIONS)
    assert switched.profile_spec is not None and switched.profile_spec["profile"]["mode"] == "complain"


def test_violations_the_model_holds_become_a_condition_of_a_policy_that_allows_them() -> None:
    model = guide_model()
    model["status"] = {"violations": [{"node": "node-1", "pod": "default/demo-4-x", "container": "c0",
                                       "syscall": "unshare", "exe": "/usr/bin/unshare"}]}
    for allow in (True, False):
        profile = copy.deepcopy(plan(observed(did(allow_violations=allow), model), OPTIONS).create_profile)
        assert profile is not None
        profile["metadata"].update(uid="ap-1", creationTimestamp="2026-01-01T12:00:00Z")
        profile["status"] = {"loadedNodes": ["node-1", "node-2"]}
        steps = plan(observed(did(allow_violations=allow), model, profile), OPTIONS)
        assert steps.status is not None and steps.status["phase"] == "Protecting"
        found = next((c for c in steps.status["conditions"] if c["type"] == "Violations"), None)
        if not allow:  # an enforcing profile denied it: nothing was allowed
            assert found is None
            continue
        assert found is not None and (found["status"], found["reason"]) == ("True", "AllowedViolations")
        assert found["message"].startswith("1 syscalls outside the profile were allowed and logged: "
                                           "unshare (default/demo-4-x c0 on node-1)")
