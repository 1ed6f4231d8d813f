"""What a first start on a node spares: the compiling child spares BCC the read of the kernel's
symbol table without changing the bytecode (it shows BCC, in a mount namespace of its own, the
two helper symbols BCC asks for), and hands the maps it compiled the program for over to the
tracer, which loads the program into them instead of creating them again; the programs are
verified two at a time, and one the verifier refuses is named."""

from __future__ import annotations

import ctypes as ct
import os
import pathlib
import struct
import subprocess
import sys

import pytest

from tracer import compiling, handover, kernel, objects, program

ROOT = pathlib.Path(program.__file__).parents[1]
HIDDEN = ("from tracer import compiling\n"
          "print(compiling.hide_kernel_symbols())\nprint(open('/proc/kallsyms').read())")
UNHIDDEN = ("import sys\nfrom tracer import compiling, objects\n"
            "objects.write_cached(sys.argv[1], compiling.compile_program(sys.argv[2:]))")


def comparable(compiled: objects.Compiled) -> dict[str, bytes]:
    """Each program's bytecode with its map loads pointed at one fd (fd numbers vary by process)."""
    fds = {spec.name: 0 for spec in compiled.maps}
    return {prog.name: objects.relocate(prog, fds) for prog in compiled.progs}


def test_kernel_releases_are_read_as_major_and_minor() -> None:
    assert compiling.kernel_version("6.12.57+deb13-amd64") == (6, 12)
    assert compiling.kernel_version("5.4.0") == (5, 4)
    assert compiling.kernel_version("weird") == (0, 0)


def test_the_child_alone_sees_the_short_symbol_table() -> None:
    done = subprocess.run([sys.executable, "-c", HIDDEN], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=30)
    assert done.stdout == f"True\n{compiling.HELPER_SYMBOLS}\n"
    with open("/proc/kallsyms") as symbols:
        assert sum(1 for _ in symbols) > 1000


def test_the_bytecode_is_the_same_as_with_the_whole_symbol_table(tmp_path: pathlib.Path) -> None:
    flags = program.cflags()
    path = tmp_path / "unhidden.json"
    subprocess.run([sys.executable, "-c", UNHIDDEN, str(path), *flags], cwd=ROOT, check=True, timeout=60)
    unhidden = objects.read_cached(str(path))
    hidden = program.compiled(flags, str(tmp_path / "cache"))  # the product's child
    assert unhidden is not None and unhidden.maps == hidden.maps
    assert comparable(unhidden) == comparable(hidden)
    assert {p.relocations for p in unhidden.progs} == {p.relocations for p in hidden.progs}


def map_info(fd: int) -> dict[str, int]:
    with open(f"/proc/self/fdinfo/{fd}") as info:
        fields = dict(line.split(":", 1) for line in info if ":" in line)
    return {key: int(fields[key]) for key in ("map_type", "key_size", "value_size", "max_entries")}


def test_the_child_hands_over_the_maps_it_compiled_the_program_for(tmp_path: pathlib.Path) -> None:
    compiled, maps = program.compiled_with_maps(program.cflags(), str(tmp_path))
    try:
        assert set(maps) == {spec.name for spec in compiled.maps}
        for spec in compiled.maps:
            wanted = {"map_type": spec.type, "key_size": spec.key_size, "value_size": spec.value_size,
                      "max_entries": spec.max_entries}
            assert map_info(maps[spec.name]) == wanted
        cached, none = program.compiled_with_maps(program.cflags(), str(tmp_path))
        assert cached == compiled and none == {}  # from the cache: no child, no maps
    finally:
        for fd in maps.values():
            os.close(fd)


def test_the_program_loads_into_handed_over_maps_and_closes_the_others(tmp_path: pathlib.Path) -> None:
    compiled, maps = program.compiled_with_maps(program.cflags(), str(tmp_path))
    spare = os.dup(maps["cfg"])
    made = {**maps, "not-a-map-of-the-program": spare}
    loaded = kernel.Loaded(compiled, made)
    try:
        assert {m.fd for m in loaded.maps.values()} == set(maps.values())
        assert set(loaded.progs) == {p.name for p in compiled.progs}
        loaded["cfg"][ct.c_int(0)] = ct.c_uint64(7)
        assert loaded["cfg"][ct.c_int(0)].value == 7
        with pytest.raises(OSError):
            os.fstat(spare)
    finally:
        loaded.cleanup()


def test_a_child_that_hands_over_nothing_or_garbage_leaves_no_descriptor() -> None:
    fds = [os.dup(0), os.dup(0)]
    assert handover.received(b'["a"]', fds) == {}
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
    assert handover.received(b"", []) == {}
    fd = os.dup(0)
    assert handover.received(b'["a"]', [fd]) == {"a": fd}
    assert not os.get_inheritable(fd)
    os.close(fd)


def test_a_program_the_verifier_refuses_is_named_and_nothing_stays_loaded() -> None:
    ok = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)  # r0 = 0; exit
    refused = struct.pack("<BBhi", 0x95, 0, 0, 0)  # exit with r0 unset
    progs = tuple(objects.ProgSpec(f"tracepoint__t__{name}", insns, ())
                  for name, insns in (("a", ok), ("b", refused), ("c", ok), ("d", ok)))
    before = bpf_descriptors()
    with pytest.raises(kernel.KernelError, match="program tracepoint__t__b"):
        kernel.Loaded(objects.Compiled("GPL", (), progs))
    assert bpf_descriptors() == before


def bpf_descriptors() -> set[tuple[str, str]]:
    """This process's BPF program and map descriptors (other threads of the test session open and
    close sockets and files meanwhile, so a count of every descriptor would not do)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("anon_inode:bpf"):
            found.add((fd, target))
    return found
