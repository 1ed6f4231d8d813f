"""``app.py model``: model one command (or running work) locally, without a cluster.

Runs CMD in a fresh cgroup-v2 child, traces it and everything that joins that cgroup with
the real tracer (``app.py tracer`` as a supervised subprocess) until CMD exits or the duration
ends, then aggregates the events with the generator and writes ``DIR/NAME.model.json`` (an
ArmorProfileModel), ``DIR/NAME.apparmor`` and ``DIR/NAME.seccomp.json``. ``--cgroup PATH`` or
``--pid PID`` attach to work that is already running instead. Progress and a summary go to
stderr.

examples:
    app.py model -- cat /etc/shadow
    app.py model --name web --out profiles --duration 30 -- python3 -m http.server
    app.py model --cgroup /sys/fs/cgroup/unified/job42 --duration 60
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tracer import client as tracer_client

CGROUP_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
Event = dict[str, Any]
CLASSES = ("exec", "file", "capability", "socket", "connect", "bind", "ptrace", "signal", "mount", "umount")


class TracerClient(tracer_client.TracerClient):
    """The tracer client, keeping every event: a local model needs all of them."""

    def __init__(self) -> None:
        self.recorded = tracer_client.Recorder()
        super().__init__(self.recorded)

    def of(self, target: str) -> list[Event]:
        return self.recorded.of(target)


def cgroup_root() -> str:
    for root in CGROUP_ROOTS:
        if os.path.exists(os.path.join(root, "cgroup.subtree_control")):
            return root
    raise RuntimeError("no cgroup v2 hierarchy at " + " or ".join(CGROUP_ROOTS))


def fresh_cgroup(name: str) -> str:
    path = os.path.join(cgroup_root(), f"varmor-model-{name}-{uuid.uuid4().hex[:6]}")
    os.makedirs(path)
    return path


def remove_cgroup(path: str) -> None:
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def spawn_gated(cmd: Sequence[str], cgroup: str, **popen: Any) -> tuple[subprocess.Popen[bytes], int]:
    """Start CMD inside ``cgroup``, held by a shell before its exec until the returned fd closes.

    The shell is in the cgroup before the tracer is told about it, so CMD counts as the
    target's own process tree; only its final ``exec`` of CMD is traced.
    """
    gate_r, gate_w = os.pipe()

    def join() -> None:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    script = f'read _ <&{gate_r}; exec {gate_r}<&-; exec "$@"'
    proc = subprocess.Popen(["/bin/sh", "-c", script, "sh", *cmd], preexec_fn=join,
                            pass_fds=(gate_r,), **popen)
    os.close(gate_r)
    return proc, gate_w


def run_traced(client: TracerClient, name: str, cmd: Sequence[str], duration: float,
               progress: Callable[[], None], **popen: Any) -> int:
    """Run CMD in a fresh cgroup traced as ``name``; returns its exit status (-1: stopped)."""
    cgroup = fresh_cgroup(name)
    try:
        proc, gate = spawn_gated(cmd, cgroup, **popen)
        client.command(f"add {name} cgroup={cgroup}")
        os.close(gate)
        started = time.monotonic()
        status = wait(lambda: proc.poll(), duration, progress)
        left = duration - (time.monotonic() - started)
        if status is not None and duration and left > 0:  # daemons CMD started run on until the end
            wait(lambda: None if cgroup_busy(cgroup) else 0, left, progress)
        if status is None:
            proc.terminate()
            proc.wait()
        client.command(f"remove {name}")
        return -1 if status is None else status
    finally:
        kill_cgroup(cgroup)
        remove_cgroup(cgroup)


def cgroup_busy(path: str) -> bool:
    with open(os.path.join(path, "cgroup.procs")) as f:
        return bool(f.read().strip())


def kill_cgroup(path: str) -> None:
    """Kill whatever CMD left running in its cgroup (cgroup.kill, Linux 5.14)."""
    with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.kill"), "w") as f:
        f.write("1")


def wait(done: Callable[[], int | None], duration: float, progress: Callable[[], None]) -> int | None:
    deadline = time.monotonic() + duration if duration else None
    last = time.monotonic()
    while (status := done()) is None:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
        if time.monotonic() - last >= 1.0:
            progress()
            last = time.monotonic()
    return status


def counts(events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    found = collections.Counter(str(e["kind"]) for e in events if e["kind"] in CLASSES)
    found["syscalls"] = len({name for e in events if e["kind"] == "syscalls" for name in e["names"]})
    return dict(found)


def losses(events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    stats = [e for e in events if e["kind"] == "stats"]
    last = stats[-1] if stats else {}
    return {k: int(last.get(k, 0)) for k in ("lost_events", "map_full", "paths_truncated")}


def build_outputs(name: str, events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """File suffix → text: the ArmorProfileModel, the AppArmor profile and the seccomp profile."""
    from generator.aggregate import model_from_events
    from generator.apm import armor_profile_model
    from generator.render import render_apparmor, render_seccomp

    model = model_from_events(name, events)
    return {
        ".model.json": json.dumps(armor_profile_model(model, name), indent=2, sort_keys=True) + "\n",
        ".apparmor": render_apparmor(model, name),
        ".seccomp.json": render_seccomp(model) + "\n",
    }


def write_outputs(out: str, name: str, outputs: Mapping[str, str]) -> list[str]:
    os.makedirs(out, exist_ok=True)
    written = []
    for suffix, text in outputs.items():
        path = os.path.join(out, name + suffix)
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("--duration", type=float, default=0.0, help="stop after SECONDS (0: until CMD exits)")
    parser.add_argument("--name", default="", help="profile name (default: the command's base name)")
    parser.add_argument("--out", default=".", metavar="DIR", help="output directory (default: .)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--cgroup", default="", metavar="PATH", help="attach to a running cgroup-v2")
    source.add_argument("--pid", type=int, default=0, help="attach to a running process tree")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def attach(client: TracerClient, name: str, args: argparse.Namespace, progress: Callable[[], None]) -> None:
    spec = f"cgroup={args.cgroup}" if args.cgroup else f"pid={args.pid}"
    client.command(f"add {name} {spec}")
    alive: Callable[[], int | None] = (lambda: None) if args.cgroup else (
        lambda: None if os.path.exists(f"/proc/{args.pid}") else 0)
    with contextlib.suppress(KeyboardInterrupt):
        wait(alive, args.duration, progress)
    client.command(f"remove {name}")


def run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else list(args.cmd)
    if not cmd and not (args.cgroup or args.pid):
        say("model: give a command after --, or --cgroup PATH / --pid PID")
        return 2
    name = args.name or (os.path.basename(cmd[0]) if cmd else f"pid-{args.pid}" if args.pid else "cgroup")
    client = TracerClient()
    started = time.monotonic()

    def progress() -> None:
        found = counts(client.of(name))
        say(f"Modeling {name}: " + ", ".join(f"{v} {k}" for k, v in sorted(found.items()) if v)
            + f" ({time.monotonic() - started:.0f}s)")

    status = 0
    try:
        say(f"Starting the tracer for {name}")
        if cmd:
            status = run_traced(client, name, cmd, args.duration, progress)
        else:
            attach(client, name, args, progress)
    finally:
        client.close()
    events = client.of(name)
    written = write_outputs(args.out, name, build_outputs(name, events))
    found, lost = counts(events), losses(events)
    say(f"Modeled {name} (exit status {status}) in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{k}={v}" for k, v in sorted(found.items())))
    say("Losses: " + ", ".join(f"{k}={v}" for k, v in lost.items()))
    for path in written:
        say(f"Wrote {path}")
    return 0
