"""The agent's audit-log source follows real files like ``tail -F`` and attributes their records.

The lines are the kern.log and audit.log records of the generator's audit-log fixtures, written by
the test into files in a private temp dir while the source's own thread follows them.
"""

from __future__ import annotations

import os
import pathlib
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest

from agent.auditing import MAX_LINE, AuditSource, line_result, routing_target
from generator.aggregate import Aggregator

DATA = pathlib.Path(__file__).parents[1] / "generator" / "data"
KERN = (DATA / "audit_kern.log").read_text().splitlines()
AUDITD = (DATA / "audit_auditd.log").read_text().splitlines()
P = "varmor-cluster-varmor-demo-4"
OTHER = "varmor-demo-demo-1"
POLL = 0.02


def kern(*needles: str) -> list[str]:
    """The kern.log fixture lines containing every needle, in file order."""
    return [line for line in KERN if all(n in line for n in needles)]


EXEC_ID = kern("operation=\"exec\"", "/usr/bin/id")[0]
SHADOW = kern("/etc/shadow")[0]
UNSHARE_SYSCALL = kern("type=1326", "syscall=272")[0]
NGINX_SYSCALL = kern("type=1326", "nginx")[0]
CUT_SHORT = kern('name="/etc/pa')[0]


class Recorded:
    """An ``on_event`` port that keeps every event, safe to read from the test thread."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def data(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["kind"] != "stats"]

    def stats(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {e["target"]: e for e in self.events if e["kind"] == "stats"}

    def paths(self) -> list[str]:
        return [str(e.get("path")) for e in self.data() if "path" in e]


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(POLL / 2)


def drained(source: AuditSource, lines: int) -> None:
    """Wait until ``lines`` lines were read and the pass that read them has emitted everything."""
    wait_until(lambda: source.counts.lines >= lines)
    passes = source.counts.polls
    wait_until(lambda: source.counts.polls > passes)
    assert source.counts.lines == lines


def append(path: pathlib.Path, *lines: str) -> None:
    with path.open("a") as f:
        f.write("".join(line + "\n" for line in lines))


@pytest.fixture
def follow() -> Iterator[Callable[..., tuple[AuditSource, Recorded]]]:
    sources: list[AuditSource] = []

    def start(*paths: pathlib.Path, profiles: Collection[str] = (P,),
              pids: dict[int, str] | None = None) -> tuple[AuditSource, Recorded]:
        recorded = Recorded()
        source = AuditSource([str(p) for p in paths], recorded, lambda: profiles,
                             (pids or {}).get, poll_seconds=POLL)
        source.start()
        sources.append(source)
        return source, recorded

    yield start
    for source in sources:
        source.stop()


def test_only_records_written_after_start_are_read(tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    append(log, EXEC_ID)
    source, recorded = follow(log)
    assert source.following == str(log)
    append(log, SHADOW)
    wait_until(lambda: recorded.paths() == ["/etc/shadow"])
    time.sleep(5 * POLL)
    assert recorded.paths() == ["/etc/shadow"]
    assert source.counts.lines == 1


def test_apparmor_records_go_to_their_modeling_profile_and_others_are_ignored(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log, profiles=(P, OTHER))
    other = EXEC_ID.replace(P, OTHER)
    lookalike = SHADOW.replace(P, P + "0")
    append(log, *kern("type=1400"), other, lookalike)
    drained(source, len(kern("type=1400")) + 2)
    by_target = {(e["target"], e["kind"], e.get("path", e.get("name"))) for e in recorded.data()}
    assert (P, "exec", "/usr/bin/cat") in by_target  # from a //null- child profile's parent
    assert (P, "file", "/etc/shadow") in by_target
    assert (P, "capability", "sys_admin") in by_target
    assert (P, "file", "/tmp/my copy") in by_target  # hex-encoded name
    assert (OTHER, "exec", "/usr/bin/id") in by_target
    assert all(path != "/etc/hosts" for _t, _k, path in by_target)  # cri-containerd's record
    assert not [e for e in recorded.data() if e["target"] == P + "0"]
    assert all(e["sources"] == ["auditlog"] for e in recorded.data())
    # STATUS, DENIED, the disconnected path, cri-containerd's record and the lookalike profile
    assert source.counts.ignored == 5
    assert source.counts.malformed == 1  # the record cut short
    assert source.counts.used == len(kern("type=1400")) + 2 - 5 - 1


def test_seccomp_records_go_to_the_target_of_their_pid_else_to_their_subjects_profile(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "audit.log"
    log.touch()
    source, recorded = follow(log, pids={4102: "c-getconf", 4103: "c-true"})
    append(log, *[line for line in AUDITD if line.startswith("type=SECCOMP")])
    drained(source, 5)
    syscalls = {(e["target"], tuple(e["names"])) for e in recorded.data()}
    assert syscalls == {
        (P, ("setgroups",)),  # pid 4101 is no container's: its subj names the profile
        ("c-getconf", ("execve",)),  # i386 number 11, named with the record's own arch
        ("c-true", ("exit_group",)),
    }
    assert source.counts.unattributed == 1  # kubelet: no container's pid, subj unconfined
    assert source.counts.unresolved_syscalls == 1  # arch=deadbeef
    assert recorded.stats()["auditlog:c-getconf"]["unresolved_syscalls"] == 1


def test_malformed_records_are_counted_in_their_profiles_stats(tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log)
    append(log, CUT_SHORT, "type=SECCOMP msg=audit(1740535412.001:1): comm=x arch=c000003e syscall=1", SHADOW)
    drained(source, 3)
    assert source.counts.malformed == 2  # the cut AppArmor record and the seccomp record without pid
    stats = recorded.stats()[f"auditlog:{P}"]
    assert (stats["malformed"], stats["sources"]) == (1, [f"auditlog:{log}"])
    assert routing_target(stats) == P


def test_the_events_merge_with_tracer_events_into_one_model_with_the_audit_coverage(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log, pids={3201: "c-demo"})
    append(log, *KERN)
    drained(source, len(KERN))
    aggregator = Aggregator(P)
    aggregator.add({"v": 1, "kind": "exec", "target": "c-demo", "path": "/usr/bin/bash"})  # the tracer's
    for event in recorded.events:
        aggregator.add(event)
    model = aggregator.model()
    assert set(model.apparmor.executions) >= {"/usr/bin/bash", "/usr/bin/cat", "/usr/bin/unshare",
                                              "/usr/bin/id"}
    assert set(model.syscalls) == {"unshare", "execve", "getgroups"}  # nginx is not ours
    coverage = model.total_coverage()
    assert f"auditlog:{log}" in coverage.sources
    assert coverage.invalid_events == 1  # the cut-short record


def test_a_rename_and_create_rotation_is_followed_without_losing_lines(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log)
    append(log, EXEC_ID)
    wait_until(lambda: recorded.paths() == ["/usr/bin/id"])
    append(log, SHADOW)  # written just before the rename: read from the old file
    log.rename(tmp_path / "kern.log.1")
    time.sleep(3 * POLL)  # the path is missing for a while
    append(log, kern("/usr/bin/unshare", "exec")[0])
    wait_until(lambda: len(recorded.paths()) == 3)
    assert recorded.paths() == ["/usr/bin/id", "/etc/shadow", "/usr/bin/unshare"]
    assert source.following == str(log)
    assert source.counts.reopened == 1


def test_a_rotation_that_replaces_the_file_at_once_is_followed(tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log)
    append(log, EXEC_ID)
    wait_until(lambda: recorded.paths() == ["/usr/bin/id"])
    fresh = tmp_path / "kern.log.new"
    append(fresh, SHADOW)
    os.link(log, tmp_path / "kern.log.1")
    os.replace(fresh, log)  # the path never goes missing
    append(tmp_path / "kern.log.1", kern("/usr/bin/unshare", "exec")[0])  # late write to the old file
    wait_until(lambda: "/etc/shadow" in recorded.paths())
    assert source.following == str(log)
    assert source.counts.reopened == 1


def test_a_copytruncate_rotation_is_read_from_the_start_of_the_file(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log)
    append(log, *kern("type=1400")[:8])
    drained(source, 8)
    os.truncate(log, 0)
    append(log, SHADOW.replace("/etc/shadow", "/etc/gshadow"))
    wait_until(lambda: "/etc/gshadow" in recorded.paths())
    assert source.counts.reopened == 1
    assert source.counts.lines == 9


def test_a_path_that_appears_later_is_picked_up_from_its_start(tmp_path: pathlib.Path, follow: Any) -> None:
    audit, kernlog = tmp_path / "audit.log", tmp_path / "kern.log"
    source, recorded = follow(audit, kernlog)
    assert source.following is None
    append(kernlog, EXEC_ID)  # appears: all of it is new
    wait_until(lambda: recorded.paths() == ["/usr/bin/id"])
    assert source.following == str(kernlog)
    append(audit, *[line for line in AUDITD if "/etc/passwd" in line])  # the first path appears
    wait_until(lambda: source.following == str(audit) and "/etc/passwd" in recorded.paths())
    append(kernlog, SHADOW)  # no longer followed
    append(audit, *[line for line in AUDITD if "/root/c1" in line])
    wait_until(lambda: "/root/c1" in recorded.paths())
    assert "/etc/shadow" not in recorded.paths()


def test_the_first_existing_path_of_the_list_is_followed_from_its_end(
        tmp_path: pathlib.Path, follow: Any) -> None:
    missing, audit, kernlog = tmp_path / "none.log", tmp_path / "audit.log", tmp_path / "kern.log"
    append(audit, *AUDITD)
    append(kernlog, *KERN)
    source, recorded = follow(missing, audit, kernlog)
    assert source.following == str(audit)
    append(kernlog, EXEC_ID)
    append(audit, SHADOW)  # a kern.log line in audit.log still parses
    wait_until(lambda: recorded.paths() == ["/etc/shadow"])
    assert source.counts.lines == 1


def test_lines_are_read_only_when_complete_and_over_long_lines_are_counted(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source, recorded = follow(log)
    half = len(SHADOW) // 2
    with log.open("a") as f:
        f.write(SHADOW[:half])
    time.sleep(5 * POLL)
    assert recorded.paths() == []
    with log.open("a") as f:
        f.write(SHADOW[half:] + "\n" + "x" * (MAX_LINE + 10) + "\n" + EXEC_ID + "\n")
    wait_until(lambda: recorded.paths() == ["/etc/shadow", "/usr/bin/id"])
    assert (source.counts.malformed, source.counts.lines) == (1, 3)


def test_a_failing_consumer_does_not_end_the_source(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    seen: list[str] = []

    def fragile(event: dict[str, Any]) -> None:
        seen.append(str(event.get("path")))
        if len(seen) == 1:
            raise RuntimeError("consumer bug")

    source = AuditSource([str(log)], fragile, lambda: {P}, lambda pid: None, poll_seconds=POLL)
    source.start()
    try:
        append(log, EXEC_ID)
        wait_until(lambda: len(seen) >= 1)
        append(log, SHADOW)
        wait_until(lambda: "/etc/shadow" in seen)
    finally:
        source.stop()


def test_stop_returns_promptly_even_with_a_long_poll_interval(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    source = AuditSource([str(log)], lambda event: None, lambda: {P}, lambda pid: None, poll_seconds=60)
    source.start()
    threads = {t.name for t in threading.enumerate()}
    assert "audit-log" in threads
    began = time.monotonic()
    source.stop()
    assert time.monotonic() - began < 2.0
    assert source.following is None
    assert all(t.name != "audit-log" or not t.is_alive() for t in threading.enumerate())


def test_a_line_of_no_modeling_profile_yields_nothing() -> None:
    result = line_result(SHADOW, {OTHER}, lambda pid: None)
    assert (result.outcome, result.events) == ("ignored", ())
    assert line_result(NGINX_SYSCALL, {P}, lambda pid: None).outcome == "unattributed"
    assert line_result(UNSHARE_SYSCALL, {P}, lambda pid: None).target == P


def test_a_fault_in_target_of_pid_loses_only_that_record(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    recorded = Recorded()

    def target_of_pid(pid: int) -> str | None:
        raise LookupError(pid)

    source = AuditSource([str(log)], recorded, lambda: {P}, target_of_pid, poll_seconds=POLL)
    source.start()
    try:
        append(log, UNSHARE_SYSCALL, SHADOW)
        drained(source, 2)
        assert source.counts.unattributed == 1
        assert recorded.paths() == ["/etc/shadow"]
    finally:
        source.stop()


def test_a_new_window_of_the_same_profile_starts_its_stats_from_zero(
        tmp_path: pathlib.Path, follow: Any) -> None:
    log = tmp_path / "kern.log"
    log.touch()
    profiles = {P}
    source, recorded = follow(log, profiles=profiles)
    append(log, CUT_SHORT)
    drained(source, 1)
    assert recorded.stats()[f"auditlog:{P}"]["malformed"] == 1
    profiles.clear()  # the window ended
    append(log, NGINX_SYSCALL)
    drained(source, 2)
    profiles.add(P)  # and a new one began
    append(log, CUT_SHORT)
    drained(source, 3)
    assert recorded.stats()[f"auditlog:{P}"]["malformed"] == 1
