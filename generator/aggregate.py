"""Aggregation: schema-v1 events (tracer or audit log) → one ``BehaviorModel``, incrementally.

An ``Aggregator`` takes events one by one: it validates every event, escapes and generalizes
recorded paths (``generator.globbing``), and drops what cannot be expressed safely (a path
that would break the profile, a syscall name outside the target architecture's table, a call
of another ABI such as ia32 ``int $0x80``, recorded as ``i386:<name>``),
counting it in the model's coverage rather than emitting it. Events of unknown kinds or
versions are counted, never fatal. ``snapshot()`` is a JSON-ready dict of the whole state and
``Aggregator.restore`` continues from it, so a recorder that saves snapshots (the file IO is
``agent.snapshots``) loses nothing on restart: any split of a stream into snapshot/restore
segments gives the model of one pass. ``model_from_events`` is the one-shot form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.capabilities import CAPABILITIES
from generator.codec import from_data, to_data
from generator.events import ACCESS_PERMISSIONS, SCHEMA_VERSION
from generator.globbing import DEFAULT_OVERLAY_PREFIXES, generalize
from generator.models import BehaviorModel, Coverage, DroppedRule, Socket
from generator.patterns import check_pattern, escape_literal
from generator.syscalls import NATIVE_ARCH, syscall_number
from generator.union import Union

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Options:
    node: str = ""  # the node (or local host) these events come from, for coverage
    overlay_prefixes: Sequence[str] = DEFAULT_OVERLAY_PREFIXES
    classify: bool = True
    arch: str = NATIVE_ARCH  # the architecture whose syscall table names the seccomp profile


Event = Mapping[str, Any]


class Aggregator:
    """Events in one by one, a model out at any time; snapshot and restore in between."""

    def __init__(self, name: str, options: Options = Options()) -> None:
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

    def model(self) -> BehaviorModel:
        """The model of every event so far (the aggregator stays usable)."""
        coverage = Coverage(node=self.options.node, invalid_events=self.invalid,
                            sources=("events",) if not self.stats else ())
        for stats in self.stats.values():
            coverage = _add_stats(coverage, stats)
        union = Union()
        union.add_model(self.union.build())
        union.add_coverage(coverage)
        return union.build()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON-ready data (see ``restore``)."""
        return {
            "version": SNAPSHOT_VERSION,
            "options": {"node": self.options.node, "overlayPrefixes": list(self.options.overlay_prefixes),
                        "classify": self.options.classify, "arch": self.options.arch},
            "union": to_data(self.union.build()),
            "stats": {target: dict(stats) for target, stats in self.stats.items()},
            "invalid": self.invalid,
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> Aggregator:
        """An aggregator that continues where ``snapshot`` left off; ValueError when unusable."""
        try:
            if snapshot.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"unknown snapshot version {snapshot.get('version')!r}")
            opts = snapshot["options"]
            options = Options(node=str(opts["node"]), overlay_prefixes=tuple(opts["overlayPrefixes"]),
                              classify=bool(opts["classify"]), arch=str(opts["arch"]))
            aggregator = cls("", options)
            aggregator.union.add_model(from_data(snapshot["union"]))
            aggregator.stats = {str(t): dict(s) for t, s in snapshot["stats"].items()}
            aggregator.invalid = int(snapshot["invalid"])
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not an aggregator snapshot: {error!r}") from error
        return aggregator


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


def _exec(agg: Aggregator, event: Event) -> None:
    path = agg.pattern("exec", str(event["path"]), "ix")
    if path is not None:
        agg.union.executions[path] = None
        agg.origin(event, "exec", path)


def _file(agg: Aggregator, event: Event) -> None:
    raw = str(event["path"])
    if event.get("truncated"):
        agg.drop("file", raw, "path truncated by the kernel")
        return
    letters = "".join(dict.fromkeys(ACCESS_PERMISSIONS[a] for a in event["access"]))
    path = agg.pattern("file", raw, letters)
    if path is not None and letters:
        agg.union.add_file(path, letters, bool(event.get("owner", False)), raw if raw != path else "")
        agg.origin(event, "file", path)


def _capability(agg: Aggregator, event: Event) -> None:
    name = str(event["name"]).lower().removeprefix("cap_")
    if name not in CAPABILITIES:
        agg.drop("capability", name, "unknown capability")
        return
    agg.union.capabilities[name] = None
    agg.origin(event, "capability", name)


def _socket(agg: Aggregator, event: Event) -> None:
    socket = Socket(str(event["domain"]), str(event.get("type", "")), str(event.get("protocol", "")))
    for known in agg.union.sockets:  # upstream's dedup: same domain and same non-empty type
        if known.domain == socket.domain and socket.type and known.type == socket.type:
            return
    agg.union.sockets[socket] = None


def _address(agg: Aggregator, event: Event) -> None:
    agg.union.add_egress(str(event["address"]), [int(event["port"])])


def _ptrace(agg: Aggregator, event: Event) -> None:
    peer = str(event["peer"]).split("//null-")[0]
    agg.union.add_ptrace(peer, [str(p) for p in event["permissions"]], bool(event.get("external")))


def _signal(agg: Aggregator, event: Event) -> None:
    peer = str(event["peer"]).split("//null-")[0]
    agg.union.add_signal(peer, [str(p) for p in event["permissions"]], [str(s) for s in event["signals"]])


def _mount(agg: Aggregator, event: Event) -> None:
    flags = [str(f) for f in event.get("flags", [])]
    if event["kind"] == "umount":
        flags.append("umount")
    agg.union.add_mount(str(event["path"]), str(event.get("fstype", "")), flags)


def _syscalls(agg: Aggregator, event: Event) -> None:
    arch = str(event.get("arch") or agg.options.arch)
    for raw in event["names"]:
        name = str(raw)
        if arch != agg.options.arch:  # e.g. int $0x80 from an x86_64 task: never the native call
            reason = f"an {arch} call; the seccomp profile is {agg.options.arch}"
            agg.drop("syscall", f"{arch}:{name}", reason)
            continue
        if syscall_number(agg.options.arch, name) is None:
            agg.drop("syscall", name, f"not a syscall of {agg.options.arch}")
            continue
        agg.union.syscalls[name] = None
        agg.origin(event, "syscall", name)


def _stats(agg: Aggregator, event: Event) -> None:
    agg.stats[str(event.get("target", ""))] = event  # counters are cumulative per target


def _unhandled(agg: Aggregator, event: Event) -> None:
    agg.union.unhandled[str(event["text"])] = None


_HANDLERS: dict[str, Callable[[Aggregator, Event], None]] = {
    "exec": _exec, "file": _file, "capability": _capability, "socket": _socket,
    "connect": _address, "bind": _address, "ptrace": _ptrace, "signal": _signal,
    "mount": _mount, "umount": _mount, "syscalls": _syscalls, "stats": _stats,
    "unhandled": _unhandled,
}


def model_from_events(name: str, events: Iterable[Event], options: Options = Options()) -> BehaviorModel:
    """The model of everything ``events`` recorded, for the profile ``name``."""
    aggregator = Aggregator(name, options)
    for event in events:
        aggregator.add(event)
    return aggregator.model()
