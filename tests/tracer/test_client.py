"""The tracer client: every command is answered (errors at once), events stream to a callback,
targets come and go while events flow, and one tracer holds 1,024 real cgroups."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.tracer.harness import CGROUP_ROOT, ROOT, Container, Event, TracerProcess, files, kinds
from tracer.client import EventQueue, TracerClient, TracerError
from tracer.tracing import MAXT


@pytest.mark.parametrize(("command", "message"), [
    ("add bad cgroup=/nonexistent/cgroup", "no cgroup at /nonexistent/cgroup"),
    ("add bad pid=notanumber", "expected cgroup=PATH, pid=PID or mntns=PID"),
    ("add bad", "usage: add NAME"),
    ("add bad pid=999999999", "no process 999999999"),
    ("remove nobody", "no target nobody"),
    ("frobnicate", "unknown command"),
])
def test_a_refused_command_is_answered_with_its_error_at_once(tracer: TracerProcess, command: str,
                                                              message: str) -> None:
    with pytest.raises(TracerError, match=message):
        tracer.command(command, timeout=10)
    assert tracer.session_stats().keys() >= {"lost_events", "map_full", "paths_truncated"}


def test_a_target_name_cannot_be_added_twice(tracer: TracerProcess) -> None:
    ctr = Container("true")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        with pytest.raises(TracerError, match="exists"):
            tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        tracer.remove(ctr.name)
    finally:
        ctr.remove()


def test_events_stream_to_the_callback_while_the_target_runs_and_the_client_keeps_none() -> None:
    marker = f"/tmp/varmor-stream-{uuid.uuid4().hex}"
    arrived = threading.Event()
    queue = EventQueue(size=100_000)

    def sink(event: Event) -> None:
        queue(event)
        if event.get("path") == marker:
            arrived.set()

    client = TracerClient(sink)
    ctr = Container(f"touch {marker}; sleep 30")
    try:
        client.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.release()
        assert arrived.wait(30), "the event did not arrive while the target ran"
        assert not [v for v in vars(client).values() if isinstance(v, list)]
        client.remove(ctr.name)
    finally:
        ctr.remove()
        client.close()
        queue.close()
    got = list(queue)
    assert [e["kind"] for e in got if e["target"] == ctr.name][-2:] == ["syscalls", "stats"]


@pytest.fixture
def streaming(tracer: TracerProcess) -> Iterator[tuple[Container, str]]:
    work = tempfile.mkdtemp(prefix="varmor-flow-")
    ctr = Container(f"for i in $(seq 400); do echo x > {work}/f$i; sleep 0.005; done")
    tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
    yield ctr, os.path.realpath(work)
    ctr.remove()


def test_targets_are_added_and_removed_while_events_flow(tracer: TracerProcess,
                                                         streaming: tuple[Container, str]) -> None:
    ctr, work = streaming
    ctr.release()
    others = [Container(f"cat /etc/hostname; echo {n} > /dev/null") for n in range(20)]
    try:
        for other in others:
            tracer.add(other.name, f"cgroup={other.cgroup}")
            other.run()
            tracer.remove(other.name)
        ctr.run()
        events = tracer.remove(ctr.name)
    finally:
        for other in others:
            other.remove()
    written = {p for p in files(events) if p.startswith(work + "/f")}
    assert len(written) == 400
    for other in others:
        assert "/etc/hostname" in files(tracer.of(other.name))
        assert kinds(tracer.of(other.name), "stats")


def spawn_in(cgroup: str, argv: list[str]) -> subprocess.Popen[bytes]:
    def join() -> None:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    return subprocess.Popen(argv, preexec_fn=join, stdout=subprocess.DEVNULL)


@pytest.fixture
def many_cgroups() -> Iterator[list[str]]:
    parent = os.path.join(CGROUP_ROOT, f"varmor-test-many-{uuid.uuid4().hex[:8]}")
    children = [os.path.join(parent, f"c{i}") for i in range(MAXT)]
    os.makedirs(parent)
    try:
        for child in children:
            os.mkdir(child)
        yield children
    finally:
        for path in [*children, parent]:
            if os.path.isdir(path):
                os.rmdir(path)


def test_one_tracer_traces_1024_cgroups_at_once_each_with_its_own_events(
        tracer: TracerProcess, many_cgroups: list[str]) -> None:
    work = tempfile.mkdtemp(prefix="varmor-many-")
    names = [f"many-{i}" for i in range(len(many_cgroups))]
    for i, (name, cgroup) in enumerate(zip(names, many_cgroups, strict=True)):
        pathlib.Path(work, f"m{i}").touch()
        tracer.add(name, f"cgroup={cgroup}")
    with pytest.raises(TracerError, match="no free slot"):
        tracer.add("one-too-many", f"cgroup={CGROUP_ROOT}")
    procs = [spawn_in(cgroup, ["cat", f"{work}/m{i}"]) for i, cgroup in enumerate(many_cgroups)]
    assert all(p.wait() == 0 for p in procs)
    for name in names:
        tracer.remove(name)
    real = os.path.realpath(work)
    for i, name in enumerate(names):
        markers = {p for p in files(tracer.of(name)) if p.startswith(real + "/m")}
        assert markers == {f"{real}/m{i}"}, name


def test_app_py_imports_nothing_from_the_tests() -> None:
    tree = ast.parse((ROOT / "app.py").read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert imported and not [m for m in imported + strings if m == "tests" or m.startswith("tests.")]
