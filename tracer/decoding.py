"""Kernel records → schema v1 events (``generator.events``): pure tables and functions.

The BPF program sends compact numeric records (event type, access bits, capability and
socket numbers, raw sockaddr bytes); this module names them the way AppArmor rules do, so the
aggregator never sees kernel numbers. No BCC here: ``tracer.tracing`` hands each ring-buffer
record over as bytes; :func:`unpack` reads the fixed header of ``struct event`` (tracer.c) and
the used part of its path, which keeps this module testable and cheap to import.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, NamedTuple

from generator.capabilities import CAPABILITY_NAMES
from generator.events import SCHEMA_VERSION

(EV_EXEC, EV_FILE, EV_CAP, EV_SOCKET, EV_CONNECT, EV_BIND, EV_PTRACE, EV_SIGNAL, EV_MOUNT,
 EV_UMOUNT) = range(1, 11)
ACCESS_BITS: tuple[tuple[int, str], ...] = (
    (1, "read"), (2, "write"), (4, "append"), (8, "create"), (16, "mmap"), (32, "link"), (64, "lock"),
    (128, "delete"), (256, "rename"),
)
A_DIR = 512  # the file is a directory: its path gets AppArmor's trailing "/"
A_NAME = 1024  # link, delete, rename, mkdir, mknod, symlink: the name as given, joined to its directory
DOMAINS = {1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet", 4: "ipx", 5: "appletalk",
           9: "x25", 15: "key", 29: "can", 30: "tipc", 31: "bluetooth", 38: "alg", 40: "vsock"}
SOCK_TYPES = {1: "stream", 2: "dgram", 3: "raw", 4: "rdm", 5: "seqpacket", 10: "packet"}
PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}
SIGNALS = ("", "hup", "int", "quit", "ill", "trap", "abrt", "bus", "fpe", "kill", "usr1", "segv",
           "usr2", "pipe", "alrm", "term", "stkflt", "chld", "cont", "stop", "tstp", "ttin", "ttou",
           "urg", "xcpu", "xfsz", "vtalrm", "prof", "winch", "io", "pwr", "sys")
MOUNT_FLAGS = ((1, "ro"), (2, "nosuid"), (4, "nodev"), (8, "noexec"), (16, "sync"), (32, "remount"),
               (1024, "noatime"), (2048, "nodiratime"), (4096, "bind"), (8192, "move"),
               (16384, "rec"), (1 << 17, "unbindable"), (1 << 18, "private"), (1 << 19, "slave"),
               (1 << 20, "shared"), (1 << 21, "relatime"), (1 << 24, "strictatime"))
UMOUNT_FLAGS = ((1, "force"), (2, "detach"), (4, "expire"), (8, "nofollow"))
PTRACE_READ_REQUESTS = frozenset({1, 2, 3, 0x4202, 0x4204, 0x420E})  # PEEK*, GETEVENTMSG, GETSIGINFO, ...


# struct event in tracer.c: type, pid, id, origin, a0..a3, len, trunc, slot, compact, comm, s2, s1, path;
# a compact record (no strings but the path) stops after comm, the path follows
HEADER = struct.Struct("<4I4q4I16s64s256s")
COMPACT = struct.Struct("<4I4q4I16s")
PATH_MASK = 4095


class Raw(NamedTuple):
    """One kernel record, copied out of the ring buffer (a tuple: cheap to build per record)."""

    type: int
    pid: int
    target: str
    origin: bool  # True: the container's own process tree
    a0: int
    a1: int
    a2: int
    a3: int
    comm: str
    s1: bytes  # exec: filename; link/delete/rename: raw name; connect/bind: sockaddr; mount: source
    s2: str
    path: str  # resolved path (or the raw target of mount/umount)
    truncated: bool


def target_id(record: bytes) -> int:
    """The target id of a record (before it is unpacked)."""
    return int.from_bytes(record[8:12], "little")


def unpack(record: bytes, target: str) -> Raw:
    """The :class:`Raw` of one record of target ``target``."""
    kind, pid, _id, origin, a0, a1, a2, a3, length, trunc, _slot, compact, comm = COMPACT.unpack_from(record)
    if compact:
        return Raw(type=kind, pid=pid, target=target, origin=bool(origin), a0=a0, a1=a1, a2=a2, a3=a3,
                   comm=comm.split(b"\0", 1)[0].decode(errors="replace"), s1=b"", s2="",
                   path=record[COMPACT.size:COMPACT.size + (length & PATH_MASK)].split(b"\0", 1)[0].decode(
                       errors="surrogateescape"), truncated=bool(trunc))
    s2, s1 = HEADER.unpack_from(record)[-2:]
    path = record[HEADER.size:HEADER.size + (length & PATH_MASK)].split(b"\0", 1)[0] if length else b""
    # connect/bind: the first 128 bytes of a sockaddr; the others: a string
    s1 = s1[:128] if kind in (EV_CONNECT, EV_BIND) else s1.split(b"\0", 1)[0]
    return Raw(type=kind, pid=pid, target=target, origin=bool(origin), a0=a0, a1=a1, a2=a2, a3=a3,
               comm=comm.split(b"\0", 1)[0].decode(errors="replace"), s1=s1,
               s2=s2.split(b"\0", 1)[0].decode(errors="replace"),
               path=path.decode(errors="surrogateescape"), truncated=bool(trunc))


def base(raw: Raw, kind: str) -> dict[str, Any]:
    return {"v": SCHEMA_VERSION, "kind": kind, "target": raw.target,
            "origin": "container" if raw.origin else "exec", "pid": raw.pid, "comm": raw.comm}


def access_names(bits: int) -> list[str]:
    return [name for bit, name in ACCESS_BITS if bits & bit]


def flag_names(value: int, table: tuple[tuple[int, str], ...]) -> list[str]:
    return [name for bit, name in table if value & bit]


def signal_name(sig: int) -> str:
    if 0 < sig < len(SIGNALS):
        return SIGNALS[sig]
    return f"rtmin+{sig - 34}" if 34 <= sig <= 64 else str(sig)


def decode_sockaddr(data: bytes, length: int) -> tuple[str, str, int] | None:
    """(domain, address, port) of a raw sockaddr, or None for families we do not name."""
    if len(data) < 2:
        return None
    family = struct.unpack_from("<H", data)[0]
    if family == 2 and len(data) >= 8:
        return "inet", str(ipaddress.IPv4Address(data[4:8])), struct.unpack_from(">H", data, 2)[0]
    if family == 10 and len(data) >= 24:
        return "inet6", str(ipaddress.IPv6Address(data[8:24])), struct.unpack_from(">H", data, 2)[0]
    if family == 1:
        name = data[2:max(2, min(length, len(data)))]
        if name[:1] == b"\0":
            return "unix", "@" + name[1:].split(b"\0")[0].decode(errors="surrogateescape"), 0
        return "unix", name.split(b"\0")[0].decode(errors="surrogateescape"), 0
    return None


def name_path(raw: Raw) -> str:
    """The name given to link/unlink/rmdir/rename(2), made absolute with the directory the
    kernel resolved (the dirfd's or the working directory)."""
    name = raw.s1.split(b"\0")[0].decode(errors="surrogateescape")
    return name if name.startswith("/") else os.path.normpath(os.path.join(raw.path or "/", name))


def directory_path(path: str) -> str:
    """AppArmor's name of a directory: its path with a trailing ``/``."""
    return path if path.endswith("/") else path + "/"


def file_path(raw: Raw) -> str:
    """The path a file record names (a name as given is joined to its directory)."""
    path = name_path(raw) if raw.a0 & A_NAME else raw.path
    return directory_path(path) if raw.a0 & A_DIR else path


def file_key(raw: Raw) -> tuple[bool, str, int, int, bool]:
    """What a file record's event says (but its pid and comm): equal keys, equal events."""
    return raw.origin, file_path(raw), raw.a0 & ~A_NAME, raw.a1, raw.truncated


def _file_event(raw: Raw) -> dict[str, Any]:
    event = {**base(raw, "file"), "path": file_path(raw), "access": access_names(raw.a0),
             "owner": bool(raw.a1)}
    if raw.a0 & A_DIR:
        event["directory"] = True
    return {**event, "truncated": True} if raw.truncated else event


def file_line(raw: Raw) -> str:
    """The JSON line of a file record's event (``to_event``, compact separators), written
    directly: files are the most frequent record and the tracer shares the node's CPUs."""
    access = _ACCESS_JSON.get(raw.a0)
    if access is None:
        access = _ACCESS_JSON[raw.a0] = "[" + ",".join(f'"{n}"' for n in access_names(raw.a0)) + "]"
    origin = "container" if raw.origin else "exec"
    line = (f'{{"v":{SCHEMA_VERSION},"kind":"file","target":{_quote(raw.target)},"origin":"{origin}",'
            f'"pid":{raw.pid},"comm":{_quote(raw.comm)},"path":{_quote(file_path(raw))},"access":{access},'
            f'"owner":{"true" if raw.a1 else "false"}')
    if raw.a0 & A_DIR:
        line += ',"directory":true'
    return line + (',"truncated":true}' if raw.truncated else "}")


_ACCESS_JSON: dict[int, str] = {}


def to_event(raw: Raw, peer_in_target: bool = False) -> dict[str, Any] | None:
    """The schema v1 event for one kernel record (None when it carries nothing to model)."""
    if raw.type == EV_EXEC:
        return {**base(raw, "exec"), "path": raw.path}
    if raw.type == EV_FILE:
        return _file_event(raw)
    if raw.type == EV_CAP:
        name = CAPABILITY_NAMES[raw.a0] if raw.a0 < len(CAPABILITY_NAMES) else str(raw.a0)
        return {**base(raw, "capability"), "name": name}
    if raw.type == EV_SOCKET:
        return {**base(raw, "socket"), "domain": DOMAINS.get(raw.a0, str(raw.a0)),
                "type": SOCK_TYPES.get(raw.a1 & 0xF, str(raw.a1 & 0xF)),
                "protocol": PROTOCOLS.get(raw.a2, str(raw.a2)) if raw.a2 else ""}
    if raw.type in (EV_CONNECT, EV_BIND):
        decoded = decode_sockaddr(raw.s1, raw.a0)
        if decoded is None:
            return None
        kind = "connect" if raw.type == EV_CONNECT else "bind"
        return {**base(raw, kind), "domain": decoded[0], "address": decoded[1], "port": decoded[2]}
    return _peer_or_mount_event(raw, peer_in_target)


def _peer_or_mount_event(raw: Raw, peer_in_target: bool) -> dict[str, Any] | None:
    peer = raw.target if peer_in_target else "unconfined"
    if raw.type == EV_PTRACE:
        permissions = ["tracedby"] if raw.a0 == 0 else ["read" if raw.a0 in PTRACE_READ_REQUESTS else "trace"]
        return {**base(raw, "ptrace"), "peer": peer, "permissions": permissions,
                "external": not peer_in_target}
    if raw.type == EV_SIGNAL:
        return {**base(raw, "signal"), "peer": peer, "permissions": ["send"],
                "signals": [signal_name(raw.a0)], "external": not peer_in_target}
    if raw.type == EV_MOUNT:
        return {**base(raw, "mount"), "path": raw.path, "fstype": raw.s2,
                "flags": flag_names(raw.a0, MOUNT_FLAGS)}
    if raw.type == EV_UMOUNT:
        return {**base(raw, "umount"), "path": raw.path, "fstype": "",
                "flags": flag_names(raw.a0, UMOUNT_FLAGS)}
    return None
