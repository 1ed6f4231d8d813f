"""``app.py tracer``: trace what selected cgroups, namespaces or process trees do.

Writes schema v1 JSON lines (``generator.events``) on stdout: first occurrences of execs,
file accesses, capabilities, sockets, connect/bind, ptrace, signals and mounts as they
happen, and per target ``syscalls`` events and a ``stats`` event (the target's own loss
counters) on ``flush``, on ``remove`` and at exit. Log lines go to stderr. Run it as a
supervised subprocess (``tracer.client``): targets come and go through commands on stdin, one
per line, while events flow; a process in a child cgroup of a target belongs to the target.

    add NAME cgroup=PATH [mntns=PID] [pid=PID]   start tracing a target
    remove NAME                                  emit NAME's syscalls and stats, stop tracing it
    flush                                        emit every target's syscalls and stats
    stats                                        report the session's loss counters
    stop                                         flush and exit (so do EOF, SIGINT, SIGTERM)

Every command is answered at once, in order, after the events it caused, by one reply line:
``{"v": 1, "kind": "reply", "ok": true, "command": "add", "target": NAME}``, or ``"ok": false``
with an ``"error"``. Replies to ``flush``, ``stats`` and ``stop`` carry the session's counters
(``"session"``): each kernel counter once, however many targets there are.

examples:
    app.py tracer --cgroup web=/sys/fs/cgroup/unified/web --duration 10 --no-stdin
    app.py tracer --pid shell=1234               # a process tree (local mode)
    echo 'add db cgroup=kubepods/pod1/ctr2' | app.py tracer
    app.py tracer --ebpf                         # print the BPF program and exit
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from tracer import program

log = logging.getLogger("tracer")
BUSY_WAIT, IDLE_WAIT = 0.05, 0.25  # seconds between ring-buffer drains while records come / none came


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("--cgroup", action="append", default=[], metavar="NAME=PATH",
                        help="trace cgroup-v2 PATH as target NAME (repeatable)")
    parser.add_argument("--pid", action="append", default=[], metavar="NAME=PID",
                        help="trace process PID and its descendants as target NAME (repeatable)")
    parser.add_argument("--mntns", action="append", default=[], metavar="NAME=PID",
                        help="trace the mount namespace of PID as NAME, until PID exits (repeatable)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after SECONDS (0: no limit)")
    parser.add_argument("--no-stdin", action="store_true",
                        help="ignore stdin (no commands, EOF does not stop)")
    parser.add_argument("--ring-mib", type=ring_size, default=program.RING_MIB, metavar="MIB",
                        help=f"ring buffer size, a power of two (default {program.RING_MIB})")
    parser.add_argument("--ebpf", action="store_true", help="print the BPF program and exit")


def ring_size(text: str) -> int:
    value = int(text)
    if value < 1 or value & (value - 1) or value > 1024:
        raise argparse.ArgumentTypeError(f"{text} is not a power of two from 1 to 1024")
    return value


def parse_add(words: list[str]) -> tuple[str, dict[str, Any]]:
    """``add NAME key=value...`` → (NAME, keyword arguments of ``Tracer.add``)."""
    if len(words) < 3:
        raise ValueError("usage: add NAME cgroup=PATH|pid=PID|mntns=PID ...")
    kwargs: dict[str, Any] = {}
    for word in words[2:]:
        key, _, value = word.partition("=")
        if key == "cgroup":
            kwargs["cgroup"] = value
        elif key in ("pid", "mntns") and value.isdigit():
            kwargs["pid" if key == "pid" else "mntns_pid"] = int(value)
        else:
            raise ValueError(f"bad {word!r}: expected cgroup=PATH, pid=PID or mntns=PID")
    return words[1], kwargs


def reply(tracer: Any, words: list[str], error: str = "", **extra: Any) -> None:
    answer: dict[str, Any] = {"v": 1, "kind": "reply", "ok": not error, "command": words[0] if words else ""}
    if len(words) > 1:
        answer["target"] = words[1]
    tracer.write({**answer, "error": error} if error else {**answer, **extra})


def command(tracer: Any, line: str) -> bool:
    """Run one stdin command and answer it; False when the tracer should stop."""
    from tracer.tracing import TargetError

    words = line.split()
    if not words:
        return True
    try:
        if words[0] == "add":
            name, kwargs = parse_add(words)
            tracer.add(name, **kwargs)
        elif words[0] == "remove" and len(words) == 2:
            tracer.remove(words[1])
        elif words[0] == "flush" and len(words) == 1:
            tracer.flush()
            reply(tracer, words, session=tracer.session_stats())
            return True
        elif words[0] in ("stop", "stats") and len(words) == 1:
            if words[0] == "stop":
                tracer.flush()
            reply(tracer, words, session=tracer.session_stats())
            return words[0] != "stop"
        else:
            raise ValueError("unknown command (add, remove, flush, stats, stop)")
    except (TargetError, ValueError, OSError) as exc:
        log.error("Failed command %r: %s", line.strip(), exc)
        reply(tracer, words, str(exc))
        return True
    reply(tracer, words)
    return True


def initial_targets(tracer: Any, args: argparse.Namespace) -> None:
    for spec in args.cgroup:
        name, _, path = spec.partition("=")
        tracer.add(name, cgroup=path)
    for spec in args.pid:
        name, _, pid = spec.partition("=")
        tracer.add(name, pid=int(pid))
    for spec in args.mntns:
        name, _, pid = spec.partition("=")
        tracer.add(name, mntns_pid=int(pid))


def loop(tracer: Any, args: argparse.Namespace, stopping: list[int]) -> None:
    """Wait for the ring buffer's wake-up or stdin, drain the ring buffer, run the commands there
    are; until stop, EOF, a signal or the duration. Most records wake no one (tracer.c): the wait
    is BUSY_WAIT while records come, IDLE_WAIT once a drain found none (a wake-up costs the tracer
    CPU time that a quiet node should not spend)."""
    deadline = time.monotonic() + args.duration if args.duration else None
    pending = b""
    fd = -1 if args.no_stdin else sys.stdin.fileno()
    wakeup = tracer.wakeup_fd()
    watched = [f for f in (fd, wakeup) if f >= 0]
    wait = BUSY_WAIT
    while not stopping and (deadline is None or time.monotonic() < deadline):
        if wakeup < 0:
            tracer.poll(int(BUSY_WAIT * 1000))
            ready = select.select([fd], [], [], 0)[0] if fd >= 0 else []
        else:
            ready = select.select(watched, [], [], wait)[0]
            wait = BUSY_WAIT if tracer.drain() else IDLE_WAIT
        if fd < 0 or fd not in ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            going = command(tracer, line.decode())
            tracer.flush_output()
            if not going:
                stopping.append(0)
                return


def run(args: argparse.Namespace) -> int:
    flags = program.cflags(ring_mib=args.ring_mib)
    if args.ebpf:
        print(program.source_text(flags))
        return 0
    from tracer.tracing import Tracer

    started = time.monotonic()
    try:
        bpf, syscall_names = program.load(flags)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        log.error("Failed to load the BPF program: %s", exc)
        return 1
    tracer = Tracer(bpf, sys.stdout, log.info, syscall_names)
    log.info("Attached probes in %.2fs", time.monotonic() - started)
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda num, _frame: stopping.append(num))
    try:
        initial_targets(tracer, args)
        loop(tracer, args, stopping)
        if 0 not in stopping:  # not stopped by `stop`, which flushed and answered
            tracer.flush()
        tracer.flush_output()
        log.info("Session counters: %s", " ".join(f"{k}={v}" for k, v in tracer.session_stats().items()))
    except BrokenPipeError:
        return 1
    finally:
        bpf.cleanup()
    return 0
