"""Build and load the BPF program: BTF offsets and syscall numbers as ``-D`` flags, then BCC.

BCC compiles in a short-lived child (``tracer.compiling``), once per program, flags and kernel:
the result is cached on the node and loaded with libbpf (``tracer.kernel``), so the tracer
neither waits for clang nor keeps LLVM's pages. BCC needs a kernel headers tree
for its prelude only (every layout comes from BTF or tracefs); when
``/lib/modules/$(uname -r)/build`` is missing we point ``BCC_KERNEL_SOURCE`` at the merged tree
made by ``scripts/install.d/20-bcc.sh``, building it on the fly if needed.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import contextlib
import ctypes
import glob
import json
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING

from generator.syscalls import syscall_number
from tracer import handover, objects
from tracer.btf import BTF, VMLINUX
from tracer.syscalls import SyscallNames, syscalls_of

if TYPE_CHECKING:
    from tracer.kernel import Loaded

SOURCE = pathlib.Path(__file__).with_name("bpf") / "tracer.c"
CACHE_DIR = "/var/cache/varmor-py"
MERGED_HEADERS = f"{CACHE_DIR}/kernel-headers"
ARCH = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine(), "x86_64")

# -D name -> (struct, member path)
OFFSETS: dict[str, tuple[str, str]] = {
    "OFF_TASK_FILES": ("task_struct", "files"),
    "OFF_TASK_NSPROXY": ("task_struct", "nsproxy"),
    "OFF_TASK_FS": ("task_struct", "fs"),
    "OFF_NSPROXY_MNTNS": ("nsproxy", "mnt_ns"),
    "OFF_FS_PWD": ("fs_struct", "pwd"),
    "OFF_FILES_FDT": ("files_struct", "fdt"),
    "OFF_FDT_MAXFDS": ("fdtable", "max_fds"),
    "OFF_FDT_FD": ("fdtable", "fd"),
    "OFF_FILE_PATH": ("file", "f_path"),
    "OFF_PATH_MNT": ("path", "mnt"),
    "OFF_PATH_DENTRY": ("path", "dentry"),
    "OFF_MOUNT_MNT": ("mount", "mnt"),
    "OFF_MOUNT_PARENT": ("mount", "mnt_parent"),
    "OFF_MOUNT_MOUNTPOINT": ("mount", "mnt_mountpoint"),
    "OFF_VFSMOUNT_ROOT": ("vfsmount", "mnt_root"),
    "OFF_DENTRY_PARENT": ("dentry", "d_parent"),
    "OFF_DENTRY_NAME": ("dentry", "d_name"),
    "OFF_DENTRY_INODE": ("dentry", "d_inode"),
    "OFF_INODE_UID": ("inode", "i_uid"),
    "OFF_INODE_INO": ("inode", "i_ino"),
    "OFF_INODE_GENERATION": ("inode", "i_generation"),
    "OFF_INODE_MODE": ("inode", "i_mode"),
    "OFF_TASK_CRED": ("task_struct", "cred"),
    "OFF_TASK_REAL_CRED": ("task_struct", "real_cred"),
    "OFF_CRED_FSUID": ("cred", "fsuid"),
    "OFF_TASK_MM": ("task_struct", "mm"),
    "OFF_BPRM_FILENAME": ("linux_binprm", "filename"),
    "OFF_MM_EXE_FILE": ("mm_struct", "exe_file"),
}
# programs reached by tail call (code shared by many probes, compiled and verified once), by index
TAIL_CALLS = (b"walk_path", b"fd_prog", b"names_prog")
# kernel functions that make no-audit capability checks: a cap_capable with one of them on the
# stack is not recorded (an audit-based recorder never sees it)
NOAUDIT_FUNCTIONS = ("ns_capable_noaudit", "has_ns_capability_noaudit", "has_capability_noaudit",
                     "cap_vm_enough_memory", "__vm_enough_memory", "security_vm_enough_memory_mm")
NOAUDIT_RANGES = 16
# the syscall ABI of the current task: task_struct member and mask (x86_64: TS_COMPAT for ia32,
# arm64: TIF_32BIT for aarch32)
COMPAT = {"x86_64": ("thread_info.status", 0x0002), "aarch64": ("thread_info.flags", 1 << 22)}
COMPAT_ARCH = {"x86_64": "i386", "aarch64": "arm"}
RING_MIB = 32  # the tracer's RSS grows by what the ring buffer touches (bench/bench_tracer.py)
# the syscalls the sys_exit program records more than the number of (files, names, sockets, ptrace,
# mounts): a -D flag NR_<NAME> each, and a bit each in WANT_0..7
SYSCALLS = ("open", "openat", "creat", "openat2", "mmap", "flock", "fcntl", "link", "linkat", "unlink",
            "unlinkat", "rmdir", "rename", "renameat", "renameat2", "socket", "connect", "bind", "ptrace",
            "mount", "umount2", "mkdir", "mkdirat", "mknod", "mknodat", "symlink", "symlinkat")
# syscalls that never reach sys_exit (exit, exit_group: recorded at sched_process_exit) or reach it
# with the number -1 (sigreturn): NR_<NAME> and COMPAT_NR_<NAME>
UNRETURNED = ("exit", "exit_group", "rt_sigreturn", "sigreturn")
# pt_regs members holding syscall arguments 0-4 (arm64: x0 holds the return value at exit)
ARG_REGS = {"x86_64": ("di", "si", "dx", "r10", "r8"),
            "aarch64": ("orig_x0", "regs.1", "regs.2", "regs.3", "regs.4")}


def btf_flags(btf: BTF) -> dict[str, int]:
    """Struct offsets and sizes the program needs, from this kernel's BTF."""
    flags = {name: btf.offsetof(st, member) for name, (st, member) in OFFSETS.items()}
    flags["OFF_MNTNS_INUM"] = btf.offsetof("mnt_namespace", "ns") + btf.offsetof("ns_common", "inum")
    flags["OFF_PT_REGS_NR"] = btf.offsetof("pt_regs", "orig_ax" if ARCH == "x86_64" else "syscallno")
    for i, reg in enumerate(ARG_REGS[ARCH]):
        base, _, index = reg.partition(".")
        flags[f"OFF_PT_REGS_ARG{i}"] = btf.offsetof("pt_regs", base) + 8 * int(index or 0)
    member, mask = COMPAT[ARCH]
    flags["COMPAT_OFF"] = btf.offsetof("task_struct", member) if btf.has_member("task_struct", member) else -1
    flags["COMPAT_MASK"] = mask
    flags["BTF_TASK_STRUCT"] = btf.struct_id("task_struct")
    flags["KFUNC_RDONLY_CAST"] = btf.func_id("bpf_rdonly_cast")  # Linux 6.2; -1: absent
    return flags


def verifier_flags(flags: dict[str, int]) -> dict[str, int]:
    """``flags`` and what this kernel's verifier takes: KFUNC_VOID_CAST, reads of untyped kernel
    memory with plain loads (tracer.kernel.void_cast_supported)."""
    from tracer.kernel import void_cast_supported

    return {**flags, "KFUNC_VOID_CAST": int(void_cast_supported(flags["KFUNC_RDONLY_CAST"]))}


def cached_btf_flags(cache_dir: str = CACHE_DIR) -> dict[str, int]:
    """``btf_flags`` of the running kernel, cached by BTF size, mtime and kernel release."""
    st = os.stat(VMLINUX)
    key = f"{os.uname().release}-{st.st_size}-{st.st_mtime_ns}-{len(OFFSETS)}-args5-compat-kfunc-void-bprm"
    path = os.path.join(cache_dir, "btf-flags.json")  # offsets and type ids
    with contextlib.suppress(OSError, ValueError):
        with open(path) as f:
            cached = json.load(f)
        if cached.get("key") == key:
            return {str(k): int(v) for k, v in cached["flags"].items()}
    flags = verifier_flags(btf_flags(BTF()))
    with contextlib.suppress(OSError):
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"key": key, "flags": flags}, f)
        os.replace(tmp, path)
    return flags


def cflags(btf: BTF | None = None, ring_mib: int = RING_MIB) -> list[str]:
    """Every ``-D`` flag the program needs, from this kernel's BTF and syscall table; the ring
    buffer holds ``ring_mib`` MiB (a power of two)."""
    flags = verifier_flags(btf_flags(btf)) if btf else cached_btf_flags()
    want = [0] * 8
    for name in SYSCALLS:
        number = syscall_number(ARCH, name)
        flags[f"NR_{name.upper()}"] = -1 if number is None else number
        if number is not None:
            want[number >> 6] |= 1 << (number & 63)
    for name in UNRETURNED:
        for prefix, arch in (("NR", ARCH), ("COMPAT_NR", COMPAT_ARCH[ARCH])):
            number = syscall_number(arch, name)
            flags[f"{prefix}_{name.upper()}"] = -1 if number is None else number
    flags["RING_PAGES"] = ring_mib * 256
    words = [f"-DWANT_{i}={w:#x}ULL" for i, w in enumerate(want)]
    return sorted([f"-D{k}={v}" for k, v in flags.items()] + words)


def noaudit_ranges(symbols: bytes) -> list[tuple[int, int]]:
    """[start, end) of each ``NOAUDIT_FUNCTIONS`` function and its ``.cold`` part, from the
    kernel's symbol table ``symbols`` (/proc/kallsyms; a symbol ends where the next one
    starts); empty when the addresses are hidden (kptr_restrict)."""
    found = []
    for name in NOAUDIT_FUNCTIONS:
        for suffix in ("", ".cold"):
            at = symbols.find(f" {name}{suffix}\n".encode())
            while at >= 0:
                line = symbols.rfind(b"\n", 0, at) + 1
                found.append((line, int(symbols[line:symbols.index(b" ", line)], 16)))
                at = symbols.find(f" {name}{suffix}\n".encode(), at + 1)
    ranges = [(start, symbol_end(symbols, line, start)) for line, start in found if start]
    return sorted(ranges)[:NOAUDIT_RANGES]


def symbol_end(symbols: bytes, line: int, start: int) -> int:
    """Where the symbol at ``start`` (its line at offset ``line``) ends: the next higher address
    (the kernel's own symbols are listed in address order; else every address is sorted)."""
    rest = symbols[line:line + 4096].split(b"\n")[1:-1]
    for following in rest:
        address = int(following[:following.index(b" ")], 16)
        if address > start:
            return address
        if address < start:
            break
    starts = sorted({int(x[:x.index(b" ")], 16) for x in symbols.splitlines() if b" " in x})
    later = bisect.bisect_right(starts, start)
    return starts[later] if later < len(starts) else start + 1


def source_text(flags: list[str]) -> str:
    """The program as compiled, with its flags shown as ``#define`` lines (for ``--ebpf``)."""
    defines = "\n".join("#define " + f[2:].replace("=", " ", 1) for f in flags)
    return f"/* -D flags from BTF */\n{defines}\n\n{SOURCE.read_text()}"


def ensure_headers() -> None:
    """Point BCC at a kernel headers tree for its prelude when /lib/modules has none."""
    if os.path.isdir(f"/lib/modules/{os.uname().release}/build") or os.environ.get("BCC_KERNEL_SOURCE"):
        return
    if not os.path.isdir(MERGED_HEADERS):
        common = sorted(glob.glob("/usr/src/linux-headers-*-common"))
        generated = sorted(glob.glob("/usr/src/linux-headers-*-amd64")) or sorted(
            glob.glob("/usr/src/linux-headers-*-arm64"))
        if not common or not generated:
            raise RuntimeError("no kernel headers: run `make install` (linux-headers-amd64)")
        tmp = MERGED_HEADERS + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        subprocess.run(["cp", "-rs", common[-1] + "/.", tmp + "/"], check=True)
        subprocess.run(["cp", "-rs", "--remove-destination", generated[-1] + "/.", tmp + "/"], check=True)
        os.rename(tmp, MERGED_HEADERS)
    os.environ["BCC_KERNEL_SOURCE"] = MERGED_HEADERS


def ensure_tracefs() -> None:
    """Mount tracefs when neither tracing directory is there: BCC reads tracepoint formats."""
    for path in ("/sys/kernel/debug/tracing/events", "/sys/kernel/tracing/events"):
        if os.path.isdir(path):
            return
    subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"], check=True)


def cache_path(flags: list[str], cache_dir: str = CACHE_DIR) -> str:
    """Where the program compiled with ``flags`` is cached on this node."""
    return os.path.join(cache_dir, f"bpf-{objects.cache_key(SOURCE.read_text(), flags)}.json")


def compiled(flags: list[str], cache_dir: str = CACHE_DIR) -> objects.Compiled:
    """The program compiled with ``flags`` (``compiled_with_maps``, maps closed)."""
    found, maps = compiled_with_maps(flags, cache_dir)
    for fd in maps.values():
        os.close(fd)
    return found


def compiled_with_maps(flags: list[str], cache_dir: str = CACHE_DIR
                       ) -> tuple[objects.Compiled, dict[str, int]]:
    """The program compiled with ``flags``: from the node's cache, else compiled by a short-lived
    child (``tracer.compiling``: BCC's clang/LLVM never run or stay in the tracer) and cached; with
    the maps the child created for it (name -> descriptor; none when read from the cache)."""
    path = cache_path(flags, cache_dir)
    found = objects.read_cached(path)
    if found is not None:
        return found, {}
    with tempfile.TemporaryDirectory(prefix="varmor-bpf-") as scratch:
        with contextlib.suppress(OSError):
            os.makedirs(cache_dir, exist_ok=True)
        if not os.access(cache_dir, os.W_OK):  # no cache on this node (read-only): compile each start
            path = os.path.join(scratch, os.path.basename(path))
        maps, errors = handover.in_child(flags, path)
        found = objects.read_cached(path)
    if found is not None and os.path.dirname(path) == cache_dir:
        objects.prune_cached(cache_dir)
    if found is None:
        for fd in maps.values():
            os.close(fd)
        lines = errors.splitlines()
        errors_only = [line for line in lines if "error" in line.lower()] or lines
        raise RuntimeError("the BPF program did not compile: " + " | ".join(errors_only[-5:]))
    return found, maps


def kernel_symbols() -> tuple[list[tuple[int, int]], SyscallNames]:
    """The no-audit callers' ranges and the syscalls' names, from /proc/kallsyms."""
    symbols = pathlib.Path("/proc/kallsyms").read_bytes()
    return noaudit_ranges(symbols), SyscallNames(syscalls_of(symbols))


def load(flags: list[str]) -> tuple[Loaded, SyscallNames]:
    """Load and attach every probe, install the tail-call targets; returns the loaded program
    and the names of the running kernel's syscalls (from /proc/kallsyms, read once, while the
    program compiles or loads: the compiling child starts first).

    The syscall program is attached to the exits of the syscalls this architecture has (arm64
    has no open, creat, link, unlink, rmdir or rename)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        program_soon = pool.submit(compiled_with_maps, flags)
        symbols_soon = pool.submit(kernel_symbols)
        from tracer import kernel  # libbpf: only when loading (``--ebpf`` and --help need none)

        ensure_tracefs()
        bpf = kernel.Loaded(*program_soon.result())
        ranges, names = symbols_soon.result()
    if not ranges:
        bpf.cleanup()
        raise RuntimeError("no noaudit capability callers in /proc/kallsyms (kptr_restrict?)")
    for index, (start, end) in enumerate(ranges):
        bpf["noaudit"][ctypes.c_int(index)] = (ctypes.c_uint64 * 2)(start, end)
    for index, name in enumerate(TAIL_CALLS):
        bpf["progs"][ctypes.c_int(index)] = ctypes.c_int(bpf.progs[name.decode()])
    bpf.attach_auto()
    return bpf, names
