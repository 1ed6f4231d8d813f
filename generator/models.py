"""The behaviour model: one frozen value that every stage of the generator passes along.

It mirrors the seed's ArmorProfileModel ``data`` (``dynamicResult.apparmor`` and
``dynamicResult.seccomp``) and adds what upstream lacks, in fields of their own:

- ``coverage``: per node (or source) what was lost — kernel events, full maps, truncated
  paths, rules dropped because they could not be expressed safely — and which sources fed it;
- ``provenance``: which node/namespace/pod/container produced data, first and last seen;
- ``exec_only``: records seen only from processes that joined a container later
  (``kubectl exec`` sessions), never from the container's own process tree.

Paths in ``files`` and ``executions`` are AppArmor patterns: ``*`` and ``**`` are globs,
literal special characters of a recorded path are backslash-escaped (see
``generator.patterns``). Serialization lives in ``generator.codec``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileRule:
    path: str
    permissions: tuple[str, ...]  # AppArmor letters from "mrwalk", first-seen order
    owner: bool = False
    old_path: str = ""  # the raw path before globbing, when it differs


@dataclass(frozen=True)
class Socket:
    domain: str
    type: str = ""
    protocol: str = ""


@dataclass(frozen=True)
class Egress:
    ip: str
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ptrace:
    peer: str
    permissions: tuple[str, ...] = ()
    external: bool = False


@dataclass(frozen=True)
class Signal:
    peer: str
    permissions: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mount:
    path: str
    type: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppArmorResult:
    profiles: tuple[str, ...] = ()
    executions: tuple[str, ...] = ()
    files: tuple[FileRule, ...] = ()
    capabilities: tuple[str, ...] = ()
    sockets: tuple[Socket, ...] = ()
    egresses: tuple[Egress, ...] = ()
    ptraces: tuple[Ptrace, ...] = ()
    signals: tuple[Signal, ...] = ()
    mounts: tuple[Mount, ...] = ()  # our addition (upstream puts mounts in unhandled, #307)
    unhandled: tuple[str, ...] = ()


@dataclass(frozen=True)
class DroppedRule:
    """A recorded item that could not be expressed safely, and why."""

    kind: str  # "file", "exec", "capability", ...
    value: str
    reason: str


@dataclass(frozen=True)
class Coverage:
    """Losses and sources of one node (or local run). Merged per node, never summed twice."""

    node: str = ""
    lost_events: int = 0
    map_full: int = 0
    paths_truncated: int = 0
    invalid_events: int = 0  # events off schema v1, unparsable audit records, unknown syscall numbers
    dropped: tuple[DroppedRule, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provenance:
    node: str = ""
    namespace: str = ""
    pod: str = ""
    container: str = ""
    target: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0


@dataclass(frozen=True)
class ExecOnly:
    """Records seen only from later-joined processes (exec sessions)."""

    executions: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # paths
    capabilities: tuple[str, ...] = ()
    syscalls: tuple[str, ...] = ()


@dataclass(frozen=True)
class BehaviorModel:
    apparmor: AppArmorResult = field(default_factory=AppArmorResult)
    syscalls: tuple[str, ...] = ()  # first-seen order
    coverage: tuple[Coverage, ...] = ()
    provenance: tuple[Provenance, ...] = ()
    exec_only: ExecOnly = field(default_factory=ExecOnly)

    def total_coverage(self) -> Coverage:
        """The sum over nodes, for summaries."""
        sources: dict[str, None] = {}
        for entry in self.coverage:
            sources.update(dict.fromkeys(entry.sources))
        return Coverage(
            node="",
            lost_events=sum(c.lost_events for c in self.coverage),
            map_full=sum(c.map_full for c in self.coverage),
            paths_truncated=sum(c.paths_truncated for c in self.coverage),
            invalid_events=sum(c.invalid_events for c in self.coverage),
            dropped=tuple(d for c in self.coverage for d in c.dropped),
            sources=tuple(sources),
        )
