"""DefenseInDepth profiles from a model (upstream spec §5.5): modes, raw rules and error reasons."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest

from generator.apm import armor_profile_model, read_document
from generator.enforcing import RUNTIME_GROUP, ModelError, enforcing_profile, stored_profiles
from generator.models import BehaviorModel
from generator.render import render_apparmor, render_seccomp

DATA = pathlib.Path(__file__).resolve().parent / "data"
NAME = "varmor-cluster-varmor-demo-4"


def guide_model() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "seed_demo4.model.json").read_text())
    model = read_document(document).model
    return armor_profile_model(model, NAME)


def policy(enforcer: str = "AppArmorSeccomp", **defense: Any) -> dict[str, Any]:
    section = {"appArmor": {"profileType": "BehaviorModel"}, "seccomp": {"profileType": "BehaviorModel"}}
    return {"enforcer": enforcer, "mode": "DefenseInDepth", "defenseInDepth": {**section, **defense}}


def test_enforcing_profiles_are_the_models_profiles_with_errno_and_enforce_mode() -> None:
    apm = guide_model()
    model = read_document(apm).model
    result = enforcing_profile(apm, policy(), NAME, "varmor")
    assert result.mode == "enforce" and result.name == NAME
    assert result.apparmor == render_apparmor(model, NAME)
    seccomp = json.loads(result.seccomp)
    learned = json.loads(render_seccomp(model))
    runtime = {"names": list(RUNTIME_GROUP), "action": "SCMP_ACT_ALLOW"}
    syscalls = [*learned["syscalls"], runtime]
    assert seccomp == {**learned, "defaultAction": "SCMP_ACT_ERRNO", "syscalls": syscalls}
    assert "unshare" in seccomp["syscalls"][1]["names"]


def test_allow_violations_logs_seccomp_and_puts_apparmor_in_complain_mode() -> None:
    result = enforcing_profile(guide_model(), policy(allowViolations=True), NAME, "varmor")
    assert result.mode == "complain"
    assert json.loads(result.seccomp)["defaultAction"] == "SCMP_ACT_LOG"


def test_raw_rules_are_added_as_upstream_does() -> None:
    raw: dict[str, Any] = {"appArmor": {"profileType": "BehaviorModel",
                        "appArmorRawRules": [{"rules": "deny /etc/shadow r,\n\naudit /tmp/** w,"}]},
           "seccomp": {"profileType": "BehaviorModel",
                       "syscallRawRules": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}}
    result = enforcing_profile(guide_model(), policy(**raw), NAME, "varmor")
    assert result.apparmor.endswith("  umount,\n\n\n  # Custom Rules\n  deny /etc/shadow r,\n\n"
                                     "  audit /tmp/** w,\n}\n")
    assert json.loads(result.seccomp)["syscalls"][-1] == {"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}


def test_a_seccomp_only_policy_gets_no_apparmor_profile() -> None:
    result = enforcing_profile(guide_model(), policy("Seccomp"), NAME, "varmor")
    assert result.apparmor == "" and result.seccomp


def test_profiles_are_rendered_from_the_data_when_the_model_stores_none() -> None:
    apm = guide_model()
    bare = copy.deepcopy(apm)
    del bare["data"]["profile"]
    assert stored_profiles(bare) == stored_profiles(apm)


@pytest.mark.parametrize(("apm", "spec", "reason"), [
    (None, policy(), "the ArmorProfileModel varmor/x was not found: model the workload first"),
    (armor_profile_model(BehaviorModel(), "x"), policy("Seccomp"),
     "the ArmorProfileModel varmor/x has no seccomp profile: nothing was recorded"),
    (armor_profile_model(BehaviorModel(), "x"), policy("AppArmor"),
     "the ArmorProfileModel varmor/x has no AppArmor profile: nothing was recorded"),
    ({"storageType": "LocalDisk", "data": {}}, policy(),
     "the ArmorProfileModel varmor/x is stored on LocalDisk and was not loaded"),
    ({}, policy("AppArmorBPF"), "The DefenseInDepth mode is not supported when BPF enforcer is activated."),
    ({}, {"enforcer": "Seccomp", "mode": "DefenseInDepth"},
     "The defenseInDepth field should be set when the policy runs in the DefenseInDepth mode."),
])
def test_an_unusable_model_or_policy_gives_the_reason_for_the_error_status(
        apm: dict[str, Any] | None, spec: dict[str, Any], reason: str) -> None:
    with pytest.raises(ModelError) as error:
        enforcing_profile(apm, spec, "x", "varmor")
    assert str(error.value) == reason


def test_raw_rules_with_targets_and_malformed_syscall_rules_are_refused_with_a_reason() -> None:
    rule = {"rules": "deny /x r,", "targets": ["/bin/sh"]}
    targeted: dict[str, Any] = {"appArmor": {"appArmorRawRules": [rule]}}
    with pytest.raises(ModelError, match="targets"):
        enforcing_profile(guide_model(), policy(**targeted), NAME, "varmor")
    malformed: dict[str, Any] = {"seccomp": {"syscallRawRules": [{"names": "chmod"}]}}
    with pytest.raises(ModelError, match="needs names"):
        enforcing_profile(guide_model(), policy(**malformed), NAME, "varmor")


def test_a_custom_profile_is_used_as_given() -> None:
    given = '{"defaultAction":"SCMP_ACT_ALLOW"}'
    custom: dict[str, Any] = {"seccomp": {"profileType": "Custom", "customProfile": given}}
    result = enforcing_profile(None, policy("Seccomp", **custom), NAME, "varmor")
    assert json.loads(result.seccomp) == {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}
