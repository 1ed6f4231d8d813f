"""vArmor's built-in hardening rules, as data: what each rule needs and what it conflicts with.

Adopted from upstream's policy advisor (``tools/policy-advisor/built-in-rules.json``, the table
in the project's issue 15): every rule has an id, the template section it goes to, the
enforcers that implement it, its conflicts (declared features ``F``, capabilities ``C``,
syscalls ``S``, executables by base name ``X``, file accesses ``P`` as path regexes with
permission letters) and, for escape patterns, the features or capabilities that make it
applicable. ``generator.advising`` runs upstream's decision procedure over this table.

Two conflicts are ours, marked ``OURS``: ``disallow-mount`` also conflicts with an observed
``mount`` syscall and ``disallow-umount`` with ``umount2``, so a model that mounted keeps its
mounts working even when the user forgot to declare ``mount-sth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from generator.capabilities import CAPABILITY_NAMES

Category = Literal["escape-pattern", "capability-set", "capability", "exploit-vector",
                   "information-leak", "sensitive-operation", "vulnerability-mitigation"]
Section = Literal["hardeningRules", "attackProtectionRules", "vulMitigationRules"]
Enforcer = Literal["apparmor", "bpf", "seccomp"]

CATEGORY_ORDER: tuple[Category, ...] = (
    "escape-pattern", "capability-set", "capability", "exploit-vector",
    "information-leak", "sensitive-operation", "vulnerability-mitigation",
)
SECTIONS: dict[Category, Section] = {
    "escape-pattern": "hardeningRules", "capability-set": "hardeningRules", "capability": "hardeningRules",
    "exploit-vector": "hardeningRules", "information-leak": "attackProtectionRules",
    "sensitive-operation": "attackProtectionRules", "vulnerability-mitigation": "vulMitigationRules",
}
FEATURES = ("privileged-container", "mount-sth", "umount-sth", "share-containers-pid-ns",
            "share-host-pid-ns", "dind", "require-sa", "bind-privileged-socket-port", "load-bpf")
ANY = "*"
WRITE = ("w", "a")
READ = ("r",)


@dataclass(frozen=True)
class FileConflict:
    regexes: tuple[str, ...]
    permissions: tuple[str, ...]  # AppArmor letters; ("*",) = any access
    summary: str  # what people read: "write under /etc"


@dataclass(frozen=True)
class Conflicts:
    features: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()  # ("*",) = any capability
    syscalls: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    files: FileConflict | None = None


@dataclass(frozen=True)
class Applicable:
    features: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    category: Category
    enforcers: tuple[Enforcer, ...]
    conflicts: Conflicts = Conflicts()
    applicable: Applicable | None = None  # None: always applicable

    @property
    def section(self) -> Section:
        return SECTIONS[self.category]


AA_BPF: tuple[Enforcer, ...] = ("apparmor", "bpf")
SECCOMP: tuple[Enforcer, ...] = ("seccomp",)
_PRIV = ("privileged-container", "mount-sth", "umount-sth", "dind")
_PRIV_NO_DIND = ("privileged-container", "mount-sth", "umount-sth")
_SYS_ADMIN = ("sys_admin",)
_MOUNTERS = ("mount-sth", "umount-sth", "dind")
PRIVILEGED_CAPABILITIES = (
    "dac_read_search", "linux_immutable", "net_broadcast", "net_admin", "ipc_lock", "ipc_owner",
    "sys_module", "sys_rawio", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "lease", "audit_control", "mac_override", "mac_admin",
    "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)
CHMOD_SYSCALLS = ("chmod", "fchmod", "fchmodat", "fchmodat2")


def _files(summary: str, permissions: tuple[str, ...], *regexes: str) -> FileConflict:
    return FileConflict(regexes, permissions, summary)


def _escape(rule_id: str, conflicts: Conflicts, features: tuple[str, ...],
            capabilities: tuple[str, ...] = ()) -> Rule:
    return Rule(rule_id, "escape-pattern", AA_BPF, conflicts, Applicable(features, capabilities))


ESCAPE_PATTERNS = (
    _escape("disallow-write-core-pattern",
            Conflicts(files=_files("write to /proc/sys/kernel/core_pattern", WRITE,
                                   "/proc/sys/kernel/core_pattern")), _PRIV, _SYS_ADMIN),
    _escape("disallow-mount-securityfs", Conflicts(), _PRIV, _SYS_ADMIN),
    _escape("disallow-mount-procfs", Conflicts(features=("dind",)), _PRIV_NO_DIND, _SYS_ADMIN),
    _escape("disallow-write-release-agent",
            Conflicts(files=_files("write to a cgroup release_agent", WRITE,
                                   "/sys/fs/cgroup/.*/release_agent")), _PRIV, _SYS_ADMIN),
    _escape("disallow-mount-cgroupfs", Conflicts(features=("dind",)), _PRIV_NO_DIND, _SYS_ADMIN),
    _escape("disallow-debug-disk-device", Conflicts(), ("privileged-container", "dind")),
    _escape("disallow-mount-disk-device", Conflicts(), ("privileged-container", "dind")),
    Rule("disallow-mount", "escape-pattern", AA_BPF,
         Conflicts(features=("mount-sth", "dind"), syscalls=("mount",))),  # OURS: syscall mount
    Rule("disallow-umount", "escape-pattern", AA_BPF,
         Conflicts(features=("umount-sth", "dind"), syscalls=("umount2",))),  # OURS: syscall umount2
    _escape("disallow-insmod", Conflicts(capabilities=("sys_module",)), ("privileged-container", "dind")),
    _escape("disallow-load-bpf-prog",
            Conflicts(features=("load-bpf", *_MOUNTERS), capabilities=("sys_admin", "bpf")),
            ("privileged-container",)),
    _escape("disallow-access-procfs-root",
            Conflicts(features=("dind",), files=_files("access to /proc/<pid>/root", (ANY,),
                                                       "/proc/.*/root$", "/proc/.*/root/")),
            ("share-containers-pid-ns", "share-host-pid-ns")),
    _escape("disallow-access-kallsyms",
            Conflicts(files=_files("read of /proc/kallsyms", READ, "/proc/kallsyms")),
            ("privileged-container",), ("syslog",)),
)

CAPABILITY_SETS = (
    Rule("disable-cap-all", "capability-set", AA_BPF,
         Conflicts(features=(*_MOUNTERS, "bind-privileged-socket-port"), capabilities=(ANY,))),
    Rule("disable-cap-all-except-net-bind-service", "capability-set", AA_BPF,
         Conflicts(features=_MOUNTERS,
                   capabilities=tuple(c for c in CAPABILITY_NAMES if c != "net_bind_service"))),
    Rule("disable-cap-privileged", "capability-set", AA_BPF,
         Conflicts(features=_MOUNTERS, capabilities=PRIVILEGED_CAPABILITIES)),
)


def _single(capability: str) -> Rule:
    features: tuple[str, ...] = ()
    if capability == "net_bind_service":
        features = ("bind-privileged-socket-port",)
    elif capability == "sys_admin":
        features = _MOUNTERS
    return Rule(f"disable-cap-{capability.replace('_', '-')}", "capability", AA_BPF,
                Conflicts(features=features, capabilities=(capability,)))


SINGLE_CAPABILITIES = tuple(_single(c) for c in CAPABILITY_NAMES)

EXPLOIT_VECTORS = (
    Rule("disallow-abuse-user-ns", "exploit-vector", AA_BPF,
         Conflicts(features=_MOUNTERS, capabilities=("sys_admin",))),
    Rule("disallow-create-user-ns", "exploit-vector", SECCOMP,
         Conflicts(features=("dind",), syscalls=("unshare",))),
    Rule("disallow-load-all-bpf-prog", "exploit-vector", SECCOMP,
         Conflicts(features=("load-bpf",), syscalls=("bpf",))),
    Rule("disallow-load-bpf-via-setsockopt", "exploit-vector", SECCOMP, Conflicts(syscalls=("setsockopt",))),
)

INFORMATION_LEAKS = (
    Rule("mitigate-sa-leak", "information-leak", AA_BPF,
         Conflicts(features=("require-sa",), files=_files(
             "read of the service account token", READ, "/run/secrets/kubernetes.io/serviceaccount/"))),
    Rule("mitigate-disk-device-number-leak", "information-leak", AA_BPF,
         Conflicts(files=_files("read of /proc/partitions or mountinfo", READ,
                                "/proc/partitions", "/proc/.*/mountinfo"))),
    Rule("mitigate-overlayfs-leak", "information-leak", AA_BPF,
         Conflicts(files=_files("read of /proc mounts or mountinfo", READ,
                                "/proc/mounts", "/proc/.*/mounts", "/proc/.*/mountinfo"))),
    Rule("mitigate-host-ip-leak", "information-leak", AA_BPF,
         Conflicts(files=_files("read of /proc/net/arp", READ, "/proc/net/arp", "/proc/.*/net/arp"))),
    Rule("disallow-metadata-service", "information-leak", ("bpf",)),
)


def _sensitive(rule_id: str, enforcers: tuple[Enforcer, ...], conflicts: Conflicts) -> Rule:
    return Rule(rule_id, "sensitive-operation", enforcers, conflicts)


SENSITIVE_OPERATIONS = (
    _sensitive("disable-write-etc", AA_BPF, Conflicts(files=_files(
        "write under /etc", WRITE, "^/etc$", "^/etc/", "/containerd/.*/fs/root/etc$",
        "/containerd/.*/fs/root/etc/"))),
    _sensitive("disable-busybox", AA_BPF, Conflicts(executables=("busybox",))),
    _sensitive("disable-shell", AA_BPF, Conflicts(executables=("sh", "bash", "dash"))),
    _sensitive("disable-wget", AA_BPF, Conflicts(executables=("wget",))),
    _sensitive("disable-curl", AA_BPF, Conflicts(executables=("curl",))),
    _sensitive("disable-chmod", AA_BPF, Conflicts(executables=("chmod",))),
    _sensitive("disable-chmod-x-bit", SECCOMP, Conflicts(syscalls=CHMOD_SYSCALLS)),
    _sensitive("disable-chmod-s-bit", SECCOMP, Conflicts(syscalls=CHMOD_SYSCALLS)),
    _sensitive("disable-su-sudo", AA_BPF, Conflicts(executables=("su", "sudo"))),
)

VULNERABILITY_MITIGATIONS = (
    Rule("cgroups-lxcfs-escape-mitigation", "vulnerability-mitigation", AA_BPF, Conflicts(files=_files(
        "write to cgroup release_agent, devices.allow, cgroup.procs or tasks", WRITE,
        "/release_agent$", "/devices/devices.allow$", "/devices/.*/devices.allow$", "/devices/cgroup.procs$",
        "/devices/.*/cgroup.procs$", "/devices/tasks$", "/devices/.*/tasks$"))),
    Rule("runc-override-mitigation", "vulnerability-mitigation", AA_BPF,
         Conflicts(files=_files("write to a runc binary", WRITE, "/runc$"))),
    Rule("dirty-pipe-mitigation", "vulnerability-mitigation", SECCOMP, Conflicts(syscalls=("splice",))),
)

RULES: tuple[Rule, ...] = (*ESCAPE_PATTERNS, *CAPABILITY_SETS, *SINGLE_CAPABILITIES, *EXPLOIT_VECTORS,
                           *INFORMATION_LEAKS, *SENSITIVE_OPERATIONS, *VULNERABILITY_MITIGATIONS)
"""Every rule, in upstream's evaluation order (category by category)."""
