"""The running tracer: targets in BPF maps, perf records → JSON lines, syscall bitmaps, losses.

``Tracer`` owns a loaded ``bcc.BPF`` (see ``tracer.program``). Targets are added and removed
while it runs; each gets a never-reused id (so stale first-occurrence entries cannot hide a new
target's events) and one of 64 syscall-bitmap slots. Ring-buffer records are decoded by
``tracer.decoding`` and written as schema v1 JSON lines, buffered and flushed once per poll;
connect/bind/link/mount records, which the kernel does not deduplicate, are deduplicated here.
Syscall sets and loss counters are read on ``flush()``.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from generator.events import SCHEMA_VERSION
from generator.syscalls import syscall_name
from tracer import decoding
from tracer.program import ARCH

MAXT = 64
NR_WORDS = 8
CFG_MNT, CFG_TREE = 1, 2
C_MAP_FULL, C_TRUNCATED, C_LOST = 0, 1, 4
# records the kernel does not deduplicate (file: the names of link, delete and rename)
USER_DEDUP = frozenset({decoding.EV_CONNECT, decoding.EV_BIND, decoding.EV_MOUNT, decoding.EV_UMOUNT,
                        decoding.EV_FILE})
V2_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per json.dumps


class TargetError(ValueError):
    """A target that cannot be added (unknown name, missing cgroup, no free slot)."""


@dataclass
class Target:
    name: str
    id: int
    slot: int
    cgroup: str = ""
    cgroup_id: int = 0
    mntns: int = 0
    anchor: int = 0
    pid: int = 0
    seen: set[tuple[Any, ...]] = field(default_factory=set)


class _Tgt(ct.Structure):
    _fields_ = [("id", ct.c_uint32), ("slot", ct.c_uint32)]


class _Cfg(ct.Structure):
    _fields_ = [("flags", ct.c_uint32), ("ugen", ct.c_uint32)]


def cgroup_members(path: str) -> list[int]:
    with open(os.path.join(path, "cgroup.procs")) as f:
        return [int(line) for line in f if line.strip()]


def descendants(pid: int) -> list[int]:
    """``pid`` and its live descendants, from /proc/PID/task/*/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def cgroup_of(pid: int) -> str:
    """The cgroup-v2 path of ``pid`` ("" when unknown)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return ""


class Tracer:
    """Targets, record decoding and output for one loaded BPF program."""

    def __init__(self, bpf: Any, out: TextIO, log: Callable[[str], None] = lambda _m: None) -> None:
        self.bpf, self.out, self.log = bpf, out, log
        self.targets: dict[str, Target] = {}
        self.names: dict[int, Target] = {}
        self.next_id = 1
        self.generation = 0
        self.lock = threading.Lock()
        bpf["events"].open_ring_buffer(self._on_record)

    # ----- targets -----
    def add(self, name: str, cgroup: str = "", pid: int = 0, mntns_pid: int = 0) -> Target:
        if name in self.targets:
            raise TargetError(f"target {name} exists")
        used = {t.slot for t in self.targets.values()}
        free = [s for s in range(MAXT) if s not in used]
        if not free:
            raise TargetError(f"no free slot for target {name} (max {MAXT})")
        target = Target(name, self.next_id, free[0])
        self.next_id += 1
        self._clear_slot(target.slot)
        value = _Tgt(target.id, target.slot)
        seeds: list[int] = []
        if cgroup:
            self._add_cgroup(target, cgroup, value)
            seeds += cgroup_members(target.cgroup)
        if mntns_pid:
            target.mntns, target.anchor = os.stat(f"/proc/{mntns_pid}/ns/mnt").st_ino, mntns_pid
            self.bpf["mnt_targets"][ct.c_uint32(target.mntns)] = value
            self.bpf["mnt_anchor"][ct.c_uint32(mntns_pid)] = ct.c_uint32(target.mntns)
            seeds.append(mntns_pid)
        if pid:
            target.pid = pid
            self.bpf["pid_targets"][ct.c_uint32(target.id)] = value
            seeds += descendants(pid)
        if not (cgroup or mntns_pid or pid):
            raise TargetError(f"target {name} needs a cgroup, pid or mntns")
        for seed in seeds:
            self.bpf["tree"][ct.c_uint32(seed)] = ct.c_uint32(target.id)
        self.targets[name], self.names[target.id] = target, target
        self._update_cfg()
        self.log(f"Added target {name} id={target.id} cgroup={target.cgroup or '-'} pid={pid or '-'}")
        return target

    def _add_cgroup(self, target: Target, cgroup: str, value: _Tgt) -> None:
        path = cgroup
        if not os.path.isabs(path):
            found = [os.path.join(r, path) for r in V2_ROOTS if os.path.isdir(os.path.join(r, path))]
            path = found[0] if found else path
        if not os.path.isfile(os.path.join(path, "cgroup.procs")):
            raise TargetError(f"no cgroup at {cgroup}")
        target.cgroup, target.cgroup_id = path, os.stat(path).st_ino
        self.bpf["cg_targets"][ct.c_uint64(target.cgroup_id)] = value

    def remove(self, name: str) -> None:
        target = self.targets.pop(name, None)
        if target is None:
            raise TargetError(f"no target {name}")
        self.emit_final(target)
        keys = (("cg_targets", ct.c_uint64(target.cgroup_id)), ("mnt_targets", ct.c_uint32(target.mntns)),
                ("mnt_anchor", ct.c_uint32(target.anchor)), ("pid_targets", ct.c_uint32(target.id)))
        for table, key in keys:
            with contextlib.suppress(KeyError):
                del self.bpf[table][key]
        self._update_cfg()
        self.log(f"Removed target {name}")

    def _update_cfg(self) -> None:
        """Write the attribution flags and a new generation: every cached classification ends."""
        flags = (CFG_MNT if any(t.mntns for t in self.targets.values()) else 0) | (
            CFG_TREE if any(t.pid for t in self.targets.values()) else 0)
        self.generation = (self.generation + 1) & 0xFFFFFFFF
        self.bpf["cfg"][ct.c_int(0)] = _Cfg(flags, self.generation)

    def _clear_slot(self, slot: int) -> None:
        table = self.bpf["sysbits"]
        zero = table.Leaf(*([0] * len(table.Leaf())))
        for word in range(2 * NR_WORDS):
            table[ct.c_int(slot * 2 * NR_WORDS + word)] = zero

    # ----- output -----
    def write(self, event: dict[str, Any]) -> None:
        """Queue one JSON line; ``poll()`` and ``flush_output()`` flush."""
        with self.lock:
            self.out.write(ENCODE(event) + "\n")

    def flush_output(self) -> None:
        with self.lock:
            self.out.flush()

    def syscall_names(self, target: Target, origin: int) -> list[str]:
        """Syscalls seen from ``origin`` (1: the container's own tree, 0: joined later)."""
        table, names = self.bpf["sysbits"], []
        for word in range(NR_WORDS):
            bits = 0
            for value in table[ct.c_int((target.slot * 2 + origin) * NR_WORDS + word)]:
                bits |= value
            for bit in range(64):
                if bits >> bit & 1:
                    number = word * 64 + bit
                    names.append(syscall_name(ARCH, number) or f"syscall_{number}")
        return names

    def stats(self, target: Target) -> dict[str, Any]:
        counters = self.bpf["counters"]
        return {"v": SCHEMA_VERSION, "kind": "stats", "target": target.name,
                "lost_events": counters[ct.c_int(C_LOST)].value,
                "map_full": counters[ct.c_int(C_MAP_FULL)].value,
                "paths_truncated": counters[ct.c_int(C_TRUNCATED)].value, "sources": ["ebpf"]}

    def emit_final(self, target: Target) -> None:
        """The target's syscall sets so far (one per origin that has any; at least the
        container's) and the loss counters."""
        self.bpf.ring_buffer_consume()
        for origin, label in ((1, "container"), (0, "exec")):
            names = self.syscall_names(target, origin)
            if names or origin:
                self.write({"v": SCHEMA_VERSION, "kind": "syscalls", "target": target.name,
                            "origin": label, "names": names})
        self.write(self.stats(target))

    def flush(self) -> None:
        for target in list(self.targets.values()):
            self.emit_final(target)

    def poll(self, timeout_ms: int) -> None:
        """Wait up to ``timeout_ms`` for a wake-up (most records send none), decode every
        record there is, then flush."""
        self.bpf.ring_buffer_poll(timeout=timeout_ms)
        self.bpf.ring_buffer_consume()
        self.flush_output()

    # ----- ring-buffer records -----
    def _on_record(self, _ctx: Any, data: Any, size: int) -> None:
        record = ct.string_at(data, size)
        target = self.names.get(decoding.target_id(record))
        if target is None:
            return
        raw = decoding.unpack(record, target.name)
        event = decoding.to_event(raw, self._peer_in_target(target, raw))
        if event is None:
            return
        if raw.type in USER_DEDUP:
            key = tuple(v if isinstance(v, (str, int)) else str(v)
                        for k, v in event.items() if k not in ("pid", "comm"))
            if key in target.seen:
                return
            target.seen.add(key)
        self.write(event)

    def _peer_in_target(self, target: Target, raw: decoding.Raw) -> bool:
        if raw.type not in (decoding.EV_PTRACE, decoding.EV_SIGNAL):
            return False
        if raw.a3:  # the kernel found the peer in the target's own process tree
            return True
        peer = raw.a1 or raw.pid
        if target.cgroup:
            return target.cgroup.endswith(cgroup_of(peer)) and cgroup_of(peer) != ""
        return peer in descendants(target.pid or target.anchor)
