"""A least-privilege Kubernetes ``securityContext`` from a behaviour model, each field explained.

- ``capabilities``: drop ALL, add exactly the capabilities the model used;
- ``allowPrivilegeEscalation: false`` unless the model shows setuid/setgid use (a set-id
  syscall or capability, or a well-known set-id binary executed);
- ``readOnlyRootFilesystem: true`` when every write went to a kernel filesystem, a declared
  volume or a temp directory (which then needs an ``emptyDir``; the reason names them);
- ``seccompProfile: RuntimeDefault`` when the runtime's default allow list
  (``generator.runtime_default``) covers every observed syscall given the added capabilities,
  else ``Localhost`` with the generated profile.

The model merges every targeted container, so each container gets the same context; the
containers are the ones the model's provenance names (``*`` when it names none). Pure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.models import BehaviorModel
from generator.render import FIXED_SYSCALLS
from generator.runtime_default import ALWAYS, BY_CAPABILITY, SOURCE, WITH_ARGUMENTS

SETID_SYSCALLS = frozenset({
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setgroups", "setuid32", "setgid32", "setreuid32", "setregid32", "setresuid32", "setresgid32",
    "setfsuid32", "setfsgid32", "setgroups32",
})
SETID_CAPABILITIES = ("setuid", "setgid")
SETID_BINARIES = frozenset({"su", "sudo", "passwd", "newgrp", "chsh", "chfn", "gpasswd", "pkexec",
                            "mount", "umount", "ping", "doas"})
KERNEL_FILESYSTEMS = ("/dev/", "/proc/", "/sys/")  # never the root filesystem
TEMP_DIRECTORIES = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm")
WRITE_PERMISSIONS = frozenset("wa")


@dataclass(frozen=True)
class ContainerContext:
    container: str
    security_context: dict[str, Any]
    reasons: dict[str, str]  # field → why


def _under(path: str, directory: str) -> bool:
    directory = directory.rstrip("/")
    return path == directory or path.startswith(directory + "/")


def _capabilities(model: BehaviorModel) -> tuple[dict[str, Any], str]:
    observed = sorted(set(model.apparmor.capabilities))
    value: dict[str, Any] = {"drop": ["ALL"]}
    if observed:
        value["add"] = [c.upper() for c in observed]
        return value, f"the model used capability {', '.join(observed)}; every other one is dropped"
    return value, "the model used no capability"


def _privilege_escalation(model: BehaviorModel) -> tuple[bool, str]:
    evidence = sorted(SETID_SYSCALLS & set(model.syscalls))
    evidence += [f"capability {c}" for c in SETID_CAPABILITIES if c in model.apparmor.capabilities]
    evidence += sorted({p for p in model.apparmor.executions if os.path.basename(p) in SETID_BINARIES})
    if evidence:
        return True, f"the model shows setuid/setgid use ({', '.join(evidence)})"
    return False, "the model shows no setuid/setgid syscall, capability or set-id binary"


def _written(model: BehaviorModel) -> list[str]:
    files = model.apparmor.files
    return sorted({f.old_path or f.path for f in files if WRITE_PERMISSIONS & set(f.permissions)})


def _read_only_root(model: BehaviorModel, volumes: Sequence[str]) -> tuple[bool, str]:
    temp: set[str] = set()
    outside = []
    for path in _written(model):
        if any(path.startswith(k) for k in KERNEL_FILESYSTEMS) or any(_under(path, v) for v in volumes):
            continue
        directory = next((t for t in TEMP_DIRECTORIES if _under(path, t)), None)
        if directory is None:
            outside.append(path)
        else:
            temp.add(directory)
    if outside:
        shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        return False, f"the model writes to the root filesystem: {shown}"
    if temp:
        return True, f"writes only to temp directories; mount an emptyDir at {', '.join(sorted(temp))}"
    return True, "the model writes nothing outside kernel filesystems and volumes"


def runtime_default_gaps(model: BehaviorModel) -> tuple[list[str], list[str]]:
    """(syscalls RuntimeDefault would deny, syscalls it allows only for some arguments)."""
    capabilities = set(model.apparmor.capabilities)
    granted = set(ALWAYS).union(*(BY_CAPABILITY.get(c, ()) for c in capabilities))
    observed = sorted(set(model.syscalls) | set(FIXED_SYSCALLS))
    conditional = sorted(s for s in observed if s not in granted and s in WITH_ARGUMENTS)
    denied = [s for s in observed if s not in granted and s not in WITH_ARGUMENTS]
    return denied, conditional


def _seccomp(model: BehaviorModel, profile_name: str) -> tuple[dict[str, str], str]:
    if not model.syscalls:
        return {"type": "RuntimeDefault"}, "the model has no syscalls; RuntimeDefault is the safe default"
    denied, conditional = runtime_default_gaps(model)
    if denied:
        return ({"type": "Localhost", "localhostProfile": profile_name},
                f"{SOURCE} would deny {', '.join(denied)}; use the generated profile")
    note = f" ({', '.join(conditional)} only for some arguments)" if conditional else ""
    return {"type": "RuntimeDefault"}, f"{SOURCE} allows every observed syscall{note}"


def security_context(model: BehaviorModel, profile_name: str,
                     volumes: Sequence[str] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """The least-privilege securityContext and, per field, why."""
    capabilities, why_caps = _capabilities(model)
    escalation, why_escalation = _privilege_escalation(model)
    read_only, why_read_only = _read_only_root(model, volumes)
    seccomp, why_seccomp = _seccomp(model, profile_name)
    context = {"allowPrivilegeEscalation": escalation, "capabilities": capabilities,
               "readOnlyRootFilesystem": read_only, "seccompProfile": seccomp}
    reasons = {"allowPrivilegeEscalation": why_escalation, "capabilities": why_caps,
               "readOnlyRootFilesystem": why_read_only, "seccompProfile": why_seccomp}
    return context, reasons


def container_contexts(model: BehaviorModel, profile_name: str,
                       volumes: Sequence[str] = ()) -> tuple[ContainerContext, ...]:
    """One context per container the model covers (the model merges them, so they are equal)."""
    context, reasons = security_context(model, profile_name, volumes)
    containers = sorted({p.container for p in model.provenance if p.container}) or ["*"]
    return tuple(ContainerContext(c, context, reasons) for c in containers)
