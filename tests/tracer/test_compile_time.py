"""The compiling child spares BCC the read of the kernel's symbol table without changing the
bytecode: it shows BCC, in a mount namespace of its own, the two helper symbols BCC asks for."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from tracer import compiling, objects, program

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
