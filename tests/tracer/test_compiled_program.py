"""The BPF program is compiled once per node (in a short-lived child) and loaded from its cache:
map loads are re-pointed at the loading process's maps, a damaged cache is compiled again, and
the running tracer holds no LLVM."""

from __future__ import annotations

import os
import pathlib
import struct
import subprocess

import pytest

from tests.tracer.harness import TracerProcess
from tracer import objects, program
from tracer.client import tracer_argv

LD_MAP = struct.pack("<BBhi", 0x18, 0x10, 0, 7) + struct.pack("<BBhi", 0, 0, 0, 0)  # r0 = map fd 7
EXIT = struct.pack("<BBhi", 0x95, 0, 0, 0)


def test_each_map_load_is_pointed_at_the_loading_process_map() -> None:
    insns = EXIT + LD_MAP + EXIT
    prog = objects.ProgSpec("p", insns, objects.relocations(insns, {7: "events"}))
    assert prog.relocations == ((1, "events"),)
    moved = objects.relocate(prog, {"events": 42})
    assert struct.unpack_from("<BBhi", moved, 8) == (0x18, 0x10, 0, 42)
    assert moved[:8] == insns[:8] and moved[16:] == insns[16:]


def test_a_map_load_of_an_unknown_descriptor_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown map fd 7"):
        objects.relocations(LD_MAP, {8: "events"})


def test_a_compiled_program_survives_its_cache_file_and_the_key_follows_source_and_flags(
        tmp_path: pathlib.Path) -> None:
    compiled = objects.Compiled("GPL", (objects.MapSpec("events", 27, 0, 0, 4096, 0),),
                                (objects.ProgSpec("p", LD_MAP + EXIT, ((0, "events"),)),))
    path = str(tmp_path / "cache" / "bpf.json")
    objects.write_cached(path, compiled)
    assert objects.read_cached(path) == compiled
    key = objects.cache_key("src", ["-DA=1"])
    assert len({key, objects.cache_key("src", ["-DA=2"]), objects.cache_key("src2", ["-DA=1"])}) == 3
    pathlib.Path(path).write_text("{not json")
    assert objects.read_cached(path) is None


def test_a_damaged_cache_is_compiled_again_and_then_read(tmp_path: pathlib.Path) -> None:
    flags = program.cflags()
    path = tmp_path / f"bpf-{objects.cache_key(program.SOURCE.read_text(), flags)}.json"
    path.write_text('{"format": 1, "license": "GPL"')
    compiled = program.compiled(flags, str(tmp_path))
    assert {"raw_tracepoint__sys_exit", "walk_path", "raw_tracepoint__sched_process_exec"} <= {
        p.name for p in compiled.progs}
    assert {"events", "dedup", "sysbits"} <= {m.name for m in compiled.maps}
    written = path.stat().st_ino  # a compile writes a new file (os.replace), a read does not
    assert program.compiled(flags, str(tmp_path)) == compiled
    assert path.stat().st_ino == written


def test_the_node_cache_keeps_the_most_recently_used_programs_only(tmp_path: pathlib.Path) -> None:
    compiled = objects.Compiled("GPL", (), (objects.ProgSpec("p", EXIT, ()),))
    paths = [str(tmp_path / f"bpf-{i:02d}.json") for i in range(objects.CACHE_KEEP + 3)]
    for age, path in enumerate(paths):   # paths[0] is the newest
        objects.write_cached(path, compiled)
        os.utime(path, (1_000_000 - age * 60, 1_000_000 - age * 60))
    (tmp_path / "btf-offsets.json").write_text("{}")
    assert objects.read_cached(paths[-1]) == compiled   # the oldest, used now: kept

    removed = objects.prune_cached(str(tmp_path))

    assert sorted(removed) == sorted(paths[-4:-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(pathlib.Path(p).name for p in [*paths[:objects.CACHE_KEEP - 1], paths[-1]]), "btf-offsets.json"])


def test_the_running_tracer_maps_no_llvm(tracer: TracerProcess) -> None:
    tracer.session_stats()  # answered once the program is loaded
    maps = pathlib.Path(f"/proc/{tracer.proc.pid}/maps").read_text()
    assert "libbpf.so" in maps
    for library in ("libLLVM", "libclang", "libbcc"):
        assert library not in maps
    assert os.path.basename(os.readlink(f"/proc/{tracer.proc.pid}/exe")).startswith("python")


def test_a_tracer_that_cannot_load_its_program_says_why_in_one_line() -> None:
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *tracer_argv(),
                           "--no-stdin", "--duration", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Failed to load the BPF program" in done.stderr and "Traceback" not in done.stderr


def test_without_a_usable_cache_the_program_is_compiled_all_the_same(tmp_path: pathlib.Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the cache directory cannot be made under a file
    compiled = program.compiled(program.cflags(), str(blocked / "cache"))
    assert "raw_tracepoint__sys_exit" in {p.name for p in compiled.progs}
    assert blocked.read_text() == ""
