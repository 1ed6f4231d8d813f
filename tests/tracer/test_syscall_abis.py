"""Syscalls are named from the table of the ABI they were made with: an ia32 call (``int $0x80``)
from an x86_64 process is recorded in its own ``i386`` syscall set, not misnamed from the
x86_64 table (ia32 20 is getpid; x86_64 20 is writev)."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile

import pytest

from tests.tracer.harness import TracerProcess, kinds, traced

IA32_GETPID = r"""
int main(void) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret > 0 ? 0 : 1;
}
"""


def built(name: str, source: str, *gcc_flags: str) -> str:
    """The C program ``source`` compiled (gcc -O2) into a fresh directory; its path."""
    work = tempfile.mkdtemp(prefix=f"varmor-{name}-")
    path, binary = os.path.join(work, f"{name}.c"), os.path.join(work, name)
    with open(path, "w") as f:
        f.write(source)
    subprocess.run(["gcc", "-O2", *gcc_flags, "-o", binary, path], check=True)
    return binary


def syscall_sets(tracer: TracerProcess, command: str) -> dict[tuple[str, str], set[str]]:
    """The syscall sets of ``command`` run traced, by (origin, arch: "" native, "i386")."""
    events = kinds(traced(tracer, command), "syscalls")
    return {(e["origin"], e.get("arch", "")): set(e["names"]) for e in events}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="ia32 emulation exists on x86_64 only")
def test_an_ia32_call_is_recorded_in_the_i386_set_under_its_own_name(tracer: TracerProcess) -> None:
    sets = syscall_sets(tracer, built("ia32", IA32_GETPID))
    assert sets[("container", "i386")] == {"getpid"}
    assert "writev" not in sets[("container", "")]


def test_syscalls_newer_than_the_table_are_named_from_the_kernel_and_unknown_numbers_are_counted(
        tracer: TracerProcess) -> None:
    calls = "import ctypes; c = ctypes.CDLL(None); c.syscall(462, 0, 0, 0); c.syscall(500)"
    events = traced(tracer, f'python3 -c "{calls}"')
    names = {n for e in kinds(events, "syscalls") for n in e["names"]}
    assert "mseal" in names  # 462, past libseccomp's table; this kernel has it
    assert not [n for n in names if n.startswith("syscall_")]
    assert kinds(events, "stats")[-1]["unresolved_syscalls"] == 1  # 500


UNRETURNED = r"""
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
static void on_signal(int sig) { (void)sig; }
static void *thread(void *arg) { syscall(SYS_exit, 0); return arg; }
int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) __asm__ volatile ("int $0x80" : : "a"(1L), "b"(0L) : "memory");   /* ia32 exit */
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);                       /* the handler returns through rt_sigreturn */
    pthread_t t;
    pthread_create(&t, 0, thread, 0);     /* the thread ends with exit */
    pthread_join(t, 0);
    return 0;                             /* the process ends with exit_group */
}
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="ia32 emulation exists on x86_64 only")
def test_calls_that_never_return_to_their_caller_are_recorded_under_their_abi(tracer: TracerProcess) -> None:
    """exit and exit_group end the task before the syscall's exit; rt_sigreturn reaches it with the
    number -1. A profile without them would kill or break every workload."""
    binary = built("unreturned", UNRETURNED, "-pthread")

    native, ia32 = syscall_sets(tracer, binary), syscall_sets(tracer, f"{binary} ia32")

    assert {"rt_sigreturn", "exit", "exit_group", "execve"} <= native[("container", "")]
    assert ia32[("container", "i386")] == {"exit"}   # not exit_group, nor a sigreturn: not made
