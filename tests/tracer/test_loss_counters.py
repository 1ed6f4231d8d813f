"""Loss counters: every kernel counter is read, each loss is reported for the target it hit
(never once per target), and the session's counters come once, in the replies."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import tempfile
from collections.abc import Iterator

import pytest

from tests.tracer.harness import ROOT, Container, Event, TracerProcess, kinds
from tracer.tracing import COUNTERS

# tracer.c's enum names → the stats field each must land in
FIELDS = {"C_MAP_FULL": "map_full", "C_TRUNCATED": "paths_truncated", "C_NR_RANGE": "unresolved_syscalls",
          "C_NO_WALK": "walk_failed", "C_LOST": "lost_events"}
BAD_SYSCALL = "import ctypes; ctypes.CDLL(None).syscall(1000)"
LONG_PATH = ("import os, sys; os.chdir(sys.argv[1]); [os.chdir(sys.argv[2]) for _ in range(25)]; "
             "open('f.txt').close()")


def test_every_counter_of_the_kernel_is_read_under_its_own_name() -> None:
    source = (ROOT / "tracer" / "bpf" / "tracer.c").read_text()
    enum = re.search(r"enum \{ (C_MAP_FULL[^}]*) \}", source)
    assert enum is not None
    values = {name: int(value) for name, value in re.findall(r"(C_\w+) = (\d+)", enum.group(1))}
    assert values.pop("C_NCOUNTERS") == len(COUNTERS) == len(FIELDS)
    read_as = {COUNTERS[index]: FIELDS[name] for name, index in values.items()}
    assert read_as == {field: field for field in FIELDS.values()}


def last_stats(events: list[Event]) -> Event:
    return kinds(events, "stats")[-1]


@pytest.fixture
def three(tracer: TracerProcess) -> Iterator[tuple[list[Event], list[Event], list[Event], dict[str, int]]]:
    work = tempfile.mkdtemp(prefix="varmor-counters-")
    long = pathlib.Path(work, "long")
    long.mkdir()
    fd = os.open(long, os.O_RDONLY)
    for _ in range(25):  # 25 x 201 bytes: past the kernel's 4,096
        os.mkdir("L" * 200, dir_fd=fd)
        fd, old = os.open("L" * 200, os.O_RDONLY, dir_fd=fd), fd
        os.close(old)
    os.close(os.open("f.txt", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    before = tracer.session_stats()
    ctrs = [Container(f'python3 -c "{BAD_SYSCALL}"'),
            Container(f'python3 -c "{LONG_PATH}" {long} {"L" * 200}'), Container("true")]
    try:
        for ctr in ctrs:
            tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        for ctr in ctrs:
            ctr.run()
        events = [tracer.remove(ctr.name) for ctr in ctrs]
        after = tracer.session_stats()
    finally:
        for ctr in ctrs:
            ctr.remove()
    yield events[0], events[1], events[2], {k: after[k] - before[k] for k in after}


def test_an_unknown_syscall_number_and_a_truncated_path_count_for_their_own_target_and_field(
        three: tuple[list[Event], list[Event], list[Event], dict[str, int]]) -> None:
    bad_syscall, long_path, idle, session = three
    assert last_stats(bad_syscall)["unresolved_syscalls"] >= 1
    assert last_stats(bad_syscall)["paths_truncated"] == 0
    assert last_stats(long_path)["paths_truncated"] == 1
    assert last_stats(long_path)["unresolved_syscalls"] == 0
    assert all(last_stats(idle)[field] == 0 for field in COUNTERS)
    assert session["paths_truncated"] == 1
    assert session["unresolved_syscalls"] >= 1
    assert session["lost_events"] == session["map_full"] == session["walk_failed"] == 0


def test_events_lost_in_a_full_ring_buffer_count_once_for_the_target_that_lost_them() -> None:
    work = pathlib.Path(tempfile.mkdtemp(prefix="varmor-lost-"))
    for i in range(20_000):
        (work / f"f{i}").touch()
    tracer = TracerProcess(("--ring-mib", "1"))
    storm, idle = Container(f"cat {work}/f* > /dev/null"), Container("true")
    try:
        tracer.add(storm.name, f"cgroup={storm.cgroup}")
        tracer.add(idle.name, f"cgroup={idle.cgroup}")
        os.kill(tracer.proc.pid, signal.SIGSTOP)  # nobody drains the ring buffer
        try:
            idle.run()  # first: its few records fit
            storm.run()
        finally:
            os.kill(tracer.proc.pid, signal.SIGCONT)
        lost = [last_stats(tracer.remove(ctr.name)) for ctr in (storm, idle)]
        session = tracer.session_stats()
    finally:
        storm.remove()
        idle.remove()
        tracer.stop()
    assert lost[0]["lost_events"] > 1_000
    assert lost[0]["map_full"] == lost[0]["paths_truncated"] == lost[0]["unresolved_syscalls"] == 0
    assert lost[1]["lost_events"] == 0
    assert session["lost_events"] == lost[0]["lost_events"]
    assert session["map_full"] == 0
