"""File fidelity: nothing dropped when dentries are reused (the lock-file pattern), failed calls
record nothing, directories and the calls that make them are recorded as AppArmor names them,
`#!` scripts get an exec event of their own, and a rename's source is read and written."""

from __future__ import annotations

import os
import tempfile

import pytest

from tests.tracer.harness import Container, TracerProcess, files, kinds, traced

LOCK_FILES = ("import os, sys\n"
              "os.chdir(sys.argv[1])\n"
              "for i in range(1000):\n"
              "    with open(f'tmp-{i}', 'w') as f:\n"
              "        f.write('x')\n"
              "    os.rename(f'tmp-{i}', f'target-{i % 10}')\n")
# every call fails on a name that exists (a recorder resolving names at entry would record them)
FAILING_ON_EXISTING = ("import errno, os, sys\n"
                       "os.chdir(sys.argv[1])\n"
                       "calls = [lambda: os.open('dir', os.O_WRONLY),\n"
                       "         lambda: os.open('file', os.O_WRONLY | os.O_CREAT | os.O_EXCL),\n"
                       "         lambda: os.open('file/x', os.O_RDONLY),\n"
                       "         lambda: os.unlink('dir'),\n"
                       "         lambda: os.rmdir('full'),\n"
                       "         lambda: os.rename('file', 'full'),\n"
                       "         lambda: os.rename('dir', 'dir/inner'),\n"
                       "         lambda: os.link('dir', 'dir-link'),\n"
                       "         lambda: os.link('file', 'full/kept'),\n"
                       "         lambda: os.mkdir('full'),\n"
                       "         lambda: os.symlink('/etc/hostname', 'file'),\n"
                       "         lambda: os.mknod('file', 0o600 | 0o10000)]\n"
                       "for index, call in enumerate(calls):\n"
                       "    try:\n"
                       "        call()\n"
                       "    except OSError as e:\n"
                       "        print(index, errno.errorcode[e.errno])\n"
                       "    else:\n"
                       "        print(index, 'succeeded')\n")
AT_CALLS = ("import os, sys\n"
            "d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
            "os.mkdir('made-at', dir_fd=d)\n"
            "os.symlink('/etc/hostname', 'link-at', dir_fd=d)\n"
            "os.mknod('node-at', 0o600 | 0o10000, dir_fd=d)\n")


def workdir() -> str:
    return os.path.realpath(tempfile.mkdtemp(prefix="varmor-fidelity-"))


@pytest.mark.parametrize("run", [1, 2, 3])
def test_a_thousand_temp_files_renamed_over_their_targets_are_all_recorded(tracer: TracerProcess,
                                                                         run: int) -> None:
    work = workdir()
    with open(os.path.join(work, "lock.py"), "w") as f:
        f.write(LOCK_FILES)
    events = traced(tracer, f"python3 {work}/lock.py {work}")
    seen = files(events)
    missing = [i for i in range(1000) if not {"create", "write"} <= seen.get(f"{work}/tmp-{i}", set())]
    assert missing == [], f"run {run}: {len(missing)} temp files not recorded"
    assert all({"read", "rename"} <= seen[f"{work}/tmp-{i}"] for i in range(1000))
    assert all("rename" in seen[f"{work}/target-{i}"] for i in range(10))
    assert kinds(events, "stats")[-1]["lost_events"] == 0


def test_failed_unlink_rename_link_and_open_record_nothing(tracer: TracerProcess) -> None:
    work = workdir()
    events = traced(tracer, f"cd {work}; rm -f /nonexistent/gone; rm -f {work}/never; "
                            f"mv /nonexistent/a {work}/b; ln /nonexistent/c {work}/d; "
                            f"cat /nonexistent/e; cat {work}/f; mkdir /nonexistent/g; true")
    recorded = [e["path"] for e in kinds(events, "file")]
    assert not [p for p in recorded if "/nonexistent/" in p or p.startswith(f"{work}/")]


def test_calls_that_fail_on_names_that_exist_record_nothing(tracer: TracerProcess) -> None:
    work, scripts = workdir(), workdir()
    os.mkdir(os.path.join(work, "dir"))
    os.mkdir(os.path.join(work, "full"))
    for name in ("file", "full/kept"):
        with open(os.path.join(work, name), "w") as f:
            f.write("x")
    with open(os.path.join(scripts, "fail.py"), "w") as f:
        f.write(FAILING_ON_EXISTING)
    ctr = Container(f"python3 {scripts}/fail.py {work}")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        output = ctr.run()
        events = tracer.remove(ctr.name)
    finally:
        ctr.remove()
    outcomes = dict(line.split(" ", 1) for line in output.split("\n") if line)
    assert len(outcomes) == 12 and "succeeded" not in outcomes.values(), output
    assert [p for p in files(events) if p.startswith(work)] == []
    assert f"{scripts}/fail.py" in files(events)  # the same session did record the script


def test_directories_are_recorded_with_a_trailing_slash_and_every_call_that_makes_a_name(
        tracer: TracerProcess) -> None:
    work = workdir()
    with open(os.path.join(work, "at.py"), "w") as f:
        f.write(AT_CALLS)
    events = traced(tracer, f"cd {work}; mkdir made; ls made > /dev/null; rmdir made; "
                            f"ln -s /etc/hostname link; mkfifo fifo; python3 at.py {work}")
    seen = files(events)
    assert {"create", "read", "delete"} <= seen[f"{work}/made/"]
    assert f"{work}/made" not in seen
    assert "create" in seen[f"{work}/made-at/"]
    assert "create" in seen[f"{work}/link"] and "create" in seen[f"{work}/link-at"]
    assert "create" in seen[f"{work}/fifo"] and "create" in seen[f"{work}/node-at"]
    assert all(e.get("directory") is True for e in kinds(events, "file") if e["path"].endswith("/"))


def test_a_script_run_directly_gets_an_exec_event_and_so_does_its_interpreter(tracer: TracerProcess) -> None:
    work = workdir()
    script, relative = os.path.join(work, "hello.sh"), os.path.join(work, "relative.sh")
    for path in (script, relative):
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho hello > /dev/null\n")
        os.chmod(path, 0o755)
    events = traced(tracer, f"{script}; cd {work} && ./relative.sh; /usr/bin/python3 -c pass")
    execs = {e["path"] for e in kinds(events, "exec")}
    assert {script, relative, "/usr/bin/dash"} <= execs
    assert "/usr/bin/python3" not in execs  # a symlink to the interpreter, not a script
    assert any(p.startswith("/usr/bin/python3.") for p in execs)
