"""Syscall tables: libseccomp names, resolved per architecture."""

from __future__ import annotations

import pytest

from generator import syscalls


@pytest.mark.parametrize(
    ("number", "name"),
    [(72, "fcntl"), (11, "munmap"), (268, "fchmodat"), (439, "faccessat2"), (272, "unshare")],
)
def test_upstream_x86_64_numbers_resolve_to_libseccomp_names(number: int, name: str) -> None:
    assert syscalls.syscall_name("x86_64", number) == name


def test_the_same_number_means_different_syscalls_on_each_arch() -> None:
    assert syscalls.syscall_name("x86_64", 11) == "munmap"
    assert syscalls.syscall_name("i386", 11) == "execve"
    assert syscalls.syscall_name("aarch64", 221) == "execve"


def test_names_map_back_to_numbers_per_arch() -> None:
    assert syscalls.syscall_number("x86_64", "execve") == 59
    assert syscalls.syscall_number("i386", "execve") == 11
    assert syscalls.syscall_number("aarch64", "execve") == 221
    assert syscalls.syscall_number("aarch64", "open") is None  # aarch64 has only openat


def test_unknown_arch_or_number_resolves_to_none() -> None:
    assert syscalls.syscall_name("x86_64", 99999) is None
    assert syscalls.syscall_name("mips", 1) is None
    assert syscalls.syscall_number("x86_64", "no_such_call") is None


def test_audit_arch_values_name_the_three_arches() -> None:
    assert syscalls.arch_from_audit("c000003e") == "x86_64"
    assert syscalls.arch_from_audit("C00000B7") == "aarch64"
    assert syscalls.arch_from_audit("40000003") == "i386"
    assert syscalls.arch_from_audit("deadbeef") is None


def test_native_names_cover_the_seed_seccomp_profile() -> None:
    seed = {"openat2", "faccessat2", "rseq", "prlimit64", "newfstatat", "unshare", "vfork", "pread64"}
    assert seed <= set(syscalls.NATIVE_NAMES)
    assert sorted(syscalls.NATIVE_NAMES) == syscalls.NATIVE_NAMES


def test_every_table_is_a_bijection() -> None:
    for arch in syscalls.ARCHES:
        names = syscalls.syscall_names(arch)
        assert len(names) > 250
        for name in names:
            number = syscalls.syscall_number(arch, name)
            assert number is not None
            assert syscalls.syscall_name(arch, number) == name
