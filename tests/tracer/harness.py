"""Drive the real tracer (``app.py tracer``) as a subprocess and run workloads in cgroups.

Tests run as root with BPF, like CI. ``TracerProcess`` starts the tracer once, collects its
JSON lines on a reader thread and sends stdin commands; ``Container`` is a fresh cgroup-v2
child with an "init" process already inside when it becomes a target (its own process tree),
so tests can also start processes that join later, like ``kubectl exec``.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.localmode import remove_cgroup
from tracer.client import Recorder, TracerClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
CGROUP_ROOT = "/sys/fs/cgroup/unified"
Event = dict[str, Any]


class TracerProcess(TracerClient):
    """The product's tracer client keeping every event, with the waits tests need."""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        self.recorded = Recorder()
        super().__init__(self.recorded, extra_args)

    @property
    def events(self) -> list[Event]:
        return self.recorded.all()

    def of(self, target: str) -> list[Event]:
        return self.recorded.of(target)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        deadline = time.monotonic() + timeout
        with self.recorded.cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("no matching event; tracer log:\n" + "\n".join(self.log))
                self.recorded.cond.wait(left)

    def remove(self, name: str) -> list[Event]:  # type: ignore[override]
        """Stop tracing ``name``; returns all its events (the last ones: syscalls, stats)."""
        super().remove(name)
        return self.of(name)

    def stop(self) -> None:
        self.close()


class Container:
    """A fresh cgroup with a held "init" shell inside; ``start()`` runs its script."""

    def __init__(self, script: str, name: str = "") -> None:
        self.name = name or f"ctr-{uuid.uuid4().hex[:8]}"
        self.released = False
        self.cgroup = os.path.join(CGROUP_ROOT, f"varmor-test-{self.name}")
        os.makedirs(self.cgroup)
        self.init = subprocess.Popen(
            ["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs; read go; exec sh -c "$0"', script],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while str(self.init.pid) not in pathlib.Path(self.cgroup, "cgroup.procs").read_text().split():
            assert time.monotonic() < deadline, "init did not join its cgroup"
            time.sleep(0.01)

    def release(self) -> None:
        """Let the init run its script without waiting for it (to join processes meanwhile)."""
        assert self.init.stdin is not None
        self.init.stdin.write("go\n")
        self.init.stdin.flush()
        self.released = True

    def run(self, timeout: float = 60) -> str:
        """Release the init (unless done) and wait for the script; returns its output."""
        out, _ = self.init.communicate(None if self.released else "go\n", timeout=timeout)
        return out

    def join(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in a process that joins the cgroup later (an exec session)."""
        return subprocess.run(["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs; exec sh -c "$0"', command],
                              capture_output=True, text=True, timeout=60)

    def remove(self) -> None:
        if self.init.poll() is None:
            self.init.kill()
            self.init.wait()
        remove_cgroup(self.cgroup)


def files(events: list[Event]) -> dict[str, set[str]]:
    """path -> access classes seen, over every file event."""
    found: dict[str, set[str]] = {}
    for e in events:
        if e["kind"] == "file":
            found.setdefault(e["path"], set()).update(e["access"])
    return found


def kinds(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["kind"] == kind]


def traced(tracer: TracerProcess, script: str) -> list[Event]:
    """Run ``script`` in a fresh targeted container; the events the tracer recorded for it."""
    ctr = Container(script)
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.run()
        return tracer.remove(ctr.name)
    finally:
        ctr.remove()
