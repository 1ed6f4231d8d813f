"""Aggregation: schema-v1 events (tracer or audit log) → one ``BehaviorModel``.

``model_from_events`` validates every event, escapes and generalizes recorded paths
(``generator.globbing``), and drops what cannot be expressed safely, counting it in the
model's coverage rather than emitting it. Events of unknown kinds or versions are counted,
never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.capabilities import CAPABILITIES
from generator.events import ACCESS_PERMISSIONS, SCHEMA_VERSION
from generator.globbing import DEFAULT_OVERLAY_PREFIXES, generalize
from generator.models import BehaviorModel, Coverage, DroppedRule, Socket
from generator.patterns import check_pattern, escape_literal
from generator.union import Union


@dataclass(frozen=True)
class Options:
    node: str = ""  # the node (or local host) these events come from, for coverage
    overlay_prefixes: Sequence[str] = DEFAULT_OVERLAY_PREFIXES
    classify: bool = True


Event = Mapping[str, Any]


class _Aggregation:
    def __init__(self, name: str, options: Options) -> None:
        self.union = Union()
        self.options = options
        self.stats: dict[str, Event] = {}
        self.invalid = 0
        if name:
            self.union.profiles[name] = None

    def drop(self, kind: str, value: str, reason: str) -> None:
        self.union.add_dropped(self.options.node, DroppedRule(kind, value, reason))

    def pattern(self, kind: str, raw: str, permissions: str) -> str | None:
        pattern = generalize(escape_literal(raw), permissions, self.options.overlay_prefixes,
                             self.options.classify)
        reason = check_pattern(pattern)
        if reason is not None:
            self.drop(kind, raw, reason)
            return None
        return pattern

    def add(self, event: Event) -> None:
        handler = _HANDLERS.get(str(event.get("kind")))
        if event.get("v") != SCHEMA_VERSION or handler is None:
            self.invalid += 1
            return
        try:
            handler(self, event)
        except (KeyError, TypeError, ValueError):
            self.invalid += 1
            return
        self._provenance(event)

    def _provenance(self, event: Event) -> None:
        ts = float(event.get("ts", 0.0))
        key = tuple(str(event.get(k, "")) for k in ("node", "namespace", "pod", "container", "target"))
        if any(key):
            self.union.add_provenance(key, ts, ts)  # type: ignore[arg-type]

    def origin(self, event: Event, category: str, value: str) -> None:
        self.union.note_origin((category, value), event.get("origin") == "exec")

    def build(self) -> BehaviorModel:
        coverage = Coverage(node=self.options.node, invalid_events=self.invalid,
                            sources=("events",) if not self.stats else ())
        for stats in self.stats.values():
            coverage = _add_stats(coverage, stats)
        self.union.add_coverage(coverage)
        return self.union.build()


def _add_stats(coverage: Coverage, stats: Event) -> Coverage:
    return Coverage(
        node=coverage.node,
        lost_events=coverage.lost_events + int(stats.get("lost_events", 0)),
        map_full=coverage.map_full + int(stats.get("map_full", 0)),
        paths_truncated=coverage.paths_truncated + int(stats.get("paths_truncated", 0)),
        invalid_events=coverage.invalid_events + int(stats.get("malformed", 0))
        + int(stats.get("unresolved_syscalls", 0)),
        dropped=coverage.dropped,
        sources=tuple(dict.fromkeys(coverage.sources + tuple(stats.get("sources", ())))),
    )


def _exec(agg: _Aggregation, event: Event) -> None:
    path = agg.pattern("exec", str(event["path"]), "ix")
    if path is not None:
        agg.union.executions[path] = None
        agg.origin(event, "exec", path)


def _file(agg: _Aggregation, event: Event) -> None:
    raw = str(event["path"])
    if event.get("truncated"):
        agg.drop("file", raw, "path truncated by the kernel")
        return
    letters = "".join(dict.fromkeys(ACCESS_PERMISSIONS[a] for a in event["access"]))
    path = agg.pattern("file", raw, letters)
    if path is not None and letters:
        agg.union.add_file(path, letters, bool(event.get("owner", False)), raw if raw != path else "")
        agg.origin(event, "file", path)


def _capability(agg: _Aggregation, event: Event) -> None:
    name = str(event["name"]).lower().removeprefix("cap_")
    if name not in CAPABILITIES:
        agg.drop("capability", name, "unknown capability")
        return
    agg.union.capabilities[name] = None
    agg.origin(event, "capability", name)


def _socket(agg: _Aggregation, event: Event) -> None:
    socket = Socket(str(event["domain"]), str(event.get("type", "")), str(event.get("protocol", "")))
    for known in agg.union.sockets:  # upstream's dedup: same domain and same non-empty type
        if known.domain == socket.domain and socket.type and known.type == socket.type:
            return
    agg.union.sockets[socket] = None


def _address(agg: _Aggregation, event: Event) -> None:
    agg.union.add_egress(str(event["address"]), [int(event["port"])])


def _ptrace(agg: _Aggregation, event: Event) -> None:
    peer = str(event["peer"]).split("//null-")[0]
    agg.union.add_ptrace(peer, [str(p) for p in event["permissions"]], bool(event.get("external")))


def _signal(agg: _Aggregation, event: Event) -> None:
    peer = str(event["peer"]).split("//null-")[0]
    agg.union.add_signal(peer, [str(p) for p in event["permissions"]], [str(s) for s in event["signals"]])


def _mount(agg: _Aggregation, event: Event) -> None:
    flags = [str(f) for f in event.get("flags", [])]
    if event["kind"] == "umount":
        flags.append("umount")
    agg.union.add_mount(str(event["path"]), str(event.get("fstype", "")), flags)


def _syscalls(agg: _Aggregation, event: Event) -> None:
    for name in event["names"]:
        agg.union.syscalls[str(name)] = None
        agg.origin(event, "syscall", str(name))


def _stats(agg: _Aggregation, event: Event) -> None:
    agg.stats[str(event.get("target", ""))] = event  # counters are cumulative per target


def _unhandled(agg: _Aggregation, event: Event) -> None:
    agg.union.unhandled[str(event["text"])] = None


_HANDLERS: dict[str, Callable[[_Aggregation, Event], None]] = {
    "exec": _exec, "file": _file, "capability": _capability, "socket": _socket,
    "connect": _address, "bind": _address, "ptrace": _ptrace, "signal": _signal,
    "mount": _mount, "umount": _mount, "syscalls": _syscalls, "stats": _stats,
    "unhandled": _unhandled,
}


def model_from_events(name: str, events: Iterable[Event], options: Options = Options()) -> BehaviorModel:
    """The model of everything ``events`` recorded, for the profile ``name``."""
    aggregation = _Aggregation(name, options)
    for event in events:
        aggregation.add(event)
    return aggregation.build()
