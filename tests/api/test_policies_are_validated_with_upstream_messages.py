"""The validation matrix of upstream spec §2.4 (and ``validate_test.go``), with exact messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.validation import (
    MSG_DURATION,
    MSG_NO_TARGET,
    ValidationOptions,
    modeling_duration_error,
    validate_create,
    validate_update,
)

ENABLED = ValidationOptions(behavior_modeling_enabled=True)
DISABLED = ValidationOptions(behavior_modeling_enabled=False)


def vpol(name: str = "demo-4", namespace: str = "demo", **policy: Any) -> dict[str, Any]:
    body = {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling", "modelingOptions": {"duration": 3}}
    body.update(policy)
    return {"apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"target": {"kind": "Deployment", "selector": {"matchLabels": {"app": "demo-4"}}},
                     "policy": {k: v for k, v in body.items() if v is not None}}}


def with_target(policy: dict[str, Any], **target: Any) -> dict[str, Any]:
    policy = copy.deepcopy(policy)
    policy["spec"]["target"] = target
    return policy


def in_phase(policy: dict[str, Any], phase: str) -> dict[str, Any]:
    return {**copy.deepcopy(policy), "status": {"phase": phase}}


CREATE_CASES = [
    ("valid", vpol(), ENABLED, None),
    ("unsupported kind", with_target(vpol(), kind="ReplicaSet", name="x"), ENABLED,
     "The target kind is not supported. You should specify the target kind as a Deployment, StatefulSet, "
     "DaemonSet, or Pod."),
    ("no name and no selector", with_target(vpol(), kind="Pod"), ENABLED,
     "The target name and selector are empty. You should specify the target workload either by name or "
     "selector."),
    ("name and selector", with_target(vpol(), kind="Pod", name="x", selector={}), ENABLED,
     "The target name and selector are exclusive. You shouldn't specify the target workload using both "
     "name and selector."),
    ("enhance protect without its field", vpol(mode="EnhanceProtect"), ENABLED,
     "The enhanceProtect field should be set when the policy runs in the EnhanceProtect mode."),
    ("modeling while the feature is off", vpol(), DISABLED,
     "The BehaviorModeling feature of vArmor is not enabled. Please enable it first."),
    ("modeling without options", vpol(modelingOptions=None), ENABLED,
     "The modelingOptions field should be set when the policy runs in the BehaviorModeling mode."),
    ("modeling with network proxy", vpol(enforcer="NetworkProxyBPFSeccomp"), ENABLED,
     "The BehaviorModeling mode is not supported when NetworkProxy enforcer is activated."),
    ("defense in depth without its field", vpol(mode="DefenseInDepth"), ENABLED,
     "The defenseInDepth field should be set when the policy runs in the DefenseInDepth mode."),
    ("defense in depth with bpf", vpol(mode="DefenseInDepth", enforcer="AppArmorBPF", defenseInDepth={}),
     ENABLED, "The DefenseInDepth mode is not supported when BPF enforcer is activated."),
    ("a long policy name", vpol(name="n" * 52, namespace="demo"), ENABLED,
     "The length of policy object name is too long, please limit it to 51 bytes."),
    ("the longest policy name", vpol(name="n" * 51, namespace="demo"), ENABLED, None),
]


@pytest.mark.parametrize(
    ("case", "policy", "options", "message"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES]
)
def test_create_rules_give_upstreams_message(
    case: str, policy: dict[str, Any], options: ValidationOptions, message: str | None
) -> None:
    assert validate_create(policy, options) == message


def test_a_long_cluster_policy_name_is_measured_against_the_install_namespace() -> None:
    long_name = {**vpol(name="c" * 42), "kind": "VarmorClusterPolicy"}
    long_name["metadata"] = {"name": "c" * 42}
    assert validate_create(long_name, ENABLED) == (
        "The length of policy object name is too long, please limit it to 41 bytes.")
    long_name["metadata"] = {"name": "c" * 41}
    assert validate_create(long_name, ENABLED) is None


BASE = vpol()
UPDATE_CASES = [
    ("target changed", with_target(BASE, kind="Deployment", name="demo-4"), BASE,
     "Modifying the target field of a policy is not allowed. You need to recreate the policy object."),
    ("switch to runtime default while modeling", in_phase(vpol(mode="RuntimeDefault"), "Modeling"), BASE,
     "Switching the mode of a policy from BehaviorModeling to others is not allowed when behavior modeling "
     "is still incomplete."),
    ("switch to runtime default when completed", in_phase(vpol(mode="RuntimeDefault"), "Completed"), BASE,
     None),
    ("enforcer changed while modeling", in_phase(vpol(enforcer="AppArmorBPFSeccomp"), "Modeling"), BASE,
     "Modifying the enforcer field of a policy is not allowed when behavior modeling is still incomplete."),
    ("enforcer AppArmor to BPF while modeling", in_phase(vpol(enforcer="BPF"), "Modeling"),
     vpol(enforcer="AppArmor"),
     "Modifying the enforcer field of a policy is not allowed when behavior modeling is still incomplete."),
    ("enforcer widened when completed", in_phase(vpol(enforcer="SeccompAppArmorBPF"), "Completed"),
     vpol(enforcer="AppArmor"), None),
    ("update to modeling without options", vpol(modelingOptions=None), vpol(mode="AlwaysAllow"),
     "The modelingOptions field should be set when the policy runs in the BehaviorModeling mode."),
    ("adding bpf", vpol(enforcer="AppArmorSeccompBPF"), BASE, None),
    ("removing only bpf", vpol(enforcer="AppArmorSeccomp"), vpol(enforcer="AppArmorSeccompBPF"), None),
    ("removing apparmor", vpol(enforcer="Seccomp"), BASE,
     "Modifying a policy to remove the AppArmor or Seccomp enforcer is not allowed. To remove them, you need "
     "to recreate the policy object."),
    ("switch to modeling with network proxy", vpol(enforcer="AppArmorSeccompNetworkProxy"), BASE,
     "Modifying the policy to switch to BehaviorModeling mode is not allowed when NetworkProxy enforcer is "
     "activated."),
    ("re-modeling after completion", in_phase(vpol(), "Completed"), vpol(mode="DefenseInDepth"), None),
    ("enhance protect without its field", vpol(mode="EnhanceProtect"), BASE,
     "The enhanceProtect field should be set when the policy runs in the EnhanceProtect mode."),
    ("defense in depth without its field", vpol(mode="DefenseInDepth"), BASE,
     "The defenseInDepth field should be set when the policy runs in the DefenseInDepth mode."),
    ("defense in depth with bpf",
     vpol(mode="DefenseInDepth", enforcer="AppArmorSeccompBPF", defenseInDepth={}), BASE,
     "The DefenseInDepth mode is not supported when BPF enforcer is activated."),
    ("duration patched to 1", vpol(modelingOptions={"duration": 1}), BASE, None),
]


@pytest.mark.parametrize(("case", "new", "old", "message"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
def test_update_rules_give_upstreams_message(
    case: str, new: dict[str, Any], old: dict[str, Any], message: str | None
) -> None:
    assert validate_update(new, old, DISABLED) == message


def test_an_explicit_null_in_the_target_is_not_a_change() -> None:
    new = copy.deepcopy(BASE)
    new["spec"]["target"]["name"] = None
    assert validate_update(new, BASE, ENABLED) is None


def test_a_policy_without_spec_is_denied_as_malformed() -> None:
    assert validate_create({"kind": "VarmorPolicy", "metadata": {"name": "x"}}, ENABLED) == (
        "The policy object is malformed: spec is missing.")


def test_an_empty_target_name_with_a_selector_is_accepted_as_upstream_accepts_it() -> None:
    policy = vpol()
    policy["spec"]["target"]["name"] = ""
    assert validate_create(policy, ENABLED) is None


def test_an_empty_target_name_without_a_selector_is_no_target() -> None:
    assert validate_create(with_target(vpol(), kind="Pod", name=""), ENABLED) == MSG_NO_TARGET


def test_an_empty_target_name_is_not_a_change_of_the_target() -> None:
    new = copy.deepcopy(BASE)
    new["spec"]["target"]["name"] = ""
    assert validate_update(new, BASE, ENABLED) is None
    assert validate_update(BASE, new, ENABLED) is None


def test_the_controller_rejects_a_modeling_duration_of_zero() -> None:
    assert modeling_duration_error(vpol(modelingOptions={"duration": 0})) == MSG_DURATION
    assert modeling_duration_error(vpol(modelingOptions={})) == MSG_DURATION
    assert modeling_duration_error(vpol()) is None
    assert modeling_duration_error(vpol(mode="AlwaysAllow", modelingOptions=None)) is None
