"""Syscall names for the tracer's numbers: the generator's tables, completed from the running kernel.

The generator's tables (``generator.syscalls``, from libseccomp) stop at 456. Syscalls added
since have the same number on every architecture (the unified numbering since 424), plus
x86_64's ``uretprobe``; each is named only when the running kernel has it (a ``__x64_sys_*``,
``__ia32_sys_*`` or ``__arm64_sys_*`` symbol in ``/proc/kallsyms``). A number that is in no
table is not named at all: the tracer counts it as ``unresolved_syscalls``.
"""

from __future__ import annotations

import contextlib
import re

from generator.syscalls import syscall_name

NEWER: dict[int, str] = {
    457: "statmount", 458: "listmount", 459: "lsm_get_self_attr", 460: "lsm_set_self_attr",
    461: "lsm_list_modules", 462: "mseal", 463: "setxattrat", 464: "getxattrat", 465: "listxattrat",
    466: "removexattrat", 467: "open_tree_attr", 468: "file_getattr", 469: "file_setattr",
}
ARCH_ONLY: dict[str, dict[int, str]] = {"x86_64": {335: "uretprobe"}}
PREFIXES = {"x86_64": ("__x64_sys_",), "i386": ("__ia32_sys_", "__ia32_compat_sys_"),
            "aarch64": ("__arm64_sys_",), "arm": ("__arm64_compat_sys_", "__arm64_sys_")}


def kernel_syscalls(kallsyms: str = "/proc/kallsyms") -> dict[str, frozenset[str]]:
    """Per architecture, the syscall names the running kernel has entry points for."""
    text = b""
    with contextlib.suppress(OSError), open(kallsyms, "rb") as f:
        text = f.read()
    return syscalls_of(text)


def syscalls_of(symbols: bytes) -> dict[str, frozenset[str]]:
    """``kernel_syscalls`` of the symbol table ``symbols`` (the text of /proc/kallsyms)."""
    found: dict[str, set[str]] = {arch: set() for arch in PREFIXES}
    for symbol in {s.decode() for s in re.findall(rb" (__[a-z0-9_]+_sys_\w+)$", symbols, re.MULTILINE)}:
        for arch, prefixes in PREFIXES.items():
            for prefix in prefixes:
                if symbol.startswith(prefix):
                    found[arch].add(symbol[len(prefix):])
    return {arch: frozenset(names) for arch, names in found.items()}


class SyscallNames:
    """``name(arch, number)``: the libseccomp name, else a newer syscall the kernel has, else None."""

    def __init__(self, kernel: dict[str, frozenset[str]]) -> None:
        self.kernel = kernel

    def name(self, arch: str, number: int) -> str | None:
        known = syscall_name(arch, number)
        if known is not None:
            return known
        newer = ARCH_ONLY.get(arch, {}).get(number) or NEWER.get(number)
        return newer if newer is not None and newer in self.kernel.get(arch, frozenset()) else None
