"""The few kernel calls a container runtime needs, for Python 3.11 which lacks ``os.setns``.

``unshare``/``setns``/``mount``/``sethostname`` go through ctypes to libc; ``load_seccomp`` builds a
libseccomp filter (PyPI ``pyseccomp``, ctypes over Debian's ``libseccomp2``) from a parsed
``SeccompProfile`` and loads it into the calling process (libseccomp sets ``no_new_privs``).
Only the container process (``running``) and the exec helper (``entering``) call these, in freshly
forked single-threaded children.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from typing import Any

from localcluster.node.seccomp_profiles import Action, SeccompProfile

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_ARCHES = {
    "SCMP_ARCH_X86_64": "X86_64",
    "SCMP_ARCH_X86": "X86",
    "SCMP_ARCH_X32": "X32",
    "SCMP_ARCH_AARCH64": "AARCH64",
    "SCMP_ARCH_ARM": "ARM",
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """Move the caller into new namespaces (``CLONE_NEWPID`` affects its later children only)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(path: str, nstype: int) -> None:
    """Join the namespace behind ``path`` (``/proc/<pid>/ns/<kind>``)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(fd, nstype)
    finally:
        os.close(fd)


def setns_fd(fd: int, nstype: int) -> None:
    """Join the namespace behind an open namespace file descriptor."""
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source: str, target: str, fstype: str | None, flags: int) -> None:
    """mount(2) without data."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            None,
        ),
        f"mount {target}",
    )


def sethostname(name: str) -> None:
    """Set the hostname of the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def private_proc() -> None:
    """In a fresh mount namespace: stop propagation to the host, mount a /proc for our pid ns."""
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def load_seccomp(profile: SeccompProfile) -> list[str]:
    """Load ``profile`` into this process; return syscall names libseccomp does not know."""
    import pyseccomp as sc

    filt = sc.SyscallFilter(defaction=_action(sc, profile.default_action, profile.default_errno_ret))
    for arch in profile.architectures:
        _add_arch(sc, filt, arch)
    unknown: list[str] = []
    for rule in profile.rules:
        action = _action(sc, rule.action, rule.errno_ret)
        args = [
            sc.Arg(a.index, getattr(sc, a.op.removeprefix("SCMP_CMP_")), a.value, a.value_two)
            for a in rule.args
        ]
        for name in rule.names:
            try:
                filt.add_rule(action, name, *args)
            except (OSError, ValueError):  # a name this libseccomp/arch does not know
                unknown.append(name)
    filt.load()
    return unknown


def _add_arch(sc: Any, filt: Any, name: str) -> None:
    attr = _ARCHES.get(name)
    if attr is None:
        return
    arch = getattr(sc.Arch, attr)
    if arch not in (sc.Arch.NATIVE, sc.system_arch()):
        with contextlib.suppress(OSError):
            filt.add_arch(arch)


def _action(sc: Any, action: Action, errno_ret: int) -> int:
    table: dict[str, int] = {
        "SCMP_ACT_ALLOW": sc.ALLOW,
        "SCMP_ACT_LOG": sc.LOG,
        "SCMP_ACT_KILL": sc.KILL,
        "SCMP_ACT_KILL_THREAD": sc.KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS,
        "SCMP_ACT_TRAP": sc.TRAP,
    }
    if action == "SCMP_ACT_ERRNO":
        return int(sc.ERRNO(errno_ret))
    return table[action]


def resolve_command(command: str, env: dict[str, str]) -> str:
    """The executable for ``command``, searched in the container's PATH like runc does."""
    if "/" in command:
        return command
    found = shutil.which(command, path=env.get("PATH", ""))
    if found is None:
        raise FileNotFoundError(f'exec: "{command}": executable file not found in $PATH')
    return found
