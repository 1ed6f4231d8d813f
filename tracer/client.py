"""The tracer client: ``app.py tracer`` as a supervised subprocess, driven through its stdin.

Every consumer of the tracer (``app.py model``, ``verify --what-if``, the demo, the node agent,
the benchmarks) uses this client. Events stream to a callback as they arrive, on a reader
thread; the client keeps none of them, so its memory does not grow with the trace
(:class:`EventQueue` turns the callback into a bounded iterator, :class:`Recorder` keeps one
target's events for callers that model it). Commands return when the tracer answers them: the
answer comes after every event the command caused (``remove`` returns once the target's final
``syscalls`` and ``stats`` events went to the callback), and a refused command raises
:class:`TracerError` with the tracer's message at once. Targets are added and removed while
events flow. Stop: ``stop`` command, then SIGINT, then SIGKILL.
"""

from __future__ import annotations

import collections
import json
import pathlib
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Event = dict[str, Any]
Sink = Callable[[Event], None]
COMMAND_TIMEOUT = 60.0


class TracerError(RuntimeError):
    """The tracer refused a command, or died."""


def tracer_argv(extra: Sequence[str] = ()) -> list[str]:
    """The command line of the tracer sub-command of this installation."""
    app = pathlib.Path(__file__).resolve().parents[1] / "app.py"
    return [sys.executable, str(app), "tracer", *extra]


class TracerClient:
    """One tracer subprocess; ``on_event`` receives every event (not replies), in order."""

    def __init__(self, on_event: Sink = lambda _e: None, extra_args: Sequence[str] = ()) -> None:
        self.on_event = on_event
        self.proc = subprocess.Popen(tracer_argv(extra_args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: collections.deque[str] = collections.deque(maxlen=40)
        self._pending: collections.deque[queue.SimpleQueue[Event]] = collections.deque()
        self._send = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            if event.get("kind") == "reply":
                self._pending.popleft().put(event)
            else:
                self.on_event(event)
        while self._pending:  # the tracer died: nobody will answer
            self._pending.popleft().put({"ok": False, "error": "the tracer exited: " + self.last_errors()})

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip())

    def last_errors(self) -> str:
        useful = [e for e in self.log if "rror" in e or "Traceback" in e or " E " in e]
        return " | ".join(useful[-5:] or list(self.log)[-5:])

    def command(self, line: str, timeout: float = COMMAND_TIMEOUT) -> Event:
        """Send one command line; its reply (``ok`` true), or TracerError with the tracer's error."""
        answer: queue.SimpleQueue[Event] = queue.SimpleQueue()
        assert self.proc.stdin is not None
        with self._send:
            if self.proc.poll() is not None:
                raise TracerError("the tracer exited: " + self.last_errors())
            self._pending.append(answer)
            try:
                self.proc.stdin.write(line.strip() + "\n")
                self.proc.stdin.flush()
            except BrokenPipeError as exc:
                raise TracerError("the tracer exited: " + self.last_errors()) from exc
        try:
            reply = answer.get(timeout=timeout)
        except queue.Empty as exc:
            raise TracerError(f"no answer to {line.strip()!r} in {timeout:.0f}s") from exc
        if not reply.get("ok"):
            raise TracerError(f"{line.strip()}: {reply.get('error', 'refused')}")
        return reply

    def add(self, name: str, spec: str) -> None:
        """Trace ``name``: ``spec`` is ``cgroup=PATH``, ``pid=PID`` or ``mntns=PID``."""
        self.command(f"add {name} {spec}")

    def remove(self, name: str) -> None:
        """Stop tracing ``name``; its final events went to ``on_event`` when this returns."""
        self.command(f"remove {name}")

    def flush(self) -> dict[str, int]:
        """Every target's syscalls and stats so far; returns the session's counters."""
        return dict(self.command("flush")["session"])

    def session_stats(self) -> dict[str, int]:
        return dict(self.command("stats")["session"])

    def close(self, timeout: float = 30.0) -> None:
        """``stop`` (the tracer flushes), then SIGINT, then SIGKILL; waits for the last event."""
        if self.proc.poll() is None:
            try:
                self.command("stop", timeout=timeout)
            except TracerError:
                self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout)


class EventQueue:
    """A bounded iterator over events: a sink that blocks the reader when ``size`` events wait
    (the tracer then counts what its ring buffer cannot hold), and ``iter()`` to consume them."""

    def __init__(self, size: int = 10_000) -> None:
        self._queue: queue.Queue[Event | None] = queue.Queue(size)

    def __call__(self, event: Event) -> None:
        self._queue.put(event)

    def close(self) -> None:
        self._queue.put(None)

    def __iter__(self) -> Iterator[Event]:
        while (event := self._queue.get()) is not None:
            yield event


class Recorder:
    """A sink that keeps the events of chosen targets (a model needs all of them)."""

    def __init__(self, targets: Sequence[str] = ()) -> None:
        self.targets = set(targets)
        self.everything = not targets
        self._events: dict[str, list[Event]] = collections.defaultdict(list)
        self.cond = threading.Condition()

    def keep(self, target: str) -> None:
        with self.cond:
            self.targets.add(target)

    def __call__(self, event: Event) -> None:
        target = str(event.get("target", ""))
        if self.everything or target in self.targets:
            with self.cond:
                self._events[target].append(event)
                self.cond.notify_all()

    def of(self, target: str) -> list[Event]:
        with self.cond:
            return list(self._events.get(target, ()))

    def all(self) -> list[Event]:
        """Every kept event, target by target."""
        with self.cond:
            return [event for events in self._events.values() for event in events]

    def forget(self, target: str) -> list[Event]:
        """The target's events, no longer kept."""
        with self.cond:
            self.targets.discard(target)
            return self._events.pop(target, [])
