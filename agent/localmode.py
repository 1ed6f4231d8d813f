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
import base64
import collections
import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
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


@dataclasses.dataclass
class Outputs:
    """What a modeling run writes (file suffix → text) and what the summary must say."""

    files: dict[str, str]
    warnings: list[str]
    errors: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)


def build_outputs(name: str, events: Sequence[Mapping[str, Any]]) -> Outputs:
    """The ArmorProfileModel, the AppArmor profile (checked by apparmor_parser) and the seccomp profile."""
    from generator.aggregate import model_from_events
    from generator.apm import armor_profile_model, incompleteness
    from generator.checking import check_apparmor
    from generator.codec import to_data
    from generator.render import RenderError, render_seccomp, renderable_files

    model = model_from_events(name, events)
    out = Outputs({}, [], [])
    if (warning := incompleteness(model)) is not None:
        out.warnings.append(warning)
    try:
        document = armor_profile_model(model, name)
    except RenderError as error:
        out.errors.append(f"no AppArmor profile: {error}")
        document = {"kind": "ArmorProfileModel", "metadata": {"name": name}, "data": to_data(model),
                    "status": {"ready": False, "message": str(error)}}
    else:
        apparmor = base64.b64decode(document["data"]["profile"]["content"]).decode("utf-8", "surrogateescape")
        out.files[".apparmor"] = apparmor
        check = check_apparmor(apparmor)
        if not check.ok:
            out.errors.append(f"apparmor_parser rejected the generated profile: {check.message}")
        elif not check.checked:
            out.warnings.append(check.message)
        else:
            out.notes.append("the AppArmor profile is accepted by apparmor_parser -Q -K")
        kept, recorded = len(renderable_files(model)), len(renderable_files(model, limit=10**9))
        if kept < recorded:
            out.warnings.append(f"{recorded} file rules were coalesced by directory into {kept}")
    seccomp = render_seccomp(model)
    if seccomp:
        out.files[".seccomp.json"] = seccomp + "\n"
    else:
        out.warnings.append("no syscall was recorded: no seccomp profile written")
    out.files = {".model.json": json.dumps(document, indent=2, sort_keys=True) + "\n", **out.files}
    return out


def write_outputs(out: str, name: str, outputs: Mapping[str, str]) -> list[str]:
    os.makedirs(out, exist_ok=True)
    written = []
    for suffix, text in outputs.items():
        path = os.path.join(out, name + suffix)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
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


class UsageError(Exception):
    """Bad input: one ``error:`` line, exit status 2, before any work starts."""


def default_name(cmd: Sequence[str], pid: int) -> str:
    if not cmd:
        return f"pid-{pid}" if pid else "cgroup"
    base = re.sub(r"[^a-z0-9._-]+", "-", os.path.basename(cmd[0]).lower()).strip("-._")
    return base[:63] or "command"


def validate(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The profile name and the command, or ``UsageError`` for the first bad argument."""
    from generator.patterns import check_name

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else list(args.cmd)
    if not cmd and not (args.cgroup or args.pid):
        raise UsageError("give a command after --, or --cgroup PATH / --pid PID")
    if cmd and (args.cgroup or args.pid):
        raise UsageError("give either a command after -- or --cgroup/--pid, not both")
    if not math.isfinite(args.duration) or args.duration < 0:
        raise UsageError(f"--duration {args.duration}: must be a number of seconds >= 0")
    name = args.name or default_name(cmd, args.pid)
    if (reason := check_name(name)) is not None:
        raise UsageError(f"--name {name!r}: {reason}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: not a directory")
    parent = args.out if os.path.isdir(args.out) else os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise UsageError(f"--out {args.out}: cannot write there")
    if args.pid and (args.pid < 0 or not os.path.exists(f"/proc/{args.pid}")):
        raise UsageError(f"--pid {args.pid}: no such process")
    if args.cgroup and not os.path.exists(os.path.join(args.cgroup, "cgroup.procs")):
        raise UsageError(f"--cgroup {args.cgroup}: not a cgroup-v2 directory")
    if cmd and shutil.which(cmd[0]) is None:
        raise UsageError(f"{cmd[0]}: command not found")
    if os.geteuid() != 0:
        raise UsageError("model needs root (it loads an eBPF program)")
    return name, cmd


def summarize(name: str, status: int, seconds: float, events: Sequence[Mapping[str, Any]],
              outputs: Outputs, written: list[str]) -> None:
    found, lost = counts(events), losses(events)
    say(f"Modeled {name} (exit status {status}) in {seconds:.1f}s: "
        + ", ".join(f"{k}={v}" for k, v in sorted(found.items())))
    say("Losses: " + ", ".join(f"{k}={v}" for k, v in lost.items()))
    for note in outputs.notes:
        say(note[0].upper() + note[1:])
    for warning in outputs.warnings:
        say(f"warning: {warning}")
    for path in written:
        say(f"Wrote {path}")
    for error in outputs.errors:
        say(f"error: {error}")


def run(args: argparse.Namespace) -> int:
    try:
        name, cmd = validate(args)
    except UsageError as error:
        say(f"error: {error}")
        return 2
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
    outputs = build_outputs(name, events)
    written = write_outputs(args.out, name, outputs.files)
    summarize(name, status, time.monotonic() - started, events, outputs, written)
    return 1 if outputs.errors else 0
