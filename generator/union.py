"""The union accumulator behind both aggregation (events → model) and merge (models → model).

Upstream §3.6 semantics: sets keep first-seen order and nothing is ever removed; files are
keyed by path with permissions united and ``owner`` AND-ed and the first non-empty
``oldPath`` kept; ptraces and signals are keyed by peer. Our additions merge so that
feeding the same report twice changes nothing: coverage is keyed by node (counters take the
maximum), provenance by container (first seen = min, last seen = max), and exec-only
records are those seen from exec sessions and never from a container's own processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.models import (
    AppArmorResult,
    BehaviorModel,
    Coverage,
    DroppedRule,
    Egress,
    ExecOnly,
    FileRule,
    Mount,
    Provenance,
    Ptrace,
    Signal,
    Socket,
)

OriginKey = tuple[str, str]  # (category, value), e.g. ("file", "/etc/shadow")


@dataclass
class _File:
    permissions: dict[str, None]
    owner: bool
    old_path: str


@dataclass
class Union:
    profiles: dict[str, None] = field(default_factory=dict)
    executions: dict[str, None] = field(default_factory=dict)
    files: dict[str, _File] = field(default_factory=dict)
    capabilities: dict[str, None] = field(default_factory=dict)
    sockets: dict[Socket, None] = field(default_factory=dict)
    egresses: dict[str, dict[int, None]] = field(default_factory=dict)
    ptraces: dict[str, tuple[dict[str, None], bool]] = field(default_factory=dict)
    signals: dict[str, tuple[dict[str, None], dict[str, None]]] = field(default_factory=dict)
    mounts: dict[tuple[str, str], dict[str, None]] = field(default_factory=dict)
    unhandled: dict[str, None] = field(default_factory=dict)
    syscalls: dict[str, None] = field(default_factory=dict)
    coverage: dict[str, Coverage] = field(default_factory=dict)
    provenance: dict[tuple[str, str, str, str, str], list[float]] = field(default_factory=dict)
    seen_in_container: set[OriginKey] = field(default_factory=set)
    seen_in_exec: set[OriginKey] = field(default_factory=set)

    def add_file(self, path: str, permissions: str | tuple[str, ...], owner: bool, old_path: str) -> None:
        entry = self.files.get(path)
        if entry is None:
            self.files[path] = _File(dict.fromkeys(permissions), owner, old_path)
            return
        entry.permissions.update(dict.fromkeys(permissions))
        entry.owner = entry.owner and owner
        if not entry.old_path:
            entry.old_path = old_path

    def add_ptrace(self, peer: str, permissions: tuple[str, ...] | list[str], external: bool) -> None:
        known, was_external = self.ptraces.get(peer, ({}, False))
        known.update(dict.fromkeys(permissions))
        self.ptraces[peer] = (known, was_external or external)

    def add_signal(self, peer: str, permissions: tuple[str, ...] | list[str],
                   signals: tuple[str, ...] | list[str]) -> None:
        known, names = self.signals.setdefault(peer, ({}, {}))
        known.update(dict.fromkeys(permissions))
        names.update(dict.fromkeys(signals))

    def add_egress(self, ip: str, ports: tuple[int, ...] | list[int]) -> None:
        self.egresses.setdefault(ip, {}).update(dict.fromkeys(ports))

    def add_mount(self, path: str, fstype: str, flags: tuple[str, ...] | list[str]) -> None:
        self.mounts.setdefault((path, fstype), {}).update(dict.fromkeys(flags))

    def add_coverage(self, entry: Coverage) -> None:
        old = self.coverage.get(entry.node)
        if old is None:
            self.coverage[entry.node] = entry
            return
        self.coverage[entry.node] = Coverage(
            node=entry.node,
            lost_events=max(old.lost_events, entry.lost_events),
            map_full=max(old.map_full, entry.map_full),
            paths_truncated=max(old.paths_truncated, entry.paths_truncated),
            invalid_events=max(old.invalid_events, entry.invalid_events),
            dropped=tuple(dict.fromkeys(old.dropped + entry.dropped)),
            sources=tuple(dict.fromkeys(old.sources + entry.sources)),
        )

    def add_dropped(self, node: str, rule: DroppedRule) -> None:
        self.add_coverage(Coverage(node=node, dropped=(rule,)))

    def add_provenance(self, key: tuple[str, str, str, str, str], first: float, last: float) -> None:
        seen = self.provenance.get(key)
        if seen is None:
            self.provenance[key] = [first, last]
        else:
            seen[0] = min(seen[0], first)
            seen[1] = max(seen[1], last)

    def note_origin(self, key: OriginKey, from_exec: bool) -> None:
        (self.seen_in_exec if from_exec else self.seen_in_container).add(key)

    def add_model(self, model: BehaviorModel) -> None:
        """Unite a whole model into this accumulator (see ``generator.merge``)."""
        _add_apparmor(self, model.apparmor)
        self.syscalls.update(dict.fromkeys(model.syscalls))
        for entry in model.coverage:
            self.add_coverage(entry)
        for p in model.provenance:
            self.add_provenance((p.node, p.namespace, p.pod, p.container, p.target),
                                p.first_seen, p.last_seen)
        exec_only = _origin_keys(model.exec_only)
        self.seen_in_exec.update(exec_only)
        self.seen_in_container.update(_all_origin_keys(model) - exec_only)

    def build(self) -> BehaviorModel:
        return BehaviorModel(
            apparmor=_build_apparmor(self),
            syscalls=tuple(self.syscalls),
            coverage=tuple(self.coverage[node] for node in sorted(self.coverage)),
            provenance=tuple(
                Provenance(*key, first_seen=seen[0], last_seen=seen[1])
                for key, seen in sorted(self.provenance.items())
            ),
            exec_only=_exec_only(self.seen_in_exec - self.seen_in_container),
        )


def _add_apparmor(union: Union, result: AppArmorResult) -> None:
    union.profiles.update(dict.fromkeys(result.profiles))
    union.executions.update(dict.fromkeys(result.executions))
    files = union.files  # the hot loop of a merge: inlined ``add_file``
    for f in result.files:
        entry = files.get(f.path)
        if entry is None:
            files[f.path] = _File(dict.fromkeys(f.permissions), f.owner, f.old_path)
            continue
        known = entry.permissions
        for letter in f.permissions:
            if letter not in known:
                known[letter] = None
        entry.owner = entry.owner and f.owner
        entry.old_path = entry.old_path or f.old_path
    union.capabilities.update(dict.fromkeys(result.capabilities))
    union.sockets.update(dict.fromkeys(result.sockets))
    for e in result.egresses:
        union.add_egress(e.ip, e.ports)
    for p in result.ptraces:
        union.add_ptrace(p.peer, p.permissions, p.external)
    for s in result.signals:
        union.add_signal(s.peer, s.permissions, s.signals)
    for m in result.mounts:
        union.add_mount(m.path, m.type, m.flags)
    union.unhandled.update(dict.fromkeys(result.unhandled))


def _build_apparmor(union: Union) -> AppArmorResult:
    return AppArmorResult(
        profiles=tuple(union.profiles),
        executions=tuple(union.executions),
        files=tuple(
            FileRule(path, tuple(f.permissions), f.owner, f.old_path) for path, f in union.files.items()
        ),
        capabilities=tuple(union.capabilities),
        sockets=tuple(union.sockets),
        egresses=tuple(Egress(ip, tuple(ports)) for ip, ports in union.egresses.items()),
        ptraces=tuple(Ptrace(peer, tuple(p), ext) for peer, (p, ext) in union.ptraces.items()),
        signals=tuple(Signal(peer, tuple(p), tuple(s)) for peer, (p, s) in union.signals.items()),
        mounts=tuple(Mount(path, fstype, tuple(flags)) for (path, fstype), flags in union.mounts.items()),
        unhandled=tuple(union.unhandled),
    )


def _origin_keys(exec_only: ExecOnly) -> set[OriginKey]:
    keys = {("exec", v) for v in exec_only.executions}
    keys |= {("file", v) for v in exec_only.files}
    keys |= {("capability", v) for v in exec_only.capabilities}
    keys |= {("syscall", v) for v in exec_only.syscalls}
    return keys


def _all_origin_keys(model: BehaviorModel) -> set[OriginKey]:
    return _origin_keys(ExecOnly(
        executions=model.apparmor.executions,
        files=tuple(f.path for f in model.apparmor.files),
        capabilities=model.apparmor.capabilities,
        syscalls=model.syscalls,
    ))


def _exec_only(keys: set[OriginKey]) -> ExecOnly:
    def values(category: str) -> tuple[str, ...]:
        return tuple(sorted(v for c, v in keys if c == category))

    return ExecOnly(values("exec"), values("file"), values("capability"), values("syscall"))
