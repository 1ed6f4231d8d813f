"""``python -m tracer.compiling OUT FLAG...``: compile the BPF program with BCC, write it as data.

Run as a short-lived child of the tracer (``tracer.program.compiled``): clang/LLVM's pages and
heap leave with this process, and the tracer loads the written object (``tracer.objects``)
without LLVM. Nothing is loaded into the kernel for good: the maps BCC creates while compiling
close when this process exits.
"""

from __future__ import annotations

import ctypes as ct
import sys

from tracer import objects, program


def compile_program(flags: list[str]) -> objects.Compiled:
    """BCC's bytecode of every function and the maps it refers to."""
    program.ensure_headers()
    program.ensure_tracefs()
    from bcc import BPF
    from bcc.libbcc import lib

    class Compiler(BPF):  # type: ignore[misc]
        def _trace_autoload(self) -> None:  # compile only: nothing is loaded or attached here
            return None

    # -g0: no debug info (BCC would turn it into BTF, which the tracer's loader does not use): a fifth
    # less compile time
    module = Compiler(text=program.SOURCE.read_text(), cflags=[*flags, "-g0"]).module
    for name, restype in (("bpf_num_tables", ct.c_ulonglong), ("bpf_table_name", ct.c_char_p),
                          ("bpf_table_fd_id", ct.c_int), ("bpf_table_key_size_id", ct.c_ulonglong),
                          ("bpf_table_leaf_size_id", ct.c_ulonglong)):
        getattr(lib, name).restype = restype
        getattr(lib, name).argtypes = [ct.c_void_p] + ([ct.c_ulonglong] if name != "bpf_num_tables" else [])
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
    return objects.Compiled(lib.bpf_module_license(module).decode(), tuple(maps), tuple(progs))


def main(argv: list[str]) -> int:
    if len(argv) < 1:
        print("usage: python -m tracer.compiling OUT [FLAG...]", file=sys.stderr)
        return 2
    objects.write_cached(argv[0], compile_program(argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
