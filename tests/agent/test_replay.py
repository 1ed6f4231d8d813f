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
