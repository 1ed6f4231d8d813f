"""Each event class is recorded by the real tracer with the right resolved path and access."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.tracer.harness import Container, Event, TracerProcess, files, kinds, traced

PY = "/usr/bin/python3"
NET = (
    "import socket as s\n"
    "srv = s.socket(s.AF_INET, s.SOCK_STREAM); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
    "c = s.socket(s.AF_INET, s.SOCK_STREAM); c.connect(('127.0.0.1', srv.getsockname()[1]))\n"
    "u = s.socket(s.AF_INET6, s.SOCK_DGRAM); u.bind(('::1', 0))\n"
)
LOCK = "import fcntl, sys\nf = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX)\n"


@pytest.fixture(scope="module")
def recorded(tracer: TracerProcess) -> Iterator[tuple[list[Event], str]]:
    work = tempfile.mkdtemp(prefix="varmor-classes-")
    with open(os.path.join(work, "net.py"), "w") as f:
        f.write(NET)
    with open(os.path.join(work, "lock.py"), "w") as f:
        f.write(LOCK)
    script = "; ".join([
        f"cd {work}", "echo hello > new.txt", "echo more >> new.txt", "cat new.txt > /dev/null",
        "cat /etc/shadow > /dev/null", "ln new.txt hard.lnk", f"{PY} net.py", f"{PY} lock.py new.txt",
        "unshare -Un id > /dev/null", "strace -o /dev/null true", "sleep 5 & kill -USR1 $!",
        "unshare -m sh -c 'mkdir -p mnt && mount -t tmpfs none mnt && umount mnt'",
    ])
    ctr = Container(script)
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.run()
        yield tracer.remove(ctr.name), os.path.realpath(work)
    finally:
        ctr.remove()


def test_executed_binaries_are_recorded_with_their_resolved_paths(recorded: tuple[list[Event], str]) -> None:
    paths = {e["path"] for e in kinds(recorded[0], "exec")}
    assert {"/usr/bin/dash", "/usr/bin/cat", "/usr/bin/unshare", "/usr/bin/id"} <= paths


def test_file_accesses_carry_full_paths_and_access_classes(recorded: tuple[list[Event], str]) -> None:
    seen, work = files(recorded[0]), recorded[1]
    assert {"write", "create"} <= seen[f"{work}/new.txt"]
    assert {"append", "read", "lock"} <= seen[f"{work}/new.txt"]
    assert seen["/etc/shadow"] == {"read"}
    assert seen[f"{work}/hard.lnk"] == {"link"}
    assert "mmap" in seen["/usr/lib/x86_64-linux-gnu/libc.so.6"]


def test_capabilities_actually_required_are_recorded_without_noaudit_checks(
        recorded: tuple[list[Event], str]) -> None:
    by_comm = {(e["comm"], e["name"]) for e in kinds(recorded[0], "capability")}
    assert ("unshare", "sys_admin") in by_comm
    assert not any(comm == "cat" for comm, _ in by_comm)


def test_sockets_and_their_connect_and_bind_targets_are_recorded(recorded: tuple[list[Event], str]) -> None:
    events = recorded[0]
    sockets = {(e["domain"], e["type"]) for e in kinds(events, "socket")}
    assert {("inet", "stream"), ("inet6", "dgram")} <= sockets
    assert any(e["address"] == "127.0.0.1" and e["port"] > 0 for e in kinds(events, "connect"))
    bound = {(e["domain"], e["address"]) for e in kinds(events, "bind")}
    assert {("inet", "127.0.0.1"), ("inet6", "::1")} <= bound


def test_ptrace_and_signals_are_recorded_with_their_peers(recorded: tuple[list[Event], str]) -> None:
    events = recorded[0]
    assert {"trace", "tracedby"} & {p for e in kinds(events, "ptrace") for p in e["permissions"]}
    usr1 = [e for e in kinds(events, "signal") if e["signals"] == ["usr1"]]
    assert usr1 and usr1[0]["external"] is False and usr1[0]["permissions"] == ["send"]


def test_mount_and_umount_are_recorded(recorded: tuple[list[Event], str]) -> None:
    events, mnt = recorded[0], f"{recorded[1]}/mnt"
    assert any(e["fstype"] == "tmpfs" and e["path"] == mnt for e in kinds(events, "mount"))
    assert any(e["path"] == mnt for e in kinds(events, "umount"))


def test_the_syscall_set_arrives_as_one_event_with_names(recorded: tuple[list[Event], str]) -> None:
    (syscalls,) = kinds(recorded[0], "syscalls")
    assert {"openat", "execve", "unshare", "mount", "ptrace", "connect", "bind"} <= set(syscalls["names"])
    (stats,) = kinds(recorded[0], "stats")[-1:]
    assert stats["lost_events"] == 0


def test_reading_a_file_alone_requires_no_capability(tracer: TracerProcess) -> None:
    events = traced(tracer, "cat /etc/shadow > /dev/null; cat /etc/hostname > /dev/null")
    assert "/etc/shadow" in files(events)
    assert kinds(events, "capability") == []
