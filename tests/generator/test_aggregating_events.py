"""Aggregation of schema-v1 events into a model: every class, origins, coverage and drops."""

from __future__ import annotations

import pathlib
from typing import Any

from generator.aggregate import Options, model_from_events
from generator.auditlogs import events_from_audit_lines
from generator.models import Mount, Ptrace, Signal, Socket
from generator.render import render_apparmor, render_seccomp

DATA = pathlib.Path(__file__).parent / "data"


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": 1, "kind": kind, "target": "c1", **fields}


def test_every_event_class_lands_in_its_section() -> None:
    model = model_from_events("p", [
        ev("exec", path="/usr/bin/id"),
        ev("file", path="/etc/shadow", access=["read"], owner=True),
        ev("capability", name="CAP_SYS_ADMIN"),
        ev("socket", domain="inet", type="stream", protocol="tcp"),
        ev("connect", domain="inet", address="10.0.0.1", port=443),
        ev("ptrace", peer="p//null-/bin/ps", permissions=["read"], external=False),
        ev("signal", peer="unconfined", permissions=["receive"], signals=["term"], external=True),
        ev("mount", path="/mnt", fstype="tmpfs", flags=["nosuid"]),
        ev("umount", path="/mnt", fstype="tmpfs", flags=[]),
        ev("syscalls", names=["unshare", "execve"]),
        ev("unhandled", text="dbus something"),
    ])
    a = model.apparmor
    assert a.profiles == ("p",)
    assert a.executions == ("/usr/bin/id",)
    assert [(f.path, f.permissions, f.owner) for f in a.files] == [("/etc/shadow", ("r",), True)]
    assert a.capabilities == ("sys_admin",)
    assert a.sockets == (Socket("inet", "stream", "tcp"),)
    assert a.egresses[0].ip == "10.0.0.1" and a.egresses[0].ports == (443,)
    assert a.ptraces == (Ptrace("p", ("read",), False),)
    assert a.signals == (Signal("unconfined", ("receive",), ("term",)),)
    assert a.mounts == (Mount("/mnt", "tmpfs", ("nosuid", "umount")),)
    assert model.syscalls == ("unshare", "execve")
    assert a.unhandled == ("dbus something",)


def test_write_then_read_gives_one_rw_rule() -> None:
    model = model_from_events("p", [ev("file", path="/root/c1", access=["create", "write"], owner=True),
                                    ev("file", path="/root/c1", access=["read"], owner=True)])
    assert "  owner /root/c1 rw,\n" in render_apparmor(model)


def test_append_is_dropped_when_write_is_present() -> None:
    model = model_from_events("p", [ev("file", path="/var/log/x", access=["append", "write"], owner=False)])
    assert "  /var/log/x w,\n" in render_apparmor(model)


def test_read_only_library_access_is_globbed_with_the_raw_path_kept() -> None:
    model = model_from_events("p", [ev("file", path="/usr/lib/x86_64-linux-gnu/libc.so.6",
                                       access=["read", "mmap"], owner=True)])
    rule = model.apparmor.files[0]
    assert rule.path == "/usr/lib/x86_64-linux-gnu/**"
    assert rule.old_path == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert "  owner /usr/lib/x86_64-linux-gnu/** mr,\n" in render_apparmor(model)


def test_records_seen_only_from_exec_sessions_are_marked() -> None:
    model = model_from_events("p", [
        ev("exec", path="/usr/bin/sleep", origin="container"),
        ev("exec", path="/usr/bin/cat", origin="exec"),
        ev("file", path="/etc/shadow", access=["read"], owner=True, origin="exec"),
        ev("capability", name="sys_admin", origin="exec"),
        ev("syscalls", names=["unshare"], origin="exec"),
    ])
    assert model.exec_only.executions == ("/usr/bin/cat",)
    assert model.exec_only.files == ("/etc/shadow",)
    assert model.exec_only.capabilities == ("sys_admin",)
    assert model.exec_only.syscalls == ("unshare",)


def test_truncated_relative_and_unknown_records_are_dropped_and_counted() -> None:
    model = model_from_events("p", [
        ev("file", path="/very/long/pa", access=["read"], owner=True, truncated=True),
        ev("file", path="relative/path", access=["read"], owner=True),
        ev("capability", name="sys_everything"),
        {"v": 2, "kind": "file"},
        ev("file"),
    ], Options(node="node-1"))
    total = model.total_coverage()
    assert {d.reason for d in total.dropped} == {"path truncated by the kernel", "not an absolute path",
                                                 "unknown capability"}
    assert total.invalid_events == 2
    assert model.apparmor.files == () and model.apparmor.capabilities == ()
    assert model.coverage[0].node == "node-1"


def test_an_ia32_syscall_set_is_recorded_as_such_and_never_named_as_a_native_call() -> None:
    model = model_from_events("p", [
        ev("syscalls", names=["read", "exit_group"]),
        ev("syscalls", names=["getpid", "socketcall"], arch="i386"),  # int $0x80 from an x86_64 task
    ], Options(node="node-1", arch="x86_64"))
    assert model.syscalls == ("read", "exit_group")
    dropped = {(d.kind, d.value, d.reason) for d in model.total_coverage().dropped}
    assert dropped == {("syscall", f"i386:{n}", "an i386 call; the seccomp profile is x86_64")
                       for n in ("getpid", "socketcall")}
    assert '"getpid"' not in render_seccomp(model)


def test_tracer_stats_become_the_models_coverage() -> None:
    model = model_from_events("p", [
        ev("stats", lost_events=1, map_full=0, paths_truncated=2, sources=["ebpf"]),
        ev("stats", lost_events=5, map_full=1, paths_truncated=3, sources=["ebpf"]),
    ])
    total = model.total_coverage()
    assert (total.lost_events, total.map_full, total.paths_truncated) == (5, 1, 3)
    assert total.sources == ("ebpf",)


def test_provenance_names_the_container_and_its_time_span() -> None:
    model = model_from_events("p", [
        ev("exec", path="/bin/sh", node="n1", namespace="demo", pod="demo-4-x", container="c1", ts=5.0),
        ev("exec", path="/bin/ls", node="n1", namespace="demo", pod="demo-4-x", container="c1", ts=9.0),
    ])
    (p,) = model.provenance
    assert (p.node, p.namespace, p.pod, p.container, p.first_seen, p.last_seen) == \
        ("n1", "demo", "demo-4-x", "c1", 5.0, 9.0)


def test_the_guides_audit_log_yields_the_guides_rules() -> None:
    with (DATA / "audit_kern.log").open() as lines:
        model = model_from_events("varmor-cluster-varmor-demo-4",
                                  events_from_audit_lines(lines, "varmor-cluster-varmor-demo-4"))
    profile = render_apparmor(model)
    for rule in ("/usr/bin/id ix,", "/usr/bin/unshare ix,", "owner /etc/shadow r,", "capability sys_admin,",
                 "owner /usr/lib/x86_64-linux-gnu/** mr,"):
        assert f"  {rule}\n" in profile
    assert '"unshare"' in render_seccomp(model)
