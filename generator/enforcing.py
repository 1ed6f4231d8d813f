"""DefenseInDepth from a model: the enforcing AppArmor and seccomp profiles of a policy.

Upstream spec §5.5: a policy in ``DefenseInDepth`` mode whose ``appArmor.profileType`` or
``seccomp.profileType`` is ``BehaviorModel`` enforces the profiles stored in the
ArmorProfileModel of the same name. This module is the pure part of that:

- the AppArmor profile gets the raw rules without ``targets`` inserted before its last ``}``,
  after ``\\n  # Custom Rules\\n``, each non-blank line indented by two spaces;
- the seccomp profile's ``defaultAction`` becomes ``SCMP_ACT_LOG`` with ``allowViolations``,
  else ``SCMP_ACT_ERRNO``, and the ``syscallRawRules`` are appended;
- the ArmorProfile mode is ``complain`` with ``allowViolations``, else ``enforce``;
- a seccomp profile from the model also allows ``RUNTIME_GROUP``: the syscalls the container
  runtime (runc) makes after it loads the filter and before it executes the workload. Upstream's
  models contain them because its modeling profile logs runc's own calls; our tracer leaves runc's
  set-up process out of the model, so without them no container could start (measured with
  ``strace -f`` on runc 1.1.5 ``run`` and ``exec``: e.g. ``fstatfs`` of ``/proc/self/fd``,
  ``capset``, ``setgroups``);
- a missing model, a model with no profile for a requested enforcer, a model on ``LocalDisk``
  that was not loaded, the BPF enforcer, or raw rules with targets → ``ModelError`` whose text
  is the reason the policy's ``Error`` status shows.

Loading the model (from the API, or from disk when ``storageType`` is ``LocalDisk``) is the
caller's IO; this module receives the object.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from generator.apm import read_document
from generator.render import RenderError, render_apparmor, render_seccomp

Mode = Literal["enforce", "complain"]
ENFORCERS = ("apparmor", "bpf", "seccomp")
# runc init between loading the filter and execve (run and exec, noNewPrivileges true or false),
# and the Go runtime threads of that process (scheduler, preemption signals).
RUNTIME_GROUP = (
    "capget", "capset", "chdir", "close", "epoll_ctl", "epoll_pwait", "execve", "faccessat2", "fcntl",
    "fstat", "fstatfs", "futex", "getcwd", "getdents64", "getpid", "getppid", "gettid", "nanosleep",
    "newfstatat", "openat", "prctl", "read", "rt_sigreturn", "sched_yield", "setgid", "setgroups",
    "setuid", "tgkill", "write",
)


class ModelError(ValueError):
    """The policy cannot be enforced from its model; the text is the status reason."""


@dataclass(frozen=True)
class EnforcingProfile:
    name: str
    enforcer: str  # as the policy spells it, e.g. AppArmorSeccomp
    mode: Mode
    apparmor: str  # "" when the policy does not use AppArmor
    seccomp: str  # OCI seccomp JSON, "" when the policy does not use Seccomp


def enforcers_of(enforcer: str) -> set[str]:
    """Upstream parses the enforcer by case-insensitive substring."""
    return {e for e in ENFORCERS if e in enforcer.lower()}


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return ""


def stored_profiles(apm: Mapping[str, Any]) -> tuple[str, str]:
    """(AppArmor text, seccomp JSON) of a model: stored ones first, else rendered from its data.

    A model that recorded no AppArmor behaviour has no AppArmor profile, whatever it stores.
    """
    data = apm.get("data") or {}
    profile = data.get("profile") or {}
    apparmor = _decode(profile["content"]) if profile.get("content") else str(profile.get("appArmor") or "")
    seccomp = (_decode(profile["seccompContent"]) if profile.get("seccompContent")
               else str(profile.get("seccomp") or ""))
    try:
        document = read_document(apm)
    except (ValueError, KeyError, TypeError, AttributeError):
        return apparmor, seccomp
    recorded = document.model.apparmor
    if not (recorded.profiles or recorded.executions or recorded.files or recorded.capabilities):
        apparmor = ""  # upstream: "no behavior information found for the target container"
    elif not apparmor:
        try:
            apparmor = render_apparmor(document.model, document.name)
        except RenderError:
            apparmor = ""
    return apparmor, seccomp or render_seccomp(document.model)


def with_raw_rules(profile: str, raw_rules: Sequence[Mapping[str, Any]]) -> str:
    """The AppArmor profile with untargeted raw rules before its last ``}`` (upstream layout)."""
    if any(rule.get("targets") for rule in raw_rules):
        raise ModelError("appArmorRawRules with targets (child profiles) are not supported yet")
    text = "\n".join(str(rule.get("rules") or "") for rule in raw_rules)
    lines = [f"  {line}" if line.strip() else line for line in text.splitlines()]
    if not any(line.strip() for line in lines):
        return profile
    end = profile.rindex("}")
    return profile[:end] + "\n  # Custom Rules\n" + "\n".join(lines) + "\n" + profile[end:]


def _syscall_rule(rule: Any) -> dict[str, Any]:
    if not (isinstance(rule, Mapping) and isinstance(rule.get("names"), list) and rule["names"]
            and all(isinstance(n, str) for n in rule["names"]) and isinstance(rule.get("action"), str)):
        shown = json.dumps(rule, default=str)
        raise ModelError(f"syscallRawRules: {shown} needs names (syscalls) and an action")
    return dict(rule)


def enforcing_seccomp(profile: str, allow_violations: bool, raw_rules: Sequence[Any]) -> str:
    """The seccomp JSON with upstream's default action and the raw rules appended (compact)."""
    try:
        document = json.loads(profile)
    except json.JSONDecodeError as error:
        raise ModelError(f"the model's seccomp profile is not valid JSON: {error}") from error
    document["defaultAction"] = "SCMP_ACT_LOG" if allow_violations else "SCMP_ACT_ERRNO"
    document["syscalls"] = [*(document.get("syscalls") or []), *(_syscall_rule(r) for r in raw_rules)]
    return json.dumps(document, separators=(",", ":"))


def with_runtime_group(profile: str) -> str:
    """A model's seccomp JSON that also allows the container runtime's own last calls."""
    try:
        document = json.loads(profile)
    except json.JSONDecodeError as error:
        raise ModelError(f"the model's seccomp profile is not valid JSON: {error}") from error
    rule = {"names": list(RUNTIME_GROUP), "action": "SCMP_ACT_ALLOW"}
    document["syscalls"] = [*(document.get("syscalls") or []), rule]
    return json.dumps(document, separators=(",", ":"))


def _section(defense: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    section = defense.get(key) or {}
    if not isinstance(section, Mapping):
        raise ModelError(f"defenseInDepth.{key} must be an object")
    return section


def _chosen(section: Mapping[str, Any], key: str, modeled: str, what: str, where: str) -> str:
    kind = section.get("profileType") or "BehaviorModel"
    if kind == "Custom":
        custom = str(section.get("customProfile") or "")
        if not custom.strip():
            raise ModelError(f"defenseInDepth.{key}.customProfile is empty")
        return custom
    if kind != "BehaviorModel":
        raise ModelError(f"defenseInDepth.{key}.profileType must be BehaviorModel or Custom, not {kind!r}")
    if not modeled.strip():
        raise ModelError(f"the ArmorProfileModel {where} has no {what} profile: nothing was recorded")
    return modeled


def enforcing_profile(apm: Mapping[str, Any] | None, policy: Mapping[str, Any], name: str,
                      namespace: str) -> EnforcingProfile:
    """The profiles a DefenseInDepth ``spec.policy`` enforces, from the model ``namespace/name``."""
    where = f"{namespace}/{name}"
    enforcer = str(policy.get("enforcer") or "")
    chosen = enforcers_of(enforcer)
    if "bpf" in chosen:
        raise ModelError("The DefenseInDepth mode is not supported when BPF enforcer is activated.")
    if not chosen:
        raise ModelError(f"DefenseInDepth needs the AppArmor or Seccomp enforcer, not {enforcer!r}")
    defense = policy.get("defenseInDepth")
    if not isinstance(defense, Mapping):
        raise ModelError("The defenseInDepth field should be set when the policy runs in the "
                         "DefenseInDepth mode.")
    apparmor_section, seccomp_section = _section(defense, "appArmor"), _section(defense, "seccomp")
    modeled = ("", "")
    if any((s.get("profileType") or "BehaviorModel") == "BehaviorModel"
           for s, e in ((apparmor_section, "apparmor"), (seccomp_section, "seccomp")) if e in chosen):
        modeled = _model_profiles(apm, where)
    allow = bool(defense.get("allowViolations", False))
    apparmor = seccomp = ""
    if "apparmor" in chosen:
        apparmor = with_raw_rules(_chosen(apparmor_section, "appArmor", modeled[0], "AppArmor", where),
                                  apparmor_section.get("appArmorRawRules") or [])
    if "seccomp" in chosen:
        seccomp = _chosen(seccomp_section, "seccomp", modeled[1], "seccomp", where)
        if (seccomp_section.get("profileType") or "BehaviorModel") == "BehaviorModel":
            seccomp = with_runtime_group(seccomp)
        seccomp = enforcing_seccomp(seccomp, allow, seccomp_section.get("syscallRawRules") or [])
    return EnforcingProfile(name, enforcer, "complain" if allow else "enforce", apparmor, seccomp)


def _model_profiles(apm: Mapping[str, Any] | None, where: str) -> tuple[str, str]:
    if apm is None:
        raise ModelError(f"the ArmorProfileModel {where} was not found: model the workload first")
    if not isinstance(apm, Mapping):
        raise ModelError(f"the ArmorProfileModel {where} is not an object")
    data = apm.get("data") or {}
    if apm.get("storageType") == "LocalDisk" and not (data.get("profile") or data.get("dynamicResult")):
        raise ModelError(f"the ArmorProfileModel {where} is stored on LocalDisk and was not loaded")
    return stored_profiles(apm)
