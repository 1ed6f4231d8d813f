"""Load a compiled program (``tracer.objects``) into the kernel with libbpf, without LLVM.

Creates the maps, points the programs' map loads at them, loads the programs, attaches them
to tracepoints (a perf event per tracepoint) and raw tracepoints, and gives the tracer its
maps (``loaded["name"][key] = value``, ctypes keys and values, as BCC's tables do) and the
ring buffer (libbpf's consumer). Only ``libbpf.so.1`` and libc are used: BCC and its LLVM
stay in the compiling child (``tracer.compiling``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes as ct
import fcntl
import os
import platform
from collections.abc import Callable
from typing import Any

from tracer.objects import INSN, Compiled, ProgSpec, relocate

PROG_TRACEPOINT, PROG_RAW_TRACEPOINT = 5, 17
CALL, PSEUDO_KFUNC_CALL, KFUNC_MARK = 0x85, 2, 0x40000000  # BPF_JMP | BPF_CALL; tracer.c's kfunc mark
PERCPU_TYPES = frozenset({5, 6, 10})  # percpu hash, percpu array, LRU percpu hash
PERF_TYPE_TRACEPOINT, PERF_FLAG_FD_CLOEXEC = 2, 8
PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF = 0x2400, 0x40042408
PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}.get(platform.machine(), 298)
TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
RAW_PREFIX, TP_PREFIX = "raw_tracepoint__", "tracepoint__"
LOADERS = 2  # programs verified at once
SampleFn = Callable[[Any, Any, int], int | None]
_SAMPLE = ct.CFUNCTYPE(ct.c_int, ct.c_void_p, ct.c_void_p, ct.c_size_t)

_libc = ct.CDLL(None, use_errno=True)
_bpf = ct.CDLL("libbpf.so.1", use_errno=True)
_bpf.bpf_map_create.argtypes = [ct.c_int, ct.c_char_p, ct.c_uint32, ct.c_uint32, ct.c_uint32, ct.c_void_p]
_bpf.bpf_prog_load.argtypes = [ct.c_int, ct.c_char_p, ct.c_char_p, ct.c_void_p, ct.c_size_t, ct.c_void_p]
_bpf.bpf_map_update_elem.argtypes = [ct.c_int, ct.c_void_p, ct.c_void_p, ct.c_uint64]
_bpf.bpf_map_lookup_elem.argtypes = [ct.c_int, ct.c_void_p, ct.c_void_p]
_bpf.bpf_map_delete_elem.argtypes = [ct.c_int, ct.c_void_p]
_bpf.bpf_raw_tracepoint_open.argtypes = [ct.c_char_p, ct.c_int]
_bpf.ring_buffer__new.restype = ct.c_void_p
_bpf.ring_buffer__new.argtypes = [ct.c_int, _SAMPLE, ct.c_void_p, ct.c_void_p]
for _name in ("ring_buffer__poll", "ring_buffer__consume", "ring_buffer__epoll_fd", "ring_buffer__free"):
    getattr(_bpf, _name).argtypes = [ct.c_void_p] + ([ct.c_int] if _name.endswith("poll") else [])
_libc.syscall.restype = ct.c_long
LOG_BYTES = 1 << 20  # the verifier's log of a program it refused (its end goes into the error)


class _LoadOpts(ct.Structure):
    """libbpf's ``struct bpf_prog_load_opts`` up to the verifier log (``sz`` says how far)."""

    _fields_ = [("sz", ct.c_size_t), ("attempts", ct.c_int), ("expected_attach_type", ct.c_int),
                ("prog_btf_fd", ct.c_uint32), ("prog_flags", ct.c_uint32), ("prog_ifindex", ct.c_uint32),
                ("kern_version", ct.c_uint32), ("attach_btf_id", ct.c_uint32),
                ("attach_prog_fd", ct.c_uint32), ("attach_btf_obj_fd", ct.c_uint32),
                ("fd_array", ct.c_void_p), ("func_info", ct.c_void_p), ("func_info_cnt", ct.c_uint32),
                ("func_info_rec_size", ct.c_uint32), ("line_info", ct.c_void_p),
                ("line_info_cnt", ct.c_uint32), ("line_info_rec_size", ct.c_uint32),
                ("log_level", ct.c_uint32), ("log_size", ct.c_uint32), ("log_buf", ct.c_void_p)]


def _verifier_log(kind: int, name: bytes, license: bytes, insns: bytes) -> str:
    """The verifier's reasons for refusing a program (its last lines), from a second load with a log."""
    buf = ct.create_string_buffer(LOG_BYTES)
    opts = _LoadOpts(sz=ct.sizeof(_LoadOpts), log_level=1, log_size=LOG_BYTES, log_buf=ct.addressof(buf))
    fd = int(_bpf.bpf_prog_load(kind, name, license, insns, len(insns) // 8, ct.byref(opts)))
    if fd >= 0:
        os.close(fd)
    lines = buf.value.decode(errors="replace").strip().splitlines()
    return "\n".join(lines[-12:])
NCPUS = int(_bpf.libbpf_num_possible_cpus())


def kfunc_calls(insns: bytes) -> bytes:
    """``insns`` with their kernel-function calls made such: BCC compiles a call to kfunc ``id``
    (its BTF type id) as a call to helper number ``KFUNC_MARK | id`` (tracer.c: ``rdonly_cast``);
    the kernel wants the pseudo source register ``PSEUDO_KFUNC_CALL`` and the id alone."""
    out = bytearray(insns)
    for at in range(0, len(out) - 7, 8):
        imm = int.from_bytes(out[at + 4:at + 8], "little")
        if out[at] == CALL and out[at + 1] == 0 and imm & KFUNC_MARK:
            out[at + 1] = PSEUDO_KFUNC_CALL << 4
            out[at + 4:at + 8] = (imm & ~KFUNC_MARK).to_bytes(4, "little")
    return bytes(out)


def void_cast_supported(rdonly_cast: int) -> bool:
    """Whether the verifier takes ``bpf_rdonly_cast(p, 0)`` (kfunc id ``rdonly_cast``): untyped
    read-only kernel memory, read with plain loads that the JIT makes fault-safe (Linux 6.17). A
    five-instruction probe program answers; tracer.c then needs no helper call to read a member."""
    if rdonly_cast <= 0:
        return False
    def zero(reg: int) -> bytes:
        return INSN.pack(0xB7, reg, 0, 0)  # mov reg, 0 (INSN: code, dst | src << 4, offset, immediate)

    probe = (zero(1) + zero(2) + INSN.pack(CALL, PSEUDO_KFUNC_CALL << 4, 0, rdonly_cast)  # r0 = cast(0, 0)
             + INSN.pack(0x71, 0, 0, 0) + zero(0) + INSN.pack(0x95, 0, 0, 0))  # r0 = *(u8 *)r0; r0 = 0; exit
    fd = int(_bpf.bpf_prog_load(PROG_RAW_TRACEPOINT, b"void_cast", b"GPL", probe, len(probe) // 8, None))
    if fd < 0:
        return False
    os.close(fd)
    return True


class KernelError(OSError):
    """A map, program or attachment the kernel refused."""


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = -result if result < -1 else ct.get_errno()
        raise KernelError(errno, f"{what}: {os.strerror(errno)}")
    return result


class Map:
    """One BPF map; keys and values are ctypes objects (per-CPU maps: one value per CPU)."""

    def __init__(self, fd: int, key_size: int, value_size: int, percpu: bool) -> None:
        self.fd, self.key_size, self.percpu = fd, key_size, percpu
        one: Any = ct.c_uint64 if value_size == 8 else ct.c_char * value_size
        self.Leaf: Any = one * NCPUS if percpu else one

    def __getitem__(self, key: Any) -> Any:
        value = self.Leaf()
        if _bpf.bpf_map_lookup_elem(self.fd, ct.byref(key), ct.byref(value)) < 0:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        _check(_bpf.bpf_map_update_elem(self.fd, ct.byref(key), ct.byref(value), 0), "map update")

    def __delitem__(self, key: Any) -> None:
        if _bpf.bpf_map_delete_elem(self.fd, ct.byref(key)) < 0:
            raise KeyError(key)


def kernel_name(prog: str) -> str:
    """The name the kernel shows for program ``prog`` (15 characters): ``raw_`` and the tracepoint's
    for a raw tracepoint's (``raw_sys_exit``), else the first 15 characters."""
    return ("raw_" + prog[len(RAW_PREFIX):] if prog.startswith(RAW_PREFIX) else prog)[:15]


class Loaded:
    """The program loaded and attached: maps by name, the ring buffer, ``cleanup()``."""

    def __init__(self, compiled: Compiled, made: dict[str, int] | None = None) -> None:
        """Create ``compiled``'s maps, but for those already ``made`` (name -> descriptor, now
        owned here: the compiling child's), and load its programs."""
        self.fds: list[int] = []
        self.maps: dict[str, Map] = {}
        self.progs: dict[str, int] = {}
        self._ring: int | None = None
        self._sample: Any = None
        given = dict(made or {})
        try:
            for spec in compiled.maps:
                fd = given.pop(spec.name, -1)
                fd = self._keep(fd if fd >= 0 else _check(_bpf.bpf_map_create(
                    spec.type, spec.name[:15].encode(), spec.key_size, spec.value_size, spec.max_entries,
                    None), f"map {spec.name}"))
                self.maps[spec.name] = Map(fd, spec.key_size, spec.value_size, spec.type in PERCPU_TYPES)
            self._load_programs(compiled)
        except BaseException:
            self.cleanup()
            raise
        finally:
            for fd in given.values():  # handed over but not the program's
                os.close(fd)

    def _load_programs(self, compiled: Compiled) -> None:
        """Load every program, two at a time: the verifier runs in the caller's thread (the GIL
        is released while it does), and some programs take it tens of milliseconds."""
        fds = {name: m.fd for name, m in self.maps.items()}

        def load(prog: ProgSpec) -> tuple[int, int]:
            kind = PROG_TRACEPOINT if prog.name.startswith(TP_PREFIX) else PROG_RAW_TRACEPOINT
            insns = kfunc_calls(relocate(prog, fds))
            name, license = kernel_name(prog.name).encode(), compiled.license.encode()
            fd = int(_bpf.bpf_prog_load(kind, name, license, insns, len(insns) // 8, None))
            errno = ct.get_errno()
            if fd < 0:
                failures[prog.name] = _verifier_log(kind, name, license, insns)
            return fd, errno

        failures: dict[str, str] = {}
        with concurrent.futures.ThreadPoolExecutor(LOADERS) as pool:
            results = list(pool.map(load, compiled.progs))
        for prog, (fd, _errno) in zip(compiled.progs, results, strict=True):
            if fd >= 0:
                self.progs[prog.name] = self._keep(fd)
        for prog, (fd, errno) in zip(compiled.progs, results, strict=True):
            ct.set_errno(errno)
            _check(fd, f"program {prog.name}" + (f" (the verifier: {failures[prog.name]})"
                                                  if failures.get(prog.name) else ""))

    def _keep(self, fd: int) -> int:
        self.fds.append(fd)
        return fd

    def __getitem__(self, name: str) -> Map:
        return self.maps[name]

    def attach_auto(self) -> None:
        """Attach ``tracepoint__CAT__NAME`` and ``raw_tracepoint__NAME`` programs by their names."""
        for name, fd in self.progs.items():
            if name.startswith(RAW_PREFIX):
                self._keep(_check(_bpf.bpf_raw_tracepoint_open(name[len(RAW_PREFIX):].encode(), fd), name))
            elif name.startswith(TP_PREFIX):
                category, event = name[len(TP_PREFIX):].split("__", 1)
                self.attach_tracepoint(f"{category}:{event}", name)

    def attach_tracepoint(self, tracepoint: str, prog: str) -> None:
        category, event = tracepoint.split(":", 1)
        path = next((f"{root}/events/{category}/{event}/id" for root in TRACEFS
                     if os.path.exists(f"{root}/events/{category}/{event}/id")), None)
        if path is None:
            raise KernelError(2, f"no tracepoint {tracepoint}")
        with open(path) as f:
            tp_id = int(f.read())
        attr = (ct.c_uint8 * 128)()
        ct.c_uint32.from_buffer(attr, 0).value = PERF_TYPE_TRACEPOINT
        ct.c_uint32.from_buffer(attr, 4).value = 128
        ct.c_uint64.from_buffer(attr, 8).value = tp_id
        ct.c_uint64.from_buffer(attr, 16).value = 1  # sample_period
        fd = self._keep(_check(int(_libc.syscall(PERF_EVENT_OPEN, ct.byref(attr), -1, 0, -1,
                                                 PERF_FLAG_FD_CLOEXEC)), f"perf event {tracepoint}"))
        fcntl.ioctl(fd, PERF_EVENT_IOC_SET_BPF, self.progs[prog])
        fcntl.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)

    def open_ring_buffer(self, name: str, on_sample: SampleFn) -> None:
        self._sample = _SAMPLE(lambda ctx, data, size: on_sample(ctx, data, size) or 0)
        ring = _bpf.ring_buffer__new(self.maps[name].fd, self._sample, None, None)
        if not ring:
            raise KernelError(ct.get_errno(), f"ring buffer {name}")
        self._ring = ring

    def ring_buffer_poll(self, timeout: int) -> None:
        if self._ring:
            _bpf.ring_buffer__poll(self._ring, timeout)

    def ring_buffer_consume(self) -> int:
        """Decode what the ring buffer holds; the number of records."""
        return max(0, int(_bpf.ring_buffer__consume(self._ring))) if self._ring else 0

    def ring_epoll_fd(self) -> int:
        return int(_bpf.ring_buffer__epoll_fd(self._ring)) if self._ring else -1

    def cleanup(self) -> None:
        """Detach and unload everything (closing the descriptors does both)."""
        if self._ring:
            _bpf.ring_buffer__free(self._ring)
            self._ring = None
        for fd in reversed(self.fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
