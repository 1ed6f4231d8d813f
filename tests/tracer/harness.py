"""Drive the real tracer (``app.py tracer``) as a subprocess and run workloads in cgroups.

Tests run as root with BPF, like CI. ``TracerProcess`` starts the tracer once, collects its
JSON lines on a reader thread and sends stdin commands; ``Container`` is a fresh cgroup-v2
child with an "init" process already inside when it becomes a target (its own process tree),
so tests can also start processes that join later, like ``kubectl exec``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
CGROUP_ROOT = "/sys/fs/cgroup/unified"
Event = dict[str, Any]


class TracerProcess:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.cond = threading.Condition()
        self.stderr = open(f"/tmp/varmor-test-tracer-{os.getpid()}.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "tracer"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.events.append(json.loads(line))
                self.cond.notify_all()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    self.stderr.seek(0)
                    raise AssertionError(f"no matching event; tracer log:\n{self.stderr.read()[-3000:]}")
                self.cond.wait(left)

    def of(self, target: str) -> list[Event]:
        with self.cond:
            return [e for e in self.events if e.get("target") == target]

    def add(self, name: str, spec: str) -> None:
        count = sum(1 for e in self.of(name) if e["kind"] == "stats")
        self.send(f"add {name} {spec}")
        self.wait_for(lambda e: e["kind"] == "stats" and e["target"] == name
                      and sum(1 for x in self.of(name) if x["kind"] == "stats") > count)

    def remove(self, name: str) -> list[Event]:
        """Stop tracing ``name``; returns all its events (the last two: syscalls, stats)."""
        count = sum(1 for e in self.of(name) if e["kind"] == "stats")
        self.send(f"remove {name}")
        self.wait_for(lambda e: e["kind"] == "stats" and e["target"] == name
                      and sum(1 for x in self.of(name) if x["kind"] == "stats") > count)
        return self.of(name)

    def stop(self) -> None:
        self.send("stop")
        self.proc.wait(timeout=30)
        self.stderr.close()


class Container:
    """A fresh cgroup with a held "init" shell inside; ``start()`` runs its script."""

    def __init__(self, script: str, name: str = "") -> None:
        self.name = name or f"ctr-{uuid.uuid4().hex[:8]}"
        self.cgroup = os.path.join(CGROUP_ROOT, f"varmor-test-{self.name}")
        os.makedirs(self.cgroup)
        self.init = subprocess.Popen(
            ["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs; read go; exec sh -c "$0"', script],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while str(self.init.pid) not in pathlib.Path(self.cgroup, "cgroup.procs").read_text().split():
            assert time.monotonic() < deadline, "init did not join its cgroup"
            time.sleep(0.01)

    def run(self, timeout: float = 60) -> str:
        """Release the init and wait for the script; returns its output."""
        out, _ = self.init.communicate("go\n", timeout=timeout)
        return out

    def join(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in a process that joins the cgroup later (an exec session)."""
        return subprocess.run(["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs; exec sh -c "$0"', command],
                              capture_output=True, text=True, timeout=60)

    def remove(self) -> None:
        if self.init.poll() is None:
            self.init.kill()
            self.init.wait()
        for _ in range(100):
            try:
                os.rmdir(self.cgroup)
                return
            except OSError:
                time.sleep(0.05)


def files(events: list[Event]) -> dict[str, set[str]]:
    """path -> access classes seen, over every file event."""
    found: dict[str, set[str]] = {}
    for e in events:
        if e["kind"] == "file":
            found.setdefault(e["path"], set()).update(e["access"])
    return found


def kinds(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["kind"] == kind]
