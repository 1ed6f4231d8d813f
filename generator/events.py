"""Event schema v1: the JSON lines the tracer emits and the audit-log parser produces.

Both sources of behaviour speak this one schema, so the aggregator
(``generator.aggregate``) has a single input format. Every event is one JSON object
on one line with ``"v": 1`` and a ``kind``. Python never sees per-syscall events:
files, execs, capabilities and the rest arrive deduplicated (first occurrence per
target), syscalls arrive as one set per target, and ``stats`` carries loss counters.

Common fields (all kinds):
    v        schema version, always 1
    kind     one of EventKind
    target   who did it: a container id, a local-mode name, or an AppArmor profile
    origin   "container" for the target's own process tree, "exec" for a process that
             joined later (``kubectl exec``); absent when unknown (audit logs)
    pid, comm, ts   optional provenance (ts: seconds since the epoch, float)
    node, pod, namespace, container   optional provenance added by the agent
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

SCHEMA_VERSION = 1

EventKind = Literal[
    "exec", "file", "capability", "socket", "connect", "bind", "ptrace", "signal",
    "mount", "umount", "syscalls", "stats", "unhandled",
]
Origin = Literal["container", "exec"]

# File access classes and the AppArmor permission letter each one needs.
FileAccess = Literal["read", "write", "append", "create", "delete", "rename", "mmap", "link", "lock"]
ACCESS_PERMISSIONS: dict[str, str] = {
    "read": "r",
    "write": "w",
    "append": "a",
    "create": "w",
    "delete": "w",
    "rename": "w",
    "mmap": "m",
    "link": "l",
    "lock": "k",
}


class EventBase(TypedDict):
    v: int
    kind: EventKind
    target: str
    origin: NotRequired[Origin]
    pid: NotRequired[int]
    comm: NotRequired[str]
    ts: NotRequired[float]
    node: NotRequired[str]
    pod: NotRequired[str]
    namespace: NotRequired[str]
    container: NotRequired[str]


class ExecEvent(EventBase):
    path: str  # resolved path of the executed binary


class FileEvent(EventBase):
    path: str  # full resolved path (may hold non-UTF-8 bytes escaped as surrogates)
    access: list[FileAccess]
    owner: bool  # the file's owner uid equals the process fsuid
    truncated: NotRequired[bool]  # the kernel could not resolve the whole path (or name)
    directory: NotRequired[bool]  # a directory: ``path`` ends with "/" as AppArmor names it


class CapabilityEvent(EventBase):
    name: str  # AppArmor capability name, e.g. "sys_admin"


class SocketEvent(EventBase):
    domain: str  # "inet", "inet6", "unix", "netlink", ... (AppArmor names)
    type: str  # "stream", "dgram", "raw", "seqpacket", ... or ""
    protocol: str  # "tcp", "udp", "icmp", a number as text, or ""


class AddressEvent(EventBase):  # kinds "connect" and "bind"
    domain: str
    address: str
    port: int


class PtraceEvent(EventBase):
    peer: str
    permissions: list[str]  # "trace", "read", "tracedby", "readby"
    external: bool  # the peer is outside the target


class SignalEvent(EventBase):
    peer: str
    permissions: list[str]  # "send", "receive"
    signals: list[str]  # AppArmor signal names, e.g. "kill", "term", "usr1"
    external: bool


class MountEvent(EventBase):  # kinds "mount" and "umount"
    path: str
    fstype: str
    flags: list[str]


class SyscallsEvent(EventBase):
    names: list[str]  # resolved syscall names, in first-seen order where known
    arch: NotRequired[str]  # the syscall ABI when not the node's own, e.g. "i386" (int $0x80)


class StatsEvent(EventBase):
    """Loss counters of one target since it was added; later events replace earlier ones.
    Each loss is counted for the target it happened to, so the sum over targets holds."""

    lost_events: int  # ring/perf buffer drops
    map_full: int  # dedup or bitmap map insertions that failed
    paths_truncated: int
    sources: list[str]  # e.g. ["ebpf"], ["audit:/var/log/kern.log"]
    malformed: NotRequired[int]  # source records that could not be parsed (audit lines)
    unresolved_syscalls: NotRequired[int]  # syscall numbers unknown for their architecture
    walk_failed: NotRequired[int]  # path walks cut short (tail call refused by the kernel)


class UnhandledEvent(EventBase):
    text: str


Event = (
    ExecEvent | FileEvent | CapabilityEvent | SocketEvent | AddressEvent | PtraceEvent
    | SignalEvent | MountEvent | SyscallsEvent | StatsEvent | UnhandledEvent
)
