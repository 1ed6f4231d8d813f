"""The compiled BPF program as plain data: maps to create, programs' bytecode and map relocations.

BCC compiles ``tracer/bpf/tracer.c`` with clang/LLVM, which takes seconds of CPU and leaves
hundreds of MiB of LLVM pages in the process that did it. The tracer therefore compiles in a
short-lived child (``tracer.compiling``) that writes this object, keyed by everything the
bytecode depends on, into a cache on the node; the tracer itself only loads it
(``tracer.kernel``), so starting again on the same node compiles nothing and the tracer never
maps LLVM. Pure: build, (de)serialise and relocate; no IO but the cache file helpers.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

FORMAT = 1
CACHE_KEEP = 8  # compiled programs kept in a node's cache
LD_IMM64 = 0x18
PSEUDO_MAP_FD = 1
INSN = struct.Struct("<BBhi")
# given to BCC's clang with the -D flags (part of the cache key). -g0: no debug info (BCC would turn
# it into BTF, which the tracer's loader does not use): a fifth less compile time.
# -disable-llvm-passes: clang's own -O2 pipeline is skipped, as BCC optimises the module itself
# (its O3 pass manager) before code generation: the IR was optimised twice. A sixth less compile
# time; the programs come out within a few instructions of the twice-optimised ones
COMPILER_FLAGS = ("-g0", "-Xclang", "-disable-llvm-passes")


@dataclass(frozen=True)
class MapSpec:
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int


@dataclass(frozen=True)
class ProgSpec:
    name: str
    insns: bytes
    relocations: tuple[tuple[int, str], ...]  # (instruction index, map name) of each map load


@dataclass(frozen=True)
class Compiled:
    license: str
    maps: tuple[MapSpec, ...]
    progs: tuple[ProgSpec, ...]

    def prog(self, name: str) -> ProgSpec:
        for prog in self.progs:
            if prog.name == name:
                return prog
        raise KeyError(f"no BPF program {name}")


def relocations(insns: bytes, map_fds: dict[int, str]) -> tuple[tuple[int, str], ...]:
    """Where ``insns`` load a map by its file descriptor (as compiled, ``map_fds``: fd -> name)."""
    found = []
    for index in range(len(insns) // INSN.size):
        op, regs, _off, imm = INSN.unpack_from(insns, index * INSN.size)
        if op == LD_IMM64 and (regs >> 4) == PSEUDO_MAP_FD:
            if imm not in map_fds:
                raise ValueError(f"instruction {index} loads an unknown map fd {imm}")
            found.append((index, map_fds[imm]))
    return tuple(found)


def relocate(prog: ProgSpec, fds: dict[str, int]) -> bytes:
    """``prog``'s instructions with each map load pointing at this process's map ``fds``."""
    insns = bytearray(prog.insns)
    for index, name in prog.relocations:
        op, regs, off, _imm = INSN.unpack_from(insns, index * INSN.size)
        INSN.pack_into(insns, index * INSN.size, op, regs, off, fds[name])
    return bytes(insns)


def to_json(compiled: Compiled) -> str:
    return json.dumps({
        "format": FORMAT, "license": compiled.license,
        "maps": [vars(m) for m in compiled.maps],
        "progs": [{"name": p.name, "insns": base64.b64encode(p.insns).decode(),
                   "relocations": [list(r) for r in p.relocations]} for p in compiled.progs]})


def from_json(text: str) -> Compiled:
    data: dict[str, Any] = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError("compiled program of another format")
    return Compiled(
        license=str(data["license"]),
        maps=tuple(MapSpec(**m) for m in data["maps"]),
        progs=tuple(ProgSpec(str(p["name"]), base64.b64decode(p["insns"]),
                             tuple((int(i), str(n)) for i, n in p["relocations"])) for p in data["progs"]))


def cache_key(source: str, flags: list[str]) -> str:
    """What the bytecode depends on: the source, the ``-D`` flags (BTF offsets, syscall numbers,
    sizes), the compiler's flags and the running kernel (BCC reads its tracepoint formats)."""
    uname = os.uname()
    text = "\0".join([str(FORMAT), source, *flags, *COMPILER_FLAGS, uname.release, uname.version,
                      uname.machine])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_cached(path: str) -> Compiled | None:
    """The program cached at ``path`` (marked as just used), or None."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError), open(path) as f:
        found = from_json(f.read())
        with contextlib.suppress(OSError):
            os.utime(path)
        return found
    return None


def prune_cached(directory: str, keep: int = CACHE_KEEP) -> list[str]:
    """Remove all but the ``keep`` most recently used programs cached in ``directory`` (a node keeps
    one per tracer version and kernel it ran); returns the paths removed."""
    cached = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if entry.name.startswith("bpf-") and entry.name.endswith(".json"):
                with contextlib.suppress(OSError):
                    cached.append((entry.stat().st_mtime, entry.path))
    removed = [path for _mtime, path in sorted(cached, reverse=True)[keep:]]
    for path in removed:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return removed


def write_cached(path: str, compiled: Compiled) -> None:
    """Atomically, so that a concurrent start never reads half a file."""
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(to_json(compiled))
        os.replace(tmp, path)
