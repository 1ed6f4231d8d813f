"""Rendering: a model → the deny-by-default AppArmor profile and the seccomp profile.

The AppArmor text follows the seed byte for byte (upstream spec §5.1): header, ``abi``,
includes, ``flags``, then EXEC, FILE, CAPABILITY, NETWORK, PTRACE, SIGNAL and ADDITIONAL
sections, one small builder each, lines sorted. Every path goes through
``generator.patterns``: rendered bare when plain, quoted and escaped otherwise, and skipped
when it is not a safe pattern (aggregation has already counted such records as dropped).
The seccomp JSON follows §5.2: ``SCMP_ACT_ERRNO``, the fixed first group, then the observed
names in first-seen order; only names of the target architecture's syscall table are
rendered (aggregation has counted any other name as dropped). Very large file rule sets are
coalesced by directory first (``generator.coalesce``) so that ``apparmor_parser`` can still
compile the profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from generator.capabilities import CAPABILITIES
from generator.coalesce import MAX_FILE_RULES, CoalesceError, coalesce
from generator.models import BehaviorModel, FileRule
from generator.patterns import check_name, check_pattern, quote_pattern
from generator.syscalls import NATIVE_ARCH, syscall_number

HEADER = "\n## == Managed by vArmor == ##\n\nabi <abi/3.0>,\n#include <tunables/global>\n\n"
FIXED_SYSCALLS = ("open", "openat", "openat2", "close", "read", "write")
PERMISSION_ORDER = "aklmrw"


class RenderError(ValueError):
    """The model cannot be rendered (no or several profile names, a bad name, too many rules)."""


def profile_name(model: BehaviorModel, name: str | None = None) -> str:
    if name is None:
        profiles = model.apparmor.profiles
        if not profiles:
            raise RenderError("no behavior information found for the target container")
        if len(profiles) > 1:
            raise RenderError("fatal error: more than one profile exists or profile name is unexpected")
        name = profiles[0]
    reason = check_name(name)
    if reason is not None:
        raise RenderError(f"invalid profile name {name!r}: {reason}")
    return name


def _paths(paths: tuple[str, ...]) -> list[str]:
    return [quote_pattern(p) for p in paths if check_pattern(p) is None]


def _exec(model: BehaviorModel, name: str) -> list[str]:
    return sorted(f"{path} ix," for path in _paths(model.apparmor.executions))


def file_permissions(letters: tuple[str, ...]) -> str:
    chosen = {c for c in letters if c in PERMISSION_ORDER}
    if "w" in chosen:
        chosen.discard("a")
    return "".join(sorted(chosen))


def renderable_files(model: BehaviorModel, limit: int = MAX_FILE_RULES) -> list[FileRule]:
    """The file rules the profile holds: safe, with permissions, coalesced below ``limit``."""
    rules = [FileRule(r.path, tuple(perms), r.owner) for r in model.apparmor.files
             if (perms := file_permissions(r.permissions)) and check_pattern(r.path) is None]
    try:
        return coalesce(rules, limit)
    except CoalesceError as error:
        raise RenderError(str(error)) from error


def _file(model: BehaviorModel, name: str) -> list[str]:
    lines = []
    for rule in renderable_files(model):
        prefix = "owner " if rule.owner else ""
        lines.append(f"{prefix}{quote_pattern(rule.path)} {file_permissions(rule.permissions)},")
    return sorted(set(lines))


def _capability(model: BehaviorModel, name: str) -> list[str]:
    return sorted({f"capability {c}," for c in model.apparmor.capabilities if c in CAPABILITIES})


def _network(model: BehaviorModel, name: str) -> list[str]:
    return ["network,"]


def _ptrace(model: BehaviorModel, name: str) -> list[str]:
    return [
        "## suppress ptrace denials when using 'docker ps' or using 'ps' inside a container",
        f"ptrace (trace,read,tracedby,readby) peer={name},",
    ]


def _signal(model: BehaviorModel, name: str) -> list[str]:
    return [
        "## host (privileged) processes may send signals to container processes.",
        "signal (receive) peer=unconfined,",
        "## container processes may send signals amongst themselves.",
        f"signal (send,receive) peer={name},",
    ]


def _additional(model: BehaviorModel, name: str) -> list[str]:
    return ["umount,"]


SECTIONS: tuple[tuple[str, Callable[[BehaviorModel, str], list[str]]], ...] = (
    ("EXEC", _exec),
    ("FILE", _file),
    ("CAPABILITY", _capability),
    ("NETWORK", _network),
    ("PTRACE", _ptrace),
    ("SIGNAL", _signal),
    ("ADDITIONAL", _additional),
)


def render_apparmor(model: BehaviorModel, name: str | None = None) -> str:
    """The AppArmor profile text; raises ``RenderError`` when no single safe name exists."""
    name = profile_name(model, name)
    out = [HEADER, f"profile {name} flags=(attach_disconnected,mediate_deleted) {{\n\n"]
    out.append("  #include <abstractions/base>\n")
    for title, build in SECTIONS:
        out.append(f"\n  # ---- {title} ----\n")
        out.extend(f"  {line}\n" for line in build(model, name))
    out.append("\n}\n")
    return "".join(out)


def seccomp_profile(model: BehaviorModel, arch: str = NATIVE_ARCH) -> dict[str, object] | None:
    """The OCI seccomp profile as a dict, or None when no syscall of ``arch`` was observed."""
    valid = [s for s in model.syscalls if syscall_number(arch, s) is not None]
    observed = [s for s in valid if s not in FIXED_SYSCALLS]
    if not valid:
        return None
    fixed = [s for s in FIXED_SYSCALLS if syscall_number(arch, s) is not None]
    groups: list[dict[str, object]] = [{"names": fixed, "action": "SCMP_ACT_ALLOW"}]
    if observed:
        groups.append({"names": observed, "action": "SCMP_ACT_ALLOW"})
    return {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": groups}


def render_seccomp(model: BehaviorModel, arch: str = NATIVE_ARCH) -> str:
    """Compact seccomp JSON (upstream's encoding), or "" when no syscall was observed."""
    profile = seccomp_profile(model, arch)
    return "" if profile is None else json.dumps(profile, separators=(",", ":"))
