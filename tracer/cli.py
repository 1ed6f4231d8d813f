"""``app.py tracer``: trace what selected cgroups, namespaces or process trees do.

Writes schema v1 JSON lines (``generator.events``) on stdout: first occurrences of execs,
file accesses, capabilities, sockets, connect/bind, ptrace, signals and mounts as they
happen, and per target a ``syscalls`` event and a ``stats`` event (loss counters) on
``flush``, on ``remove`` and at exit. Log lines go to stderr. Run it as a supervised
subprocess: targets come and go through commands on stdin, one per line:

    add NAME cgroup=PATH [mntns=PID] [pid=PID]   start tracing a target (acknowledged by a
                                                 ``stats`` event for NAME)
    remove NAME                                  emit NAME's syscalls and stats, stop tracing it
    flush                                        emit every target's syscalls and stats
    stop                                         flush and exit (so do EOF, SIGINT, SIGTERM)

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
import sys
import time
from typing import Any

from tracer import program

log = logging.getLogger("tracer")


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
    parser.add_argument("--ebpf", action="store_true", help="print the BPF program and exit")


def parse_add(words: list[str]) -> tuple[str, dict[str, Any]]:
    """``add NAME key=value...`` → (NAME, keyword arguments of ``Tracer.add``)."""
    if len(words) < 3:
        raise ValueError("usage: add NAME cgroup=PATH|pid=PID|mntns=PID ...")
    kwargs: dict[str, Any] = {}
    for word in words[2:]:
        key, _, value = word.partition("=")
        if key == "cgroup":
            kwargs["cgroup"] = value
        elif key in ("pid", "mntns"):
            kwargs["pid" if key == "pid" else "mntns_pid"] = int(value)
        else:
            raise ValueError(f"unknown key {key!r}")
    return words[1], kwargs


def command(tracer: Any, line: str) -> bool:
    """Run one stdin command; False when the tracer should stop."""
    from tracer.tracing import TargetError

    words = line.split()
    if not words:
        return True
    try:
        if words[0] == "add":
            name, kwargs = parse_add(words)
            tracer.write(tracer.stats(tracer.add(name, **kwargs)))
        elif words[0] == "remove" and len(words) == 2:
            tracer.remove(words[1])
        elif words[0] == "flush":
            tracer.flush()
        elif words[0] == "stop":
            return False
        else:
            log.error("Ignored unknown command %r", line.strip())
    except (TargetError, ValueError, OSError) as exc:
        log.error("Failed command %r: %s", line.strip(), exc)
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
    """Poll the ring buffer and stdin until stop, EOF, a signal or the duration."""
    deadline = time.monotonic() + args.duration if args.duration else None
    pending = b""
    fd = -1 if args.no_stdin else sys.stdin.fileno()
    while not stopping and (deadline is None or time.monotonic() < deadline):
        tracer.poll(50)
        if fd < 0 or not select.select([fd], [], [], 0)[0]:
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
                return


def run(args: argparse.Namespace) -> int:
    flags = program.cflags()
    if args.ebpf:
        print(program.source_text(flags))
        return 0
    from tracer.tracing import Tracer

    started = time.monotonic()
    bpf = program.load(flags)
    tracer = Tracer(bpf, sys.stdout, log.info)
    log.info("Attached probes in %.2fs", time.monotonic() - started)
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda num, _frame: stopping.append(num))
    try:
        initial_targets(tracer, args)
        loop(tracer, args, stopping)
        tracer.flush()
        tracer.flush_output()
    except BrokenPipeError:
        return 1
    finally:
        bpf.cleanup()
    return 0
