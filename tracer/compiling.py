"""``python -m tracer.compiling OUT FLAG...``: compile the BPF program with BCC, write it as data.

Run as a short-lived child of the tracer (``tracer.program.compiled``): clang/LLVM's pages and
heap leave with this process, and the tracer loads the written object (``tracer.objects``)
without LLVM. Nothing is loaded into the kernel here; the maps BCC creates while compiling are
handed over to the tracer (``tracer.handover``: descriptors over a socket), which would otherwise create
the same maps again while this process's exit freed these.

BCC reads the kernel's whole symbol table (/proc/kallsyms, 120k lines: a tenth of the compile)
only to learn whether ``bpf_probe_read_kernel``/``_user`` exist. Every kernel this tracer runs
on has them (it needs the ring buffer, Linux 5.8; they came in 5.5), so when it may, this child
shows BCC, in a mount namespace of its own, a symbol table of those two lines: the bytecode is
the same (tests/tracer/test_compile_time.py), the read is gone.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import os
import re
import sys
import tempfile
from typing import Any

from tracer import handover, objects, program

CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 0x1000, 0x4000, 0x40000
# what BCC looks up in the kernel's symbol table (the addresses only have to be non-zero)
HELPER_SYMBOLS = "ffffffff81000000 T bpf_probe_read_kernel\nffffffff81000010 T bpf_probe_read_user\n"
HELPERS_SINCE = (5, 5)


def kernel_version(release: str) -> tuple[int, int]:
    """(major, minor) of a kernel release such as ``6.1.0-13-amd64``; (0, 0) when unreadable."""
    found = re.match(r"(\d+)\.(\d+)", release)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def hide_kernel_symbols() -> bool:
    """Show this process (alone: a private mount namespace) ``HELPER_SYMBOLS`` as /proc/kallsyms;
    False, and nothing changed, when it may not (no CAP_SYS_ADMIN, an older kernel)."""
    if kernel_version(os.uname().release) < HELPERS_SINCE:
        return False
    libc = ct.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return False
    # private first: a bind mount must not propagate to the mount namespace of the node
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    with tempfile.NamedTemporaryFile("w", prefix="varmor-kallsyms-") as symbols:
        symbols.write(HELPER_SYMBOLS)
        symbols.flush()
        return bool(libc.mount(symbols.name.encode(), b"/proc/kallsyms", None, MS_BIND, None) == 0)


def bcc_module(flags: list[str]) -> tuple[Any, Any]:
    """BCC's compiled module of the program (its maps created, nothing loaded) and libbcc."""
    program.ensure_headers()
    program.ensure_tracefs()
    from bcc import BPF
    from bcc.libbcc import lib

    class Compiler(BPF):  # type: ignore[misc]
        def _trace_autoload(self) -> None:  # compile only: nothing is loaded or attached here
            return None

    module = Compiler(text=program.SOURCE.read_text(), cflags=[*flags, *objects.COMPILER_FLAGS]).module
    for name, restype in (("bpf_num_tables", ct.c_ulonglong), ("bpf_table_name", ct.c_char_p),
                          ("bpf_table_fd_id", ct.c_int), ("bpf_table_key_size_id", ct.c_ulonglong),
                          ("bpf_table_leaf_size_id", ct.c_ulonglong)):
        getattr(lib, name).restype = restype
        getattr(lib, name).argtypes = [ct.c_void_p] + ([ct.c_ulonglong] if name != "bpf_num_tables" else [])
    return module, lib


def compile_with_maps(flags: list[str]) -> tuple[objects.Compiled, dict[str, int]]:
    """BCC's bytecode of every function and the maps it refers to, and the maps BCC created for it
    (name -> descriptor, open until this process exits)."""
    module, lib = bcc_module(flags)
    maps, fds = [], {}
    for i in range(lib.bpf_num_tables(module)):
        name = lib.bpf_table_name(module, i).decode()
        fds[lib.bpf_table_fd_id(module, i)] = name
        maps.append(objects.MapSpec(
            name, lib.bpf_table_type_id(module, i), lib.bpf_table_key_size_id(module, i),
            lib.bpf_table_leaf_size_id(module, i), lib.bpf_table_max_entries_id(module, i),
            lib.bpf_table_flags_id(module, i)))
    progs = []
    for i in range(lib.bpf_num_functions(module)):
        fname = lib.bpf_function_name(module, i)
        insns = ct.string_at(lib.bpf_function_start(module, fname), lib.bpf_function_size(module, fname))
        progs.append(objects.ProgSpec(fname.decode(), insns, objects.relocations(insns, fds)))
    compiled = objects.Compiled(lib.bpf_module_license(module).decode(), tuple(maps), tuple(progs))
    return compiled, {name: fd for fd, name in fds.items()}


def compile_program(flags: list[str]) -> objects.Compiled:
    """BCC's bytecode of every function and the maps it refers to."""
    return compile_with_maps(flags)[0]


def main(argv: list[str]) -> int:
    to = int(argv.pop(0).partition("=")[2]) if argv and argv[0].startswith("--maps-to=") else None
    if len(argv) < 1:
        print("usage: python -m tracer.compiling [--maps-to=FD] OUT [FLAG...]", file=sys.stderr)
        return 2
    with contextlib.suppress(OSError):
        hide_kernel_symbols()
    compiled, maps = compile_with_maps(argv[1:])
    objects.write_cached(argv[0], compiled)
    if to is not None:
        handover.hand_over(to, maps)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
