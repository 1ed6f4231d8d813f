"""Syscall numbers ↔ names for the architectures audit records and the tracer report.

Seccomp audit records carry a syscall *number* and the audit ``arch=`` of the calling task;
the tracer reports numbers for the native architecture. Both become libseccomp names here (the
names OCI seccomp JSON uses), always resolved with the table of the record's own architecture,
so an i386 task on an x86_64 node is not mis-named. The data is ``generator.syscalls_table``,
generated once by ``tests/generator/data/make_syscalls.py``.
"""

from __future__ import annotations

from typing import Literal

from generator.syscalls_table import TABLES

Arch = Literal["x86_64", "aarch64", "i386"]
ARCHES: tuple[Arch, ...] = ("x86_64", "aarch64", "i386")
NATIVE_ARCH: Arch = "x86_64"

# audit ``arch=`` field (AUDIT_ARCH_* in lower-case hex) → architecture name
AUDIT_ARCHES: dict[str, Arch] = {"c000003e": "x86_64", "c00000b7": "aarch64", "40000003": "i386"}

_NUMBERS: dict[str, dict[str, int]] = {
    arch: {name: number for number, name in table.items()} for arch, table in TABLES.items()
}

NATIVE_NAMES: list[str] = sorted(set(TABLES[NATIVE_ARCH].values()))
"""Every syscall name of the native (x86_64) table, sorted."""


def syscall_name(arch: str, number: int) -> str | None:
    """The libseccomp name of syscall ``number`` on ``arch``, or None when unknown."""
    return TABLES.get(arch, {}).get(number)


def syscall_number(arch: str, name: str) -> int | None:
    """The number of syscall ``name`` on ``arch``, or None when the arch lacks it."""
    return _NUMBERS.get(arch, {}).get(name)


def arch_from_audit(value: str) -> Arch | None:
    """The architecture of an audit ``arch=`` value such as ``c000003e``, or None."""
    return AUDIT_ARCHES.get(value.strip().lower().removeprefix("0x"))


def syscall_names(arch: str) -> list[str]:
    """Every syscall name known on ``arch``, sorted (empty for an unknown arch)."""
    return sorted(set(TABLES.get(arch, {}).values()))
