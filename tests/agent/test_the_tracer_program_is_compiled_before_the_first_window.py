"""The agent compiles the tracer's BPF program when it starts, so that the first window's tracer
loads it from the node's cache instead of compiling it while the window's containers run."""

from __future__ import annotations

import pathlib

from agent.wiring import compile_tracer_ahead
from tracer import objects, program


def test_the_program_is_in_the_nodes_cache_after_the_agent_compiled_it_ahead(tmp_path: pathlib.Path) -> None:
    path = pathlib.Path(program.cache_path(program.cflags(), str(tmp_path)))
    assert not path.exists()

    compile_tracer_ahead(str(tmp_path)).join(timeout=120)

    compiled = objects.read_cached(str(path))
    assert compiled is not None
    assert {"raw_tracepoint__sys_exit", "fd_prog", "walk_path"} <= {prog.name for prog in compiled.progs}
