"""runc's own set-up process (``runc:[2:INIT]``, in the container's cgroup until it execs the
command) is not the workload: nothing it does is recorded, and what it touched is not hidden from
the workload by the first-occurrence filter — the command it execs is recorded from its first step.
"""

from __future__ import annotations

import tempfile

from tests.tracer.harness import TracerProcess, kinds, traced

# As runc does: a runc:[1:CHILD] clones runc:[2:INIT], which sets credentials, reads a file and
# execs the command.
RUNC_INIT = ("import ctypes, os, sys\n"
             "libc = ctypes.CDLL(None)\n"
             "libc.prctl(15, b'runc:[1:CHILD]')\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    libc.prctl(15, b'runc:[2:INIT]')\n"
             "    os.setgid(0); os.setuid(0)\n"
             "    open(sys.argv[1]).read()\n"
             "    os.execv('/bin/cat', ['cat', sys.argv[1]])\n"
             "os.waitpid(pid, 0)\n")


def test_the_runtimes_set_up_is_skipped_and_the_command_it_execs_is_recorded_whole(
        tracer: TracerProcess) -> None:
    work = tempfile.mkdtemp(prefix="varmor-runc-")
    with open(f"{work}/init.py", "w") as f:
        f.write(RUNC_INIT)
    with open(f"{work}/data", "w") as f:
        f.write("x\n")
    events = traced(tracer, f"/usr/bin/python3 {work}/init.py {work}/data")
    assert not [e for e in events if str(e.get("comm", "")).startswith("runc:[")]
    assert [e["name"] for e in kinds(events, "capability")] == []  # its setuid/setgid are not the workload's
    reads = [e for e in kinds(events, "file") if e["path"] == f"{work}/data"]
    assert [e["comm"] for e in reads] == ["cat"]  # cat's own read, not hidden by the set-up's
    assert "/usr/bin/cat" in {e["path"] for e in kinds(events, "exec")}
