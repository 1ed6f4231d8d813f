"""The ArmorProfile a policy asks for (upstream spec §1.3, §5.4), as a pure builder.

While modeling, the AppArmor profile is the empty complain-mode profile and the seccomp profile
logs everything but the fixed group; once the window has closed (``complete``), both become
AlwaysAllow in enforce mode. Field names follow the seed (``content``, ``seccompContent``).
A ``DefenseInDepth`` policy carries the enforcing profiles ``generator.enforcing`` built from its
model (§5.5): their texts and mode (``complain`` with ``allowViolations``) fill the same fields.
Other modes get AlwaysAllow profiles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from api.names import API_VERSION, ARMOR_PROFILE, FINALIZER
from api.types import APPARMOR, SECCOMP, PolicyView
from generator.enforcing import EnforcingProfile

HEADER = "\n## == Managed by vArmor == ##\n\nabi <abi/3.0>,\n#include <tunables/global>\n\n"
ALWAYS_ALLOW_RULES = ("file", "capability", "network", "mount", "remount", "umount", "pivot_root",
                      "ptrace", "signal", "dbus", "unix")
MODELING_SECCOMP = {"defaultAction": "SCMP_ACT_LOG", "syscalls": [
    {"names": ["open", "openat", "openat2", "close", "read", "write"], "action": "SCMP_ACT_ALLOW"}]}
ALLOW_SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW"}


def _flags(name: str) -> str:
    return f"profile {name} flags=(attach_disconnected,mediate_deleted) {{\n"


def modeling_apparmor(name: str) -> str:
    return HEADER + _flags(name) + "}\n"


def always_allow_apparmor(name: str) -> str:
    rules = "".join(f"  {rule},\n" for rule in ALWAYS_ALLOW_RULES)
    return HEADER + _flags(name) + "  #include <abstractions/base>\n\n" + rules + "}\n"


def profile_section(policy: PolicyView, name: str, complete: bool,
                    enforcing: EnforcingProfile | None = None) -> dict[str, str]:
    """``spec.profile``: one mode for every enforcer of the policy (§5.4, §5.5 with ``enforcing``)."""
    if enforcing is not None:
        return {"name": name, "enforcer": policy.enforcer_text, "mode": enforcing.mode,
                "content": enforcing.apparmor, "seccompContent": enforcing.seccomp}
    modeling = policy.modeling and not complete
    section = {"name": name, "enforcer": policy.enforcer_text, "mode": "complain" if modeling else "enforce",
               "content": "", "seccompContent": ""}
    if policy.enforcer & APPARMOR:
        section["content"] = modeling_apparmor(name) if modeling else always_allow_apparmor(name)
    if policy.enforcer & SECCOMP:
        section["seccompContent"] = json.dumps(MODELING_SECCOMP if modeling else ALLOW_SECCOMP,
                                               separators=(",", ":"))
    return section


def armor_profile_spec(policy: PolicyView, name: str, complete: bool,
                       enforcing: EnforcingProfile | None = None) -> dict[str, Any]:
    return {
        "target": dict(policy.target),
        "profile": profile_section(policy, name, complete, enforcing),
        "behaviorModeling": {"enable": policy.modeling, "duration": policy.duration or 0},
        "updateExistingWorkloads": policy.update_existing,
    }


def owner_reference(policy: PolicyView) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": policy.kind, "name": policy.name, "uid": policy.uid,
            "controller": True, "blockOwnerDeletion": True}


def armor_profile(
    policy: PolicyView, labels: Mapping[str, str], install_namespace: str, complete: bool,
    enforcing: EnforcingProfile | None = None,
) -> dict[str, Any]:
    """A new ArmorProfile: named after the profile, owned by the policy, protected by the finalizer."""
    name = policy.profile_name(install_namespace)
    return {
        "apiVersion": API_VERSION, "kind": ARMOR_PROFILE,
        "metadata": {"name": name, "namespace": policy.profile_namespace(install_namespace),
                     "labels": dict(labels), "ownerReferences": [owner_reference(policy)],
                     "finalizers": [FINALIZER]},
        "spec": armor_profile_spec(policy, name, complete, enforcing),
    }
