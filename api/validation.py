"""Policy validation (upstream spec §1.5, §2.4): every rule and its exact message, create and update.

Pure functions over policy dicts, run by the validating webhook and again by the policy controller
(the backstop: ``failurePolicy: Ignore`` lets policies through when the webhook is down). Go's
``nil`` and ``""`` are an absent or null field here (``target.name: ""`` is no name, as upstream reads
it). NetworkProxy-only checks (MITM domains, proxy resources, immutable proxy ports) are not
implemented: this product has no NetworkProxy enforcer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.names import DEFAULT_INSTALL_NAMESPACE, MAX_PROFILE_NAME, TARGET_KINDS, VARMOR_CLUSTER_POLICY
from api.profilenames import (
    cluster_policy_profile_name,
    max_cluster_policy_name_length,
    max_policy_name_length,
    policy_profile_name,
)
from api.types import BPF, NETWORK_PROXY, enforcer_bits

MSG_KIND = ("The target kind is not supported. You should specify the target kind as a Deployment, "
            "StatefulSet, DaemonSet, or Pod.")
MSG_NO_TARGET = ("The target name and selector are empty. You should specify the target workload "
                 "either by name or selector.")
MSG_BOTH_TARGETS = ("The target name and selector are exclusive. You shouldn't specify the target "
                    "workload using both name and selector.")
MSG_ENHANCE = "The enhanceProtect field should be set when the policy runs in the EnhanceProtect mode."
MSG_BM_DISABLED = "The BehaviorModeling feature of vArmor is not enabled. Please enable it first."
MSG_MODELING = "The modelingOptions field should be set when the policy runs in the BehaviorModeling mode."
MSG_BM_PROXY = "The BehaviorModeling mode is not supported when NetworkProxy enforcer is activated."
MSG_DID = "The defenseInDepth field should be set when the policy runs in the DefenseInDepth mode."
MSG_DID_BPF = "The DefenseInDepth mode is not supported when BPF enforcer is activated."
MSG_NAME_LENGTH = "The length of policy object name is too long, please limit it to {} bytes."
MSG_TARGET_CHANGED = ("Modifying the target field of a policy is not allowed. You need to recreate the "
                      "policy object.")
MSG_MODE_SWITCH = ("Switching the mode of a policy from BehaviorModeling to others is not allowed when "
                   "behavior modeling is still incomplete.")
MSG_ENFORCER_CHANGED = ("Modifying the enforcer field of a policy is not allowed when behavior modeling "
                        "is still incomplete.")
MSG_ENFORCER_REMOVED = ("Modifying a policy to remove the AppArmor or Seccomp enforcer is not allowed. "
                        "To remove them, you need to recreate the policy object.")
MSG_SWITCH_BM_PROXY = ("Modifying the policy to switch to BehaviorModeling mode is not allowed when "
                       "NetworkProxy enforcer is activated.")
MSG_MALFORMED = "The policy object is malformed: {}."


@dataclass(frozen=True)
class ValidationOptions:
    install_namespace: str = DEFAULT_INSTALL_NAMESPACE
    behavior_modeling_enabled: bool = True


def _m(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _parts(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any], int]:
    if not isinstance(obj.get("spec"), Mapping):
        raise ValueError("spec is missing")
    spec = obj["spec"]
    target, policy = _m(spec.get("target")), _m(spec.get("policy"))
    return target, policy, enforcer_bits(policy.get("enforcer"))


def _target_rule(target: Mapping[str, Any]) -> str | None:
    if target.get("kind") not in TARGET_KINDS:
        return MSG_KIND
    has_name, has_selector = bool(target.get("name")), target.get("selector") is not None
    if not has_name and not has_selector:
        return MSG_NO_TARGET
    if has_name and has_selector:
        return MSG_BOTH_TARGETS
    return None


def _mode_rules(policy: Mapping[str, Any], bits: int, *, modeling_enabled: bool, update: bool) -> str | None:
    mode = policy.get("mode")
    if mode == "EnhanceProtect" and policy.get("enhanceProtect") is None:
        return MSG_ENHANCE
    if mode == "BehaviorModeling":
        if not update and not modeling_enabled:
            return MSG_BM_DISABLED
        if policy.get("modelingOptions") is None:
            return MSG_MODELING
        if bits & NETWORK_PROXY:
            return MSG_SWITCH_BM_PROXY if update else MSG_BM_PROXY
    if mode == "DefenseInDepth" and policy.get("defenseInDepth") is None:
        return MSG_DID
    if mode == "DefenseInDepth" and bits & BPF:
        return MSG_DID_BPF
    return None


def _name_rule(obj: Mapping[str, Any], install_namespace: str) -> str | None:
    meta = _m(obj.get("metadata"))
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    if obj.get("kind") == VARMOR_CLUSTER_POLICY:
        if len(cluster_policy_profile_name(install_namespace, name)) > MAX_PROFILE_NAME:
            return MSG_NAME_LENGTH.format(max_cluster_policy_name_length(install_namespace))
    elif len(policy_profile_name(namespace, name)) > MAX_PROFILE_NAME:
        return MSG_NAME_LENGTH.format(max_policy_name_length(namespace))
    return None


def validate_create(obj: Mapping[str, Any], options: ValidationOptions) -> str | None:
    """``ValidateAddPolicy``: the first violated rule's message, or None when the policy is valid."""
    try:
        target, policy, bits = _parts(obj)
    except ValueError as err:
        return MSG_MALFORMED.format(err)
    return (_target_rule(target)
            or _mode_rules(policy, bits, modeling_enabled=options.behavior_modeling_enabled, update=False)
            or _name_rule(obj, options.install_namespace))


def _normal(value: Any) -> Any:
    """Go struct equality over JSON: an absent field equals an explicit null, and a string field
    (the target's ``kind`` and ``name``) an empty string."""
    if isinstance(value, Mapping):
        return {k: _normal(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _enforcer_rules(new_bits: int, old_bits: int, mode: object, phase: object) -> str | None:
    if mode != "BehaviorModeling" and phase == "Modeling":
        return MSG_MODE_SWITCH
    if mode == "BehaviorModeling" and phase == "Modeling" and new_bits != old_bits:
        return MSG_ENFORCER_CHANGED
    if (new_bits & old_bits) != old_bits and (new_bits | BPF) != old_bits:
        return MSG_ENFORCER_REMOVED
    return None


def validate_update(new: Mapping[str, Any], old: Mapping[str, Any], options: ValidationOptions) -> str | None:
    """``ValidateUpdatePolicy``; the phase is the ``status.phase`` carried by the new object."""
    try:
        target, policy, new_bits = _parts(new)
        old_target, _, old_bits = _parts(old)
    except ValueError as err:
        return MSG_MALFORMED.format(err)
    if _normal(target) != _normal(old_target):
        return MSG_TARGET_CHANGED
    phase = _m(new.get("status")).get("phase")
    return (_enforcer_rules(new_bits, old_bits, policy.get("mode"), phase)
            or _mode_rules(policy, new_bits, modeling_enabled=options.behavior_modeling_enabled, update=True))


MSG_DURATION = "invalid parameter: the Spec.Policy.ModelingOptions.Duration field cannot be empty or 0"


def modeling_duration_error(obj: Mapping[str, Any]) -> str | None:
    """The controller's extra BehaviorModeling check when it builds the ArmorProfile (spec §1.1)."""
    policy = _m(_m(obj.get("spec")).get("policy"))
    if policy.get("mode") != "BehaviorModeling":
        return None
    duration = _m(policy.get("modelingOptions")).get("duration")
    if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
        return MSG_DURATION
    return None
