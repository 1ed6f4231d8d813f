"""Audit-log source: AppArmor and seccomp audit lines → schema v1 events (upstream spec §4.5, §4.9).

The agent tails ``kern.log``/``syslog`` or auditd's ``audit.log`` and hands the lines here. AppArmor
complain-mode records (``apparmor="ALLOWED"``, ``type=1400`` or ``type=AVC``) become exec, file,
capability, socket, ptrace, signal, mount/umount or unhandled events; seccomp ``SECCOMP_RET_LOG``
records (``type=1326`` or ``type=SECCOMP``) become one ``syscalls`` event, each number named with the
table of the record's own ``arch=``. A final ``stats`` event closes the stream. Pure: no IO, no
libapparmor; malformed lines are counted, never raised. The aggregator globs paths afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from generator import events as ev
from generator.syscalls import NATIVE_ARCH, arch_from_audit, syscall_name

AaMode = Literal["INVALID", "ERROR", "AUDIT", "ALLOWED", "DENIED", "HINT", "STATUS"]
OpType = Literal["file", "net", "unknown"]

UNSET_ID = 2**64 - 1
NULL_MARK = "//null-"
DISCONNECTED = "Failed name lookup - disconnected path"
_TOKEN = re.compile(r"""([A-Za-z_][\w-]*)=("[^"]*"|'[^']*'|\S*)""")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
_AUDIT_ID = re.compile(r"audit\((\d+)(?:\.(\d+))?:(\d+)\)")
_SUBJ = re.compile(r"\bsubj==?(.*?) pid=")
# Fields the kernel logs with audit_log_untrustedstring: quoted, or hex when unsafe.
_HEX_FIELDS = frozenset({"name", "name2", "profile", "peer", "comm", "target", "srcname", "exe"})
_MODES: dict[str, AaMode] = {"ALLOWED": "ALLOWED", "DENIED": "DENIED", "AUDIT": "AUDIT",
                             "HINT": "HINT", "STATUS": "STATUS", "ERROR": "ERROR"}
_FILE_OPS = frozenset({
    "create", "post_create", "bind", "connect", "listen", "accept", "sendmsg", "recvmsg",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "socket_create", "sock_shutdown",
    "open", "truncate", "mkdir", "mknod", "chmod", "chown", "rename_src", "rename_dest", "unlink",
    "rmdir", "symlink", "symlink_create", "link", "sysctl", "getattr", "setattr", "xattr",
})
_ACCESS: dict[str, ev.FileAccess] = {
    "r": "read", "w": "write", "a": "append", "c": "create", "d": "delete",
    "m": "mmap", "l": "link", "k": "lock",
}
# libapparmor names protocol numbers after IPPROTO_* (netinet/in.h), lower-cased.
_PROTOCOLS = {"0": "ip", "1": "icmp", "2": "igmp", "4": "ipip", "6": "tcp", "17": "udp", "33": "dccp",
              "41": "ipv6", "47": "gre", "58": "icmpv6", "132": "sctp", "136": "udplite", "255": "raw"}


@dataclass(frozen=True)
class AppArmorRecord:
    """The libapparmor ``parse_record`` fields §4.9 uses; absent strings are ""."""

    mode: AaMode
    operation: str
    profile: str
    name: str
    name2: str
    denied_mask: str
    requested_mask: str
    fsuid: int | None  # None when ouid is unset (upstream: both 2^64-1)
    ouid: int | None
    family: str
    sock_type: str
    protocol: str
    peer: str
    signal: str
    info: str
    error_code: int
    pid: int | None
    comm: str
    ts: float | None
    fstype: str = ""
    flags: str = ""


@dataclass(frozen=True)
class SeccompRecord:
    """A ``SECCOMP_RET_LOG`` record (§4.5); ``name`` is resolved with ``arch``'s table."""

    audit_id: str
    epoch: int
    subj: str
    pid: int
    comm: str
    exe: str
    syscall: int
    arch: str  # our arch name; the native one when the record has no arch=
    name: str | None
    ts: float


@dataclass(slots=True)
class AuditCounts:
    """What one pass over the lines saw; filled in by ``events_from_audit_lines``."""

    lines: int = 0
    apparmor: int = 0  # AppArmor records of the target profile
    seccomp: int = 0  # seccomp records attributed to the target
    ignored: int = 0  # other profiles, non-ALLOWED modes, unrelated lines
    malformed: int = 0  # AppArmor/seccomp lines that did not parse or broke a rule
    unresolved_syscalls: int = 0  # syscall numbers unknown for their arch


def normalize_apparmor_line(line: str) -> str:
    """kern.log/syslog ``... type=1400 audit(...)`` → auditd ``type=AVC msg=audit(...)`` (§4.5)."""
    line = line.rstrip("\r\n")
    at = line.find("type=1400 audit")
    if at < 0:
        return line
    return "type=AVC msg=audit" + line[at + len("type=1400 audit"):]


def parse_profile_name(value: str) -> str:
    """The profile a record belongs to: up to the first ``/``, then the first space; ``?`` → ""."""
    if value in ("", "?"):
        return ""
    return value.split("/", 1)[0].split(" ", 1)[0]


def scan_fields(text: str) -> dict[str, str]:
    """``key=value`` pairs (first occurrence wins), unquoted, hex strings decoded."""
    fields: dict[str, str] = {}
    for key, raw in _TOKEN.findall(text):
        if raw[:1] == "'" and raw[-1:] == "'" and len(raw) > 1:
            for inner_key, inner in scan_fields(raw[1:-1]).items():
                fields.setdefault(inner_key, inner)
            continue
        fields.setdefault(key, _decode(key, raw))
    return fields


def _decode(key: str, raw: str) -> str:
    if len(raw) > 1 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1]
    if key in _HEX_FIELDS and _HEX.fullmatch(raw):
        return bytes.fromhex(raw).decode("utf-8", "surrogateescape")
    return raw


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _timestamp(line: str) -> tuple[str, int, float] | None:
    match = _AUDIT_ID.search(line)
    if match is None:
        return None
    seconds, fraction, serial = match.groups()
    ts = float(f"{seconds}.{fraction}") if fraction else float(seconds)
    audit_id = f"{seconds}.{fraction}:{serial}" if fraction else f"{seconds}:{serial}"
    return audit_id, int(seconds), ts


def parse_apparmor_record(line: str) -> AppArmorRecord | None:
    """Parse one AppArmor audit line (either form) like libapparmor; None when it is not one."""
    line = normalize_apparmor_line(line)
    f = scan_fields(line)
    if "apparmor" not in f or "operation" not in f or line.count('"') % 2:  # odd: cut short
        return None
    stamp = _timestamp(line)
    ouid = _int(f.get("ouid"))
    fsuid = _int(f.get("fsuid")) if ouid is not None and ouid != UNSET_ID else None
    error_code = abs(_int(f.get("error")) or 0)
    info = f.get("info", "")
    mode = _MODES.get(f["apparmor"], "INVALID")
    if error_code == 13 and info == DISCONNECTED:
        mode = "ERROR"
    protocol = f.get("protocol", "")
    return AppArmorRecord(
        mode=mode, operation=f["operation"], profile=f.get("profile", ""),
        name=f.get("capname") or f.get("name", ""), name2=f.get("name2") or f.get("target", ""),
        denied_mask=f.get("denied_mask", f.get("denied", "")),
        requested_mask=f.get("requested_mask", f.get("requested", "")),
        fsuid=fsuid, ouid=ouid if fsuid is not None else None,
        family=f.get("family", ""), sock_type=f.get("sock_type", ""),
        protocol=_PROTOCOLS.get(protocol, protocol), peer=f.get("peer", ""),
        signal=f.get("signal", ""), info=info, error_code=error_code, pid=_int(f.get("pid")),
        comm=f.get("comm", ""), ts=stamp[2] if stamp else None,
        fstype=f.get("fstype", ""), flags=f.get("flags", ""),
    )


def parse_seccomp_record(line: str) -> SeccompRecord | None:
    """Parse one seccomp audit line (§4.5); None when auditID, pid or syscall is missing or bad."""
    stamp = _timestamp(line)
    if stamp is None:
        return None
    subj_match = _SUBJ.search(line)
    subj = subj_match.group(1).strip('"') if subj_match else ""
    if subj_match:
        line = line[: subj_match.start()] + line[subj_match.end() - len("pid=") :]
    f = scan_fields(line)
    pid, number = _int(f.get("pid")), _int(f.get("syscall"))
    if pid is None or number is None:
        return None
    arch = arch_from_audit(f["arch"]) if "arch" in f else NATIVE_ARCH
    return SeccompRecord(
        audit_id=stamp[0], epoch=stamp[1], subj=subj, pid=pid, comm=f.get("comm", ""),
        exe=f.get("exe", ""), syscall=number, arch=arch or f.get("arch", ""),
        name=syscall_name(arch, number) if arch else None, ts=stamp[2],
    )


class _Malformed(ValueError):
    """A record that breaks one of §4.9's rules (missing name, peer, mask; bad mask letters)."""


def events_from_audit_lines(
    lines: Iterable[str], profile: str, pids: Collection[int] = (), *,
    target: str | None = None, counts: AuditCounts | None = None,
) -> Iterator[ev.Event]:
    """Events of ``profile`` (and of seccomp records of ``pids``), deduplicated, then syscalls, stats.

    ``target`` names the events (default: the profile). Pass ``counts`` to read the tallies.
    """
    counts = counts if counts is not None else AuditCounts()
    name = target or profile
    syscalls: dict[str, None] = {}
    seen: set[str] = set()
    for line in lines:
        counts.lines += 1
        if "type=1400" in line or "type=AVC" in line:
            for event in _apparmor_events(line, profile, name, counts):
                key = _identity(event)
                if key not in seen:
                    seen.add(key)
                    yield event
        elif "type=1326" in line or "type=SECCOMP" in line:
            _add_syscall(line, profile, pids, syscalls, counts)
        else:
            counts.ignored += 1
    if syscalls:
        yield ev.SyscallsEvent(v=ev.SCHEMA_VERSION, kind="syscalls", target=name, names=list(syscalls))
    yield ev.StatsEvent(v=ev.SCHEMA_VERSION, kind="stats", target=name, lost_events=0, map_full=0,
                        paths_truncated=0, sources=["audit"], malformed=counts.malformed,
                        unresolved_syscalls=counts.unresolved_syscalls)


def _identity(event: ev.Event) -> str:
    return repr(sorted((k, v) for k, v in event.items() if k not in ("pid", "comm", "ts")))


def _add_syscall(line: str, profile: str, pids: Collection[int], syscalls: dict[str, None],
                 counts: AuditCounts) -> None:
    record = parse_seccomp_record(line)
    if record is None:
        counts.malformed += 1
    elif not (profile and parse_profile_name(record.subj) == profile) and record.pid not in pids:
        counts.ignored += 1
    elif record.name is None:
        counts.seccomp += 1
        counts.unresolved_syscalls += 1
    else:
        counts.seccomp += 1
        syscalls.setdefault(record.name, None)


def _apparmor_events(line: str, profile: str, target: str, counts: AuditCounts) -> list[ev.Event]:
    record = parse_apparmor_record(line)
    if record is None:
        if "apparmor=" in line:
            counts.malformed += 1
        else:
            counts.ignored += 1  # an SELinux AVC, say
        return []
    if record.mode != "ALLOWED" or not _belongs(record.profile, profile):
        counts.ignored += 1
        return []
    counts.apparmor += 1
    try:
        events = _record_events(record, profile, target)
    except _Malformed:
        counts.malformed += 1
        return []
    for event in events:
        if record.pid is not None:
            event["pid"] = record.pid
        if record.comm:
            event["comm"] = record.comm
        if record.ts is not None:
            event["ts"] = record.ts
    return events


def _belongs(record_profile: str, profile: str) -> bool:
    return bool(profile) and (record_profile == profile or record_profile.startswith(profile + "//"))


def _cut_null(name: str) -> str:
    return name.split(NULL_MARK, 1)[0]


def _record_events(record: AppArmorRecord, profile: str, target: str) -> list[ev.Event]:
    """Rules 4–11 of §4.9 for one ALLOWED record of the profile."""
    op, v = record.operation, ev.SCHEMA_VERSION
    if op == "exec":
        return [ev.ExecEvent(v=v, kind="exec", target=target, path=_required(record.name))]
    if op == "capable":
        return [ev.CapabilityEvent(v=v, kind="capability", target=target, name=_required(record.name))]
    if op == "ptrace":
        peer = _cut_null(_required(record.peer))
        return [ev.PtraceEvent(v=v, kind="ptrace", target=target, peer=peer,
                               permissions=_words(record.denied_mask), external=peer != profile)]
    if op == "signal":
        peer = _cut_null(_required(record.peer))
        return [ev.SignalEvent(v=v, kind="signal", target=target, peer=peer,
                               permissions=_words(record.denied_mask),
                               signals=[_required(record.signal)], external=peer != profile)]
    if op in ("mount", "remount", "umount"):
        return [ev.MountEvent(v=v, kind="umount" if op == "umount" else "mount", target=target,
                              path=_required(record.name), fstype=record.fstype,
                              flags=[f for f in re.split(r"[,\s]+", record.flags) if f])]
    kind = _op_type(record)
    if kind == "net":
        return [ev.SocketEvent(v=v, kind="socket", target=target, domain=record.family,
                               type=record.sock_type, protocol=record.protocol)]
    if kind == "file":
        return _file_events(record, target)
    return [ev.UnhandledEvent(v=v, kind="unhandled", target=target, text=_describe(record))]


def _required(value: str) -> str:
    if not value:
        raise _Malformed("a required field is empty")
    return value


def _words(mask: str) -> list[str]:
    return _required(mask).replace(",", " ").split()


def _op_type(record: AppArmorRecord) -> OpType:
    op = record.operation
    if not (op in _FILE_OPS or op.startswith(("file_", "inode_"))):
        return "unknown"
    if record.family and record.sock_type and record.protocol:
        return "net"
    return "file" if record.denied_mask else "unknown"


def _file_events(record: AppArmorRecord, target: str) -> list[ev.Event]:
    """Rule 6: mask letters → access classes; owner from ``owner::other`` or ouid == fsuid."""
    mask, owner = record.denied_mask, record.ouid is not None and record.ouid == record.fsuid
    if "::" in mask:
        left, right = mask.split("::", 1)
        if left and right:
            raise _Malformed("both owner and other masks are set")
        mask, owner = left or right, bool(left)
    access: list[ev.FileAccess] = []
    for letter in mask:
        if letter == "x":
            continue
        if letter not in _ACCESS:
            raise _Malformed(f"unknown file permission {letter!r}")
        if _ACCESS[letter] not in access:
            access.append(_ACCESS[letter])
    if not access:
        return []
    return [ev.FileEvent(v=ev.SCHEMA_VERSION, kind="file", target=target,
                         path=_required(record.name), access=access, owner=owner)]


def _describe(record: AppArmorRecord) -> str:
    """Rule 11's one-line text: every non-empty field, ``Key - value`` joined by ", "."""
    fields = [
        ("AaMode", record.mode), ("Operation", record.operation), ("Profile", record.profile),
        ("Name", record.name), ("Name2", record.name2), ("DeniedMask", record.denied_mask),
        ("RequestedMask", record.requested_mask), ("Family", record.family),
        ("SockType", record.sock_type), ("Protocol", record.protocol), ("Peer", record.peer),
        ("Signal", record.signal), ("Info", record.info), ("FsType", record.fstype),
        ("Flags", record.flags),
    ]
    return ", ".join(f"{key} - {value}" for key, value in fields if value).replace("\n", " ")
