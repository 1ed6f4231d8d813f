"""Replay: a generated seccomp profile lets a second run succeed; removing one observed
syscall that the workload needs makes it fail (``app.py verify``)."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests.agent.modeling import allowed, app, model, without

WORKLOADS = {
    "mkdir": ("sh -c 'mkdir -p {tmp}/a/b && rmdir {tmp}/a/b {tmp}/a'", ("mkdir", "mkdirat")),
    "socket": ("python3 -S -c 'import socket; socket.socket().close()'", ("socket",)),
    "unshare": ("unshare -Un true", ("unshare",)),
    "tar": ("tar -cf {tmp}/etc.tar -C /usr/share/doc dpkg", ("getdents64",)),
}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_the_profile_lets_a_second_run_succeed_and_removing_a_syscall_breaks_it(
        tmp_path: pathlib.Path, name: str) -> None:
    command, needed = WORKLOADS[name]
    cmd = ["sh", "-c", "exec " + command.format(tmp=tmp_path)]
    _, seccomp, _ = model(tmp_path, name, *cmd)
    assert set(needed) & allowed(seccomp)
    profile = tmp_path / f"{name}.seccomp.json"
    second = app("verify", "--seccomp", str(profile), "--", *cmd)
    assert second.returncode == 0, second.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(without(seccomp, *needed)))
    third = app("verify", "--seccomp", str(broken), "--", *cmd)
    assert third.returncode != 0, third.stderr


def test_what_if_lists_the_syscalls_a_profile_would_deny(tmp_path: pathlib.Path) -> None:
    _, seccomp, _ = model(tmp_path, "cat", "cat", "/etc/hostname")
    profile = tmp_path / "cat.seccomp.json"
    profile.write_text(json.dumps(without(seccomp, "fadvise64")))
    done = app("verify", "--what-if", "--seccomp", str(profile), "--", "cat", "/etc/hostname")
    assert done.returncode == 1
    assert "would deny: fadvise64" in done.stdout


def test_verify_names_and_counts_denied_syscalls_even_when_the_command_succeeds(
        tmp_path: pathlib.Path) -> None:
    _, seccomp, _ = model(tmp_path, "cat", "cat", "/etc/hostname")
    profile = tmp_path / "no-fadvise.json"
    profile.write_text(json.dumps(without(seccomp, "fadvise64")))
    done = app("verify", "--seccomp", str(profile), "--", "cat", "/etc/hostname")
    assert done.returncode == 1, done.stderr  # cat ignores the EPERM and exits 0; verify does not
    assert "denied: fadvise64 x1" in done.stdout
    assert "1 syscall(s) denied 1 time(s)" in done.stderr


def test_verify_stops_a_workload_that_retries_a_denied_syscall(tmp_path: pathlib.Path) -> None:
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    script = f"until mkdir {tmp_path}/d 2>/dev/null; do :; done"
    done = app("verify", "--timeout", "2", "--seccomp", str(profile), "--", "sh", "-c", script, timeout=60)
    assert done.returncode == 124, done.stderr
    assert "timed out after 2s" in done.stderr
    counts = {line.split()[1]: int(line.split()[2][1:]) for line in done.stdout.splitlines()
              if line.startswith("denied: ")}
    assert sum(counts.values()) > 10 and set(counts) <= {"mkdir", "mkdirat"}
    assert not (tmp_path / "d").exists()


def test_a_profile_with_an_empty_syscall_set_denies_the_exec_and_says_so(tmp_path: pathlib.Path) -> None:
    profile = tmp_path / "deny-all.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}))
    done = app("verify", "--timeout", "10", "--seccomp", str(profile), "--", "true")
    assert done.returncode != 0
    assert "denied: execve x" in done.stdout


def test_a_profile_that_denies_nothing_runs_the_command_unchanged(tmp_path: pathlib.Path) -> None:
    profile = tmp_path / "allow-all.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}))
    done = app("verify", "--seccomp", str(profile), "--", "sh", "-c", "exit 3")
    assert done.returncode == 3
    assert "failed (exit status 3)" in done.stderr and "no syscall denied" in done.stderr


def test_a_denied_call_gets_the_errno_the_profile_names(tmp_path: pathlib.Path) -> None:
    profile = tmp_path / "no-read.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]}))  # syscall number 0, EIO
    done = app("verify", "--seccomp", str(profile), "--", "cat", "/etc/hostname")
    assert done.returncode == 127  # the loader cannot read libc: the command's own status
    assert "Input/output error" in done.stderr
    assert "denied: read x" in done.stdout
