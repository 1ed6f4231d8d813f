"""Audit-log source: upstream's vectors (spec §6.1) and the §4.9 rules, record by record."""

from __future__ import annotations

import pathlib
from collections.abc import Collection

import pytest

from generator import events as ev
from generator.auditlogs import (
    AuditCounts,
    SeccompRecord,
    events_from_audit_lines,
    normalize_apparmor_line,
    parse_apparmor_record,
    parse_profile_name,
    parse_seccomp_record,
)

DATA = pathlib.Path(__file__).parent / "data"
P = "varmor-cluster-varmor-demo-4"
KERN = "Dec 21 15:35:04 node kernel: [8021.1][   T55] audit: type=1400 audit(1734766503.316:100): "
AVC = "type=AVC msg=audit(1734766503.316:100): "
UPSTREAM_APPARMOR = (
    "<5>Jan  4 18:02:26 n37-031-068 kernel: [21789599.565170][   T55] audit: type=1400 "
    'audit(1704362546.390:8945691): apparmor="ALLOWED" operation="file_mmap" '
    'profile="varmor-demo-demo-4//null-/bin/ping" name="/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.4" '
    'pid=3711187 comm="ping" requested_mask="rm" denied_mask="rm" fsuid=0 ouid=0'
)


def allowed(fields: str, profile: str = P, prefix: str = AVC) -> str:
    return f'{prefix}apparmor="ALLOWED" profile="{profile}" pid=42 comm="sh" {fields}'


def run(lines: list[str], profile: str = P, pids: Collection[int] = ()) -> list[ev.Event]:
    return [e for e in events_from_audit_lines(lines, profile, pids) if e["kind"] != "stats"]


def without_provenance(event: ev.Event) -> dict[str, object]:
    return {k: v for k, v in event.items() if k not in ("pid", "comm", "ts")}


# --- upstream Test_parseAppArmorEvent -------------------------------------------------------


def test_upstream_kern_log_line_normalises_to_the_auditd_form() -> None:
    assert normalize_apparmor_line(UPSTREAM_APPARMOR) == (
        'type=AVC msg=audit(1704362546.390:8945691): apparmor="ALLOWED" operation="file_mmap" '
        'profile="varmor-demo-demo-4//null-/bin/ping" name="/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.4" '
        'pid=3711187 comm="ping" requested_mask="rm" denied_mask="rm" fsuid=0 ouid=0'
    )


def test_upstream_apparmor_record_parses_like_libapparmor() -> None:
    record = parse_apparmor_record(UPSTREAM_APPARMOR)
    assert record is not None
    assert (record.mode, record.operation, record.profile) == (
        "ALLOWED", "file_mmap", "varmor-demo-demo-4//null-/bin/ping")
    assert (record.name, record.denied_mask, record.fsuid, record.ouid) == (
        "/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.4", "rm", 0, 0)
    assert (record.pid, record.comm, record.ts) == (3711187, "ping", 1704362546.39)


def test_upstream_apparmor_record_yields_an_owner_read_mmap_file_event() -> None:
    assert run([UPSTREAM_APPARMOR], "varmor-demo-demo-4") == [{
        "v": 1, "kind": "file", "target": "varmor-demo-demo-4",
        "path": "/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.4", "access": ["read", "mmap"], "owner": True,
        "pid": 3711187, "comm": "ping", "ts": 1704362546.39,
    }]


# --- upstream Test_ParseSeccompAuditEvent (reconstructed from spec §4.5/§6.1) ---------------

_TAIL = "sig=0 arch=c000003e syscall={n} compat=0 ip=0x7f24913a87b7 code=0x7ffc0000"
SECCOMP_VECTORS = [
    ("Dec 21 15:35:04 n1 kernel: [..][   T55] audit: type=1326 audit(1734766503.316:6623924): auid=4294967295"
     " uid=0 gid=0 ses=4294967295 subj==varmor-cluster-varmor-demo-4//null-/bin/sleep (complain) pid=698839"
     ' comm="sleep" exe="/bin/sleep" ' + _TAIL.format(n=11),
     ("1734766503.316:6623924", 1734766503, "varmor-cluster-varmor-demo-4//null-/bin/sleep (complain)",
      698839, "sleep", "/bin/sleep", "munmap")),
    ("Dec 21 15:35:05 n1 kernel: [..][   T55] audit: type=1326 audit(1734766505.185:6623933): auid=4294967295"
     " uid=0 gid=0 ses=4294967295 subj==varmor-cluster-varmor-demo-4//null-/bin/sleep (complain) pid=698839"
     ' comm="sleep" exe="/bin/sleep" ' + _TAIL.format(n=72),
     ("1734766505.185:6623933", 1734766505, "varmor-cluster-varmor-demo-4//null-/bin/sleep (complain)",
      698839, "sleep", "/bin/sleep", "fcntl")),
    ("type=SECCOMP msg=audit(1740535410.396:1727850): auid=4294967295 uid=0 gid=0 ses=4294967295"
     ' subj==cri-containerd.apparmor.d (enforce) pid=3315793 comm="chmod" exe="/bin/chmod" '
     + _TAIL.format(n=268),
     ("1740535410.396:1727850", 1740535410, "cri-containerd.apparmor.d (enforce)", 3315793, "chmod",
      "/bin/chmod", "fchmodat")),
    ("type=SECCOMP msg=audit(1740535410.397:1727851): auid=4294967295 uid=0 gid=0 ses=4294967295"
     ' subj=cri-containerd.apparmor.d (enforce) pid=3315793 comm="chmod" exe="/bin/chmod" '
     + _TAIL.format(n=439),
     ("1740535410.397:1727851", 1740535410, "cri-containerd.apparmor.d (enforce)", 3315793, "chmod",
      "/bin/chmod", "faccessat2")),
    ("<5>Dec 21 15:35:06 n1 kernel: [..][   T55] audit: type=1326 audit(1734766506.001:6623940):"
     " auid=4294967295 uid=0 gid=0 ses=4294967295 subj=unconfined pid=698900"
     ' comm="unshare" exe="/usr/bin/unshare" ' + _TAIL.format(n=272),
     ("1734766506.001:6623940", 1734766506, "unconfined", 698900, "unshare", "/usr/bin/unshare", "unshare")),
    ("type=SECCOMP msg=audit(1740535411.001:1727860): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=?"
     ' pid=3315800 comm="ls" exe="/bin/ls" ' + _TAIL.format(n=439),
     ("1740535411.001:1727860", 1740535411, "?", 3315800, "ls", "/bin/ls", "faccessat2")),
    ("type=SECCOMP msg=audit(1740535412.001:1727870): auid=4294967295 uid=0 gid=0 ses=4294967295"
     ' pid=3315801 comm="chmod" exe="/bin/chmod" ' + _TAIL.format(n=268),
     ("1740535412.001:1727870", 1740535412, "", 3315801, "chmod", "/bin/chmod", "fchmodat")),
]


@pytest.mark.parametrize(("line", "expected"), SECCOMP_VECTORS)
def test_upstream_seccomp_records_parse_to_the_expected_fields(
    line: str, expected: tuple[str, int, str, int, str, str, str],
) -> None:
    record = parse_seccomp_record(line)
    assert record is not None
    got = (record.audit_id, record.epoch, record.subj, record.pid, record.comm, record.exe, record.name)
    assert got == expected
    assert record.arch == "x86_64"


@pytest.mark.parametrize("line", [
    'type=SECCOMP msg=audit(1740535412.001:1): pid=1 comm="x" exe="/x" arch=c000003e',  # no syscall
    'type=SECCOMP msg=audit(1740535412.001:1): comm="x" arch=c000003e syscall=1',  # no pid
    'type=SECCOMP msg=(1740535412.001:1): pid=1 arch=c000003e syscall=1',  # no audit id
    'type=SECCOMP msg=audit(1740535412.001:1): pid=x1 arch=c000003e syscall=1',
])
def test_seccomp_records_without_mandatory_fields_are_rejected(line: str) -> None:
    assert parse_seccomp_record(line) is None


# --- upstream Test_ParseProfileName (11 cases, reconstructed) -------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("varmor-demo-demo-4//null-/bin/ping", "varmor-demo-demo-4"),
    ("varmor-demo-demo-4", "varmor-demo-demo-4"),
    ("varmor-demo-demo-1", "varmor-demo-demo-1"),
    ("varmor-demo-demo-1//null-/usr/bin/bash", "varmor-demo-demo-1"),
    ("cri-containerd.apparmor.d", "cri-containerd.apparmor.d"),
    ("unconfined", "unconfined"),
    ("varmor-cluster-varmor-demo-4//null-/bin/sleep (complain)", "varmor-cluster-varmor-demo-4"),
    ("varmor-cluster-varmor-demo-4 (complain)", "varmor-cluster-varmor-demo-4"),
    ("cri-containerd.apparmor.d (enforce)", "cri-containerd.apparmor.d"),
    ("?", ""),
    ("", ""),
])
def test_profile_names_are_cut_at_the_first_slash_then_space(value: str, expected: str) -> None:
    assert parse_profile_name(value) == expected


# --- §4.9 rules, one record kind at a time --------------------------------------------------


def test_exec_records_become_exec_events_with_provenance() -> None:
    line = allowed('operation="exec" name="/usr/bin/id" requested_mask="x" denied_mask="x" fsuid=0 ouid=0',
                   prefix=KERN)
    assert run([line]) == [{"v": 1, "kind": "exec", "target": P, "path": "/usr/bin/id",
                            "pid": 42, "comm": "sh", "ts": 1734766503.316}]


def test_capable_records_become_capability_events_named_by_capname() -> None:
    line = allowed('operation="capable" class="cap" capability=21  capname="sys_admin"')
    assert [without_provenance(e) for e in run([line])] == [
        {"v": 1, "kind": "capability", "target": P, "name": "sys_admin"}]


@pytest.mark.parametrize("operation", ["create", "connect"])
def test_net_records_become_socket_events_with_protocol_names(operation: str) -> None:
    line = allowed(f'operation="{operation}" family="inet6" sock_type="dgram" protocol=17 '
                   'requested_mask="create" denied_mask="create"')
    assert [without_provenance(e) for e in run([line])] == [
        {"v": 1, "kind": "socket", "target": P, "domain": "inet6", "type": "dgram", "protocol": "udp"}]


def test_ptrace_peers_are_cut_at_null_and_marked_internal() -> None:
    line = allowed(f'operation="ptrace" requested_mask="read" denied_mask="read" peer="{P}//null-/bin/ps"')
    assert [without_provenance(e) for e in run([line])] == [
        {"v": 1, "kind": "ptrace", "target": P, "peer": P, "permissions": ["read"], "external": False}]


def test_signal_records_carry_permissions_and_signal_names() -> None:
    line = allowed('operation="signal" requested_mask="receive" denied_mask="receive" signal=kill '
                   'peer="unconfined"')
    assert [without_provenance(e) for e in run([line])] == [
        {"v": 1, "kind": "signal", "target": P, "peer": "unconfined", "permissions": ["receive"],
         "signals": ["kill"], "external": True}]


def test_mount_and_umount_records_become_mount_events() -> None:
    mount = allowed('operation="mount" info="failed flags match" error=-13 name="/mnt/" fstype="tmpfs" '
                    'srcname="tmpfs" flags="rw, nosuid"')
    umount = allowed('operation="umount" name="/proc/"')
    assert [without_provenance(e) for e in run([mount, umount])] == [
        {"v": 1, "kind": "mount", "target": P, "path": "/mnt/", "fstype": "tmpfs", "flags": ["rw", "nosuid"]},
        {"v": 1, "kind": "umount", "target": P, "path": "/proc/", "fstype": "", "flags": []},
    ]


def test_other_operations_become_one_line_unhandled_text() -> None:
    line = allowed('operation="change_hat" name="hat" info="unconfined can not change_hat"')
    [event] = run([line])
    assert event["kind"] == "unhandled"
    assert event.get("text") == ("AaMode - ALLOWED, Operation - change_hat, Profile - " + P
                                 + ", Name - hat, Info - unconfined can not change_hat")


def test_null_profiles_are_attributed_to_their_parent_profile() -> None:
    line = allowed('operation="open" name="/etc/passwd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
                   profile=f"{P}//null-/usr/bin/id")
    assert [e["target"] for e in run([line])] == [P]


def test_records_of_other_profiles_and_prefix_lookalikes_are_ignored() -> None:
    fields = 'operation="open" name="/etc/hosts" requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
    lines = [allowed(fields, profile="cri-containerd.apparmor.d"), allowed(fields, profile=P + "0")]
    counts = AuditCounts()
    assert [e["kind"] for e in events_from_audit_lines(lines, P, counts=counts)] == ["stats"]
    assert counts.ignored == 2


def test_denied_and_audit_records_are_ignored() -> None:
    fields = 'operation="open" name="/etc/hosts" requested_mask="r" denied_mask="r"'
    lines = [allowed(fields).replace("ALLOWED", mode) for mode in ("DENIED", "AUDIT", "STATUS")]
    assert run(lines) == []


def test_disconnected_path_records_are_dropped() -> None:
    line = allowed('operation="getattr" info="Failed name lookup - disconnected path" error=-13 '
                   'name="dev/pts/0" requested_mask="r" denied_mask="r" fsuid=0 ouid=0')
    assert run([line]) == []


def test_hex_encoded_names_are_decoded_to_the_real_path() -> None:
    line = allowed("operation=\"open\" name=2F746D702F6D7920636F7079 comm=6D7920636F6D6D "
                   'requested_mask="r" denied_mask="r" fsuid=0 ouid=0')
    [event] = run([line])
    assert event.get("path") == "/tmp/my copy"


def test_hex_names_that_are_not_utf8_keep_their_bytes_as_surrogates() -> None:
    record = parse_apparmor_record(allowed('operation="open" name=2F746D702FFF denied_mask="r"'))
    assert record is not None
    assert record.name.encode("utf-8", "surrogateescape") == b"/tmp/\xff"


@pytest.mark.parametrize(("mask", "access", "owner"), [
    ("rw::", ["read", "write"], True),
    ("::r", ["read"], False),
    ("cd", ["create", "delete"], True),
    ("rwx", ["read", "write"], True),
    ("alk", ["append", "link", "lock"], True),
])
def test_mask_letters_become_access_classes(mask: str, access: list[str], owner: bool) -> None:
    line = allowed(f'operation="open" name="/f" requested_mask="{mask}" denied_mask="{mask}" fsuid=0 ouid=0')
    [event] = run([line])
    assert (event.get("access"), event.get("owner")) == (access, owner)


def test_create_and_delete_need_the_write_permission() -> None:
    assert {ev.ACCESS_PERMISSIONS[a] for a in ("create", "delete")} == {"w"}


def test_owner_is_false_when_ouid_differs_from_fsuid_or_is_missing() -> None:
    other = allowed('operation="open" name="/a" denied_mask="r" fsuid=1000 ouid=0')
    missing = allowed('operation="open" name="/b" denied_mask="r"')
    assert [e.get("owner") for e in run([other, missing])] == [False, False]


@pytest.mark.parametrize("line", [
    allowed('operation="open" name="/f" denied_mask="rw::r" fsuid=0 ouid=0'),  # both halves
    allowed('operation="open" name="/f" denied_mask="rz" fsuid=0 ouid=0'),  # unknown letter
    allowed('operation="exec" denied_mask="x"'),  # exec without a name
    allowed('operation="signal" denied_mask="send" peer="unconfined"'),  # no signal
    allowed('operation="open" name="/etc/pa'),  # cut short
])
def test_records_breaking_a_rule_are_counted_as_malformed(line: str) -> None:
    counts = AuditCounts()
    assert [e["kind"] for e in events_from_audit_lines([line], P, counts=counts)] == ["stats"]
    assert counts.malformed == 1


def test_duplicate_records_yield_one_event() -> None:
    line = allowed('operation="open" name="/etc/shadow" denied_mask="r" fsuid=0 ouid=0')
    assert len(run([line, line.replace("pid=42", "pid=43")])) == 1


# --- seccomp attribution --------------------------------------------------------------------


def seccomp(subj: str, pid: int, number: int, arch: str = "c000003e") -> str:
    return (f"type=SECCOMP msg=audit(1764339700.103:304): auid=4294967295 uid=0 gid=0 ses=4294967295 "
            f'{subj}pid={pid} comm="x" exe="/x" sig=0 arch={arch} syscall={number} compat=0 code=0x7ffc0000')


def test_seccomp_records_join_one_syscalls_event_in_first_seen_order() -> None:
    subj = f"subj={P}//null-/usr/bin/unshare (complain) "
    lines = [seccomp(subj, 1, 272), seccomp(subj, 1, 59), seccomp(subj, 1, 272)]
    assert run(lines) == [{"v": 1, "kind": "syscalls", "target": P, "names": ["unshare", "execve"]}]


def test_seccomp_records_are_attributed_by_pid_when_subj_is_unknown() -> None:
    lines = [seccomp("subj=? ", 7, 1), seccomp("", 8, 2), seccomp("subj=unconfined ", 9, 3)]
    assert run(lines, pids={7, 8}) == [{"v": 1, "kind": "syscalls", "target": P, "names": ["write", "open"]}]


def test_an_empty_profile_name_attributes_seccomp_records_by_pid_only() -> None:
    lines = [seccomp("", 7, 1), seccomp("subj=? ", 8, 2)]
    assert run(lines, profile="", pids={8}) == [{"v": 1, "kind": "syscalls", "target": "", "names": ["open"]}]


def test_seccomp_numbers_resolve_with_the_records_own_arch() -> None:
    i386 = parse_seccomp_record(seccomp("", 7, 11, arch="40000003"))
    x86_64 = parse_seccomp_record(seccomp("", 7, 11))
    aarch64 = parse_seccomp_record(seccomp("", 7, 221, arch="c00000b7"))
    assert isinstance(i386, SeccompRecord) and (i386.arch, i386.name) == ("i386", "execve")
    assert x86_64 is not None and x86_64.name == "munmap"
    assert aarch64 is not None and aarch64.name == "execve"


def test_seccomp_records_of_unknown_arches_are_counted_unresolved() -> None:
    counts = AuditCounts()
    events = list(events_from_audit_lines([seccomp("", 7, 11, arch="deadbeef")], P, {7}, counts=counts))
    assert [e["kind"] for e in events] == ["stats"]
    assert counts.unresolved_syscalls == 1


def test_the_stream_ends_with_a_stats_event_naming_the_audit_source() -> None:
    events = list(events_from_audit_lines(["garbage"], P, target="container-1"))
    assert events == [{"v": 1, "kind": "stats", "target": "container-1", "lost_events": 0, "map_full": 0,
                       "paths_truncated": 0, "sources": ["audit"],
                       "malformed": 0, "unresolved_syscalls": 0}]


# --- the user guide's scenario, as auditd writes it ---------------------------------------


def test_the_auditd_scenario_log_yields_what_its_records_say() -> None:
    from generator.aggregate import model_from_events
    from generator.models import Ptrace, Signal, Socket

    lines = (DATA / "audit_auditd.log").read_text().splitlines()
    model = model_from_events(P, events_from_audit_lines(lines, P, (4102, 4103)))
    a = model.apparmor
    assert a.executions == ("/usr/bin/id",)
    assert [(f.path, "".join(f.permissions)) for f in a.files] == [
        ("/etc/passwd", "r"), ("/etc/nsswitch.conf", "r"), ("/root/c1", "w"), ("/dev/tty", "rw")]
    assert a.sockets == (Socket("inet", "stream", "tcp"),)
    assert a.ptraces == (Ptrace(P, ("read",), False),)
    assert a.signals == (Signal("unconfined", ("receive",), ("term",)),)
    assert len(a.unhandled) == 1 and "change_onexec" in a.unhandled[0]
    # id's setgroups, getconf's i386 execve (number 11 of the i386 table), true's exit_group;
    # kubelet (another subject) is not ours and the record of an unknown arch is counted
    assert model.syscalls == ("setgroups", "execve", "exit_group")
    assert model.total_coverage().invalid_events == 1
