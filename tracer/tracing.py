"""The running tracer: targets in BPF maps, ring records → JSON lines, syscall bitmaps, losses.

``Tracer`` owns a loaded ``bcc.BPF`` (see ``tracer.program``). Targets are added and removed
while it runs; each gets a never-reused id (so stale first-occurrence entries cannot hide a new
target's events) and one of 1,024 slots (syscall bitmaps and loss counters). Ring-buffer records
are decoded by ``tracer.decoding`` and written as schema v1 JSON lines, buffered and flushed once
per poll; exec, connect/bind/name/mount records, which the kernel does not deduplicate, are
deduplicated here. A `#!` script's exec record names the interpreter (the exe) and the script
(the file name given): both become exec events. Syscall sets and a target's loss counters are
read on ``flush()``; the session's counters by ``session_stats()``.
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
from tracer import decoding
from tracer.program import ARCH, COMPAT_ARCH
from tracer.syscalls import SyscallNames, kernel_syscalls

MAXT = 1024
NR_WORDS = 8
NCOLS = 4  # bitmaps per slot: origin (exec, container) x ABI (native, compat)
CFG_MNT, CFG_TREE = 1, 2
# the kernel's loss counters, in the order of tracer.c's C_* enum, as stats fields
COUNTERS = ("map_full", "paths_truncated", "unresolved_syscalls", "walk_failed", "lost_events")
# records the kernel does not deduplicate (file records, names of link, delete, rename, mkdir, ...
# included, are deduplicated on decoding.file_key)
USER_DEDUP = frozenset({decoding.EV_CONNECT, decoding.EV_BIND, decoding.EV_MOUNT, decoding.EV_UMOUNT,
                        decoding.EV_EXEC})
MAX_LINKS = 40
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
    root_fd: int = -1  # the root directory of its first process, to resolve script names
    unresolved: int = 0  # syscall numbers without a name in their ABI's table
    seen: set[tuple[Any, ...]] = field(default_factory=set)
    seen_files: set[tuple[bool, str, int, int, bool]] = field(default_factory=set)


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


def resolve(root: str, path: str) -> str | None:
    """``path`` with every symlink followed, inside the directory tree ``root`` (a process's
    ``/proc/PID/root``); None when it cannot be resolved."""
    todo, done, hops = [p for p in path.split("/") if p], list[str](), 0
    while todo:
        part = todo.pop(0)
        if part in (".", ""):
            continue
        if part == "..":
            done[-1:] = []
            continue
        try:
            link = os.readlink(os.path.join(root, *done, part))
        except OSError as exc:
            if exc.errno != 22:  # EINVAL: not a symlink
                return None
            done.append(part)
            continue
        hops += 1
        if hops > MAX_LINKS:
            return None
        done = [] if link.startswith("/") else done
        todo = [p for p in link.split("/") if p] + todo
    return "/" + "/".join(done)


def script_path(name: str, exe: str, roots: list[str]) -> str | None:
    """The script a ``#!`` exec ran (None for a plain binary): the absolute file name given to
    execve, resolved in the first of ``roots`` that exists, when it is not the exe (the
    interpreter)."""
    if not name or os.path.basename(name) == os.path.basename(exe):
        return None
    root = next((r for r in roots if os.path.isdir(r)), None)
    found = resolve(root, os.path.normpath(name)) if root else None
    return None if found in (None, exe) else found


def open_root(pids: list[int]) -> int:
    """A descriptor of the root directory of the first of ``pids`` still alive (-1: none)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            return os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY)
    return -1


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

    def __init__(self, bpf: Any, out: TextIO, log: Callable[[str], None] = lambda _m: None,
                 syscall_names: SyscallNames | None = None) -> None:
        self.bpf, self.out, self.log = bpf, out, log
        self.targets: dict[str, Target] = {}
        self.names: dict[int, Target] = {}
        self.next_id = 1
        self.free_slots = list(range(MAXT - 1, -1, -1))
        self.syscall_names = syscall_names or SyscallNames(kernel_syscalls())
        self.exes: dict[int, str] = {}  # pid -> exe, until its working-directory record comes
        self.generation = 0
        self.lock = threading.Lock()
        bpf.open_ring_buffer("events", self._on_record)

    # ----- targets -----
    def add(self, name: str, cgroup: str = "", pid: int = 0, mntns_pid: int = 0) -> Target:
        if name in self.targets:
            raise TargetError(f"target {name} exists")
        if not (cgroup or mntns_pid or pid):
            raise TargetError(f"target {name} needs a cgroup, pid or mntns")
        if not self.free_slots:
            raise TargetError(f"no free slot for target {name} (max {MAXT})")
        target = Target(name, self.next_id, self.free_slots[-1])
        self._clear_slot(target.slot)
        value = _Tgt(target.id, target.slot)
        seeds: list[int] = []
        if cgroup:
            self._add_cgroup(target, cgroup, value)
            seeds += cgroup_members(target.cgroup)
        if mntns_pid:
            try:
                target.mntns, target.anchor = os.stat(f"/proc/{mntns_pid}/ns/mnt").st_ino, mntns_pid
            except OSError as exc:
                raise TargetError(f"no process {mntns_pid}") from exc
            self.bpf["mnt_targets"][ct.c_uint32(target.mntns)] = value
            self.bpf["mnt_anchor"][ct.c_uint32(mntns_pid)] = ct.c_uint32(target.mntns)
            seeds.append(mntns_pid)
        if pid:
            if not os.path.exists(f"/proc/{pid}"):
                raise TargetError(f"no process {pid}")
            target.pid = pid
            self.bpf["pid_targets"][ct.c_uint32(target.id)] = value
            seeds += descendants(pid)
        self.free_slots.pop()
        self.next_id += 1
        target.root_fd = open_root(seeds)
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
        if any(t.cgroup_id == target.cgroup_id for t in self.targets.values()):
            raise TargetError(f"cgroup {path} is traced already")
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
        self.free_slots.append(target.slot)
        if target.root_fd >= 0:
            os.close(target.root_fd)
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
        for word in range(NCOLS * NR_WORDS):
            table[ct.c_int(slot * NCOLS * NR_WORDS + word)] = ct.c_uint64(0)
        counters = self.bpf["tcounters"]
        for index in range(len(COUNTERS)):
            counters[ct.c_int(slot * len(COUNTERS) + index)] = ct.c_uint64(0)

    # ----- output -----
    def write(self, event: dict[str, Any]) -> None:
        """Queue one JSON line; ``poll()`` and ``flush_output()`` flush."""
        with self.lock:
            self.out.write(ENCODE(event) + "\n")

    def flush_output(self) -> None:
        with self.lock:
            self.out.flush()

    def syscall_numbers(self, target: Target, origin: int, compat: int) -> list[int]:
        """Syscall numbers seen from ``origin`` (1: the container's own tree, 0: joined later)
        with the native (``compat`` 0) or the compat ABI (1: ia32 on x86_64)."""
        table, numbers = self.bpf["sysbits"], []
        first = ((target.slot * 2 + origin) * 2 + compat) * NR_WORDS
        for word in range(NR_WORDS):
            bits = int(table[ct.c_int(first + word)].value)
            numbers += [word * 64 + bit for bit in range(64) if bits >> bit & 1]
        return numbers

    def syscalls_events(self, target: Target) -> list[dict[str, Any]]:
        """One ``syscalls`` event per origin and ABI that has any (always the container's native
        one); numbers without a name in their ABI's table are counted, not named."""
        found = []
        target.unresolved = 0
        for compat, arch in ((0, ARCH), (1, COMPAT_ARCH[ARCH])):
            for origin, label in ((1, "container"), (0, "exec")):
                numbers = self.syscall_numbers(target, origin, compat)
                names = [n for n in (self.syscall_names.name(arch, number) for number in numbers) if n]
                target.unresolved += len(numbers) - len(names)
                if names or (origin and not compat):
                    event = {"v": SCHEMA_VERSION, "kind": "syscalls", "target": target.name,
                             "origin": label, "names": names}
                    found.append({**event, "arch": arch} if compat else event)
        return found

    def counters(self, slot: int | None = None) -> dict[str, int]:
        """The kernel's loss counters: the session's, or one target slot's."""
        if slot is None:
            table = self.bpf["counters"]
            return {name: int(table[ct.c_int(i)].value) for i, name in enumerate(COUNTERS)}
        table = self.bpf["tcounters"]
        base = slot * len(COUNTERS)
        return {name: int(table[ct.c_int(base + i)].value) for i, name in enumerate(COUNTERS)}

    def stats(self, target: Target) -> dict[str, Any]:
        """The target's own loss counters (each loss counted once, for the target it hit)."""
        found = self.counters(target.slot)
        found["unresolved_syscalls"] += target.unresolved
        return {"v": SCHEMA_VERSION, "kind": "stats", "target": target.name, **found, "sources": ["ebpf"]}

    def session_stats(self) -> dict[str, int]:
        """The session's loss counters (every target, and losses outside any target)."""
        return self.counters()

    def emit_final(self, target: Target) -> None:
        """The target's syscall sets so far and its loss counters."""
        self.bpf.ring_buffer_consume()
        for event in self.syscalls_events(target):
            self.write(event)
        self.write(self.stats(target))

    def flush(self) -> None:
        for target in list(self.targets.values()):
            self.emit_final(target)

    def wakeup_fd(self) -> int:
        """A file descriptor readable when the ring buffer wakes its reader (-1: none)."""
        return int(self.bpf.ring_epoll_fd())

    def drain(self) -> int:
        """Decode every record there is, then flush; the number of records."""
        records = int(self.bpf.ring_buffer_consume())
        if records:
            self.flush_output()
        return records

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
        if raw.type == decoding.EV_FILE:  # the most frequent record: deduplicated before it is an event
            key = decoding.file_key(raw)
            if key not in target.seen_files:
                target.seen_files.add(key)
                with self.lock:
                    self.out.write(decoding.file_line(raw) + "\n")
            return
        event = decoding.to_event(raw, self._peer_in_target(target, raw))
        if event is None:
            return
        if raw.type == decoding.EV_EXEC:
            self._exec(target, raw, event)
            return
        self._write_first(target, raw, event)

    def _exec(self, target: Target, raw: decoding.Raw, event: dict[str, Any]) -> None:
        """An exec record (a2 0: the exe, with the name given) or, for a relative name, the
        working directory to join it to (a2 1, right after the exe record of the same pid)."""
        name = raw.s1.decode(errors="surrogateescape")
        roots = [f"/proc/{raw.pid}/root", f"/proc/self/fd/{target.root_fd}" if target.root_fd >= 0 else "/"]
        if raw.a2 == 1:
            exe = self.exes.pop(raw.pid, "")
            script = script_path(os.path.join(raw.path, name), exe, roots) if exe else None
            if script is not None:
                self._write_first(target, raw, {**event, "path": script})
            return
        if name.startswith("/"):
            script = script_path(name, raw.path, roots)
            if script is not None:
                self._write_first(target, raw, {**event, "path": script})
        else:
            if len(self.exes) > 4096:  # working-directory records lost: forget their exes
                self.exes.clear()
            self.exes[raw.pid] = raw.path
        self._write_first(target, raw, event)

    def _write_first(self, target: Target, raw: decoding.Raw, event: dict[str, Any]) -> None:
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
