"""The node agent's audit-log source: follow the audit log, turn modeling records into events.

``--auditLogPaths=A|B`` names candidate logs (auditd's ``audit.log``, the kernel's ``kern.log``).
``AuditSource`` follows the first of them that exists, like ``tail -F``: it starts at the end (only
new records), reads complete lines, reopens the path after a rename-and-create rotation, starts
over after a copytruncate, picks up a path that appears later, and moves to an earlier path of the
list when that one appears. A path that appears is read from its start; a path that was already
there when we looked before is read from its end.

Each line goes through ``line_result`` (pure, over ``generator.auditlogs``, upstream spec §4.5/§4.9):
AppArmor ``ALLOWED`` records belong to the modeling profile ``profiles()`` names (``profile == P``
or ``P//...``); seccomp records belong to ``target_of_pid(pid)`` (the tracer target of a recorded
container), else to the profile their ``subj`` names. Their schema-v1 events go to ``on_event``
with ``"sources": ["auditlog"]``, so they merge with the tracer's events in one aggregate. Records
that could not be used are counted (``counts``); a target's malformed records and unresolved
syscall numbers also go out as its cumulative ``stats`` event, whose ``target`` is
``auditlog:<target>`` so that it never replaces the tracer's own stats of the same target in the
aggregator (``routing_target`` gives the target to route it by).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from generator.auditlogs import (
    AuditCounts,
    events_from_audit_lines,
    normalize_apparmor_line,
    parse_apparmor_record,
    parse_profile_name,
    parse_seccomp_record,
    scan_fields,
)
from generator.events import SCHEMA_VERSION

log = logging.getLogger(__name__)
Event = dict[str, Any]
Outcome = Literal["used", "ignored", "malformed", "unattributed"]
SOURCE = "auditlog"
STATS_PREFIX = SOURCE + ":"
MAX_LINE = 64 * 1024  # the kernel's audit records are under 9 KiB
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LineResult:
    """What one log line became: its events, and whom they (or its malformed record) belong to."""

    outcome: Outcome
    target: str = ""  # "" when nobody could be named
    events: tuple[Event, ...] = ()
    unresolved_syscalls: int = 0
    of_profile: bool = False  # ``target`` is a profile name (not a tracer target)


@dataclass(slots=True)
class SourceCounts:
    """Running tallies of one ``AuditSource`` since ``start()``."""

    lines: int = 0
    used: int = 0  # records attributed and turned into events
    ignored: int = 0  # other profiles, non-ALLOWED modes, lines that are not audit records
    malformed: int = 0  # audit records that did not parse or broke a rule; over-long or cut lines
    unattributed: int = 0  # seccomp records of a pid no recorded container (or profile) owns
    unresolved_syscalls: int = 0  # syscall numbers unknown for their architecture
    reopened: int = 0  # rotations, truncations and switches to another path of the list
    polls: int = 0  # passes finished: every event of the lines counted before one has gone out


def owning_profile(record_profile: str, profiles: Collection[str]) -> str | None:
    """The profile of ``profiles`` a record's ``profile=`` belongs to: ``P`` itself or ``P//...``."""
    name = record_profile.split("//", 1)[0]
    return name if name and name in profiles else None


def line_result(line: str, profiles: Collection[str],
                target_of_pid: Callable[[int], str | None]) -> LineResult:
    """Route one audit-log line to its owner and turn it into events (§4.5, §4.9)."""
    if "type=1400" in line or "type=AVC" in line:
        return _apparmor(line, profiles)
    if "type=1326" in line or "type=SECCOMP" in line:
        return _seccomp(line, profiles, target_of_pid)
    return LineResult("ignored")


def _apparmor(line: str, profiles: Collection[str]) -> LineResult:
    record = parse_apparmor_record(line)
    if record is not None:
        owner = owning_profile(record.profile, profiles)
    else:  # cut short or broken: still counted for its profile when that can be read
        owner = owning_profile(scan_fields(normalize_apparmor_line(line)).get("profile", ""), profiles)
    if owner is None:
        return LineResult("malformed" if record is None and "apparmor=" in line else "ignored")
    return _converted(line, owner, (), owner, of_profile=True)


def _seccomp(line: str, profiles: Collection[str], target_of_pid: Callable[[int], str | None]) -> LineResult:
    record = parse_seccomp_record(line)
    if record is None:
        return LineResult("malformed")
    target = target_of_pid(record.pid)
    if target:
        return _converted(line, "", (record.pid,), target, of_profile=False)
    owner = owning_profile(parse_profile_name(record.subj), profiles)
    if owner is not None:
        return _converted(line, owner, (), owner, of_profile=True)
    return LineResult("unattributed")


def _converted(line: str, profile: str, pids: Collection[int], target: str, of_profile: bool) -> LineResult:
    counts = AuditCounts()
    events = tuple({**event, "sources": [SOURCE]}
                   for event in events_from_audit_lines([line], profile, pids, target=target, counts=counts)
                   if event["kind"] != "stats")
    outcome: Outcome = ("malformed" if counts.malformed else
                        "used" if counts.apparmor or counts.seccomp else "ignored")
    return LineResult(outcome, target, events, counts.unresolved_syscalls, of_profile)


def stats_event(target: str, path: str, malformed: int, unresolved: int, ts: float) -> Event:
    """The cumulative ``stats`` event of ``target``'s records in the audit log at ``path``."""
    return {"v": SCHEMA_VERSION, "kind": "stats", "target": STATS_PREFIX + target, "lost_events": 0,
            "map_full": 0, "paths_truncated": 0, "sources": [STATS_PREFIX + path],
            "malformed": malformed, "unresolved_syscalls": unresolved, "ts": ts}


def routing_target(event: Event) -> str:
    """The target an event of this source belongs to (stats events name it after ``auditlog:``)."""
    target = str(event.get("target", ""))
    return target.removeprefix(STATS_PREFIX) if event.get("kind") == "stats" else target


FileId = tuple[int, int]


class Follower:
    """``tail -F`` over a list of candidate paths: the complete new lines of the first existing one."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.path: str | None = None
        self.reopened = 0
        self.cut_lines = 0  # over-long lines and partial last lines of a file left behind
        self._fd: int | None = None
        self._ident: FileId | None = None
        self._pending = b""
        self._skipping = False  # inside an over-long line: drop up to the next newline
        self._seen: dict[str, FileId | None] = {}  # every path's file at the last look
        self._complained: set[str] = set()

    def prime(self) -> None:
        """Open the first existing path at its end: only records written from now on are read."""
        self._seen = self._stat_all()
        self._open(self._seen)

    def poll(self, stopping: Callable[[], bool] = lambda: False) -> list[str]:
        """Lines written since the last poll; follows rotation, truncation and new paths."""
        now = self._stat_all()
        lines = self._read(stopping)
        if self.path is not None:
            first = next((p for p in self.paths if now[p] is not None), None)
            if now[self.path] != self._ident or first != self.path:  # its rest was read above
                self.close()
                self.reopened += 1
        if self._fd is None and self._open(now):
            lines += self._read(stopping)
        self._seen = now
        return lines

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        if self._pending or self._skipping:
            self.cut_lines += 1
        self._fd, self._ident, self.path, self._pending, self._skipping = None, None, None, b"", False

    def _stat_all(self) -> dict[str, FileId | None]:
        found: dict[str, FileId | None] = {}
        for path in self.paths:
            try:
                st = os.stat(path)
                found[path] = (st.st_dev, st.st_ino)
            except OSError:
                found[path] = None
        return found

    def _open(self, now: dict[str, FileId | None]) -> bool:
        path = next((p for p in self.paths if now[p] is not None), None)
        if path is None:
            return False
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            self._complain(path, error)
            return False
        st = os.fstat(fd)
        ident = (st.st_dev, st.st_ino)
        appeared = self._seen.get(path) != ident  # new since we last looked: all of it is new
        if not appeared:
            os.lseek(fd, 0, os.SEEK_END)
        self._fd, self._ident, self.path = fd, ident, path
        log.info("Following audit log path=%s from=%s", path, "start" if appeared else "end")
        return True

    def _read(self, stopping: Callable[[], bool]) -> list[str]:
        if self._fd is None:
            return []
        lines: list[str] = []
        try:
            if os.fstat(self._fd).st_size < os.lseek(self._fd, 0, os.SEEK_CUR):  # copytruncate
                os.lseek(self._fd, 0, os.SEEK_SET)
                self._pending, self._skipping = b"", False
                self.reopened += 1
                log.info("Audit log truncated, reading from its start path=%s", self.path)
            while not stopping() and (chunk := os.read(self._fd, CHUNK)):
                lines += self._split(chunk)
        except OSError as error:
            self._complain(self.path or "", error)
            self.close()
        return lines

    def _split(self, chunk: bytes) -> list[str]:
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        if self._skipping:  # the rest of an over-long line
            if not complete:
                self._pending = b""
                return []
            complete, self._skipping = complete[1:], False
        if len(self._pending) > MAX_LINE:
            self._pending, self._skipping = b"", True
            self.cut_lines += 1
        kept = [raw for raw in complete if len(raw) <= MAX_LINE]
        self.cut_lines += len(complete) - len(kept)
        return [raw.rstrip(b"\r").decode("utf-8", "surrogateescape") for raw in kept]

    def _complain(self, path: str, error: OSError) -> None:
        if path not in self._complained:
            self._complained.add(path)
            log.warning("Could not read audit log path=%s error=%s", path, error.strerror or error)


class AuditSource:
    """Follow the first existing audit log on a daemon thread and emit its records as events."""

    def __init__(self, paths: Sequence[str], on_event: Callable[[dict[str, Any]], None],
                 profiles: Callable[[], Collection[str]], target_of_pid: Callable[[int], str | None],
                 poll_seconds: float = 0.5) -> None:
        self.on_event = on_event
        self.profiles = profiles
        self.target_of_pid = target_of_pid
        self.poll_seconds = poll_seconds
        self.counts = SourceCounts()
        self._follower = Follower([p for p in paths if p])
        self._tallies: dict[str, tuple[int, int, bool]] = {}  # target -> malformed, unresolved, of_profile
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_missing = False

    @property
    def following(self) -> str | None:
        """The path being followed now; None while no path of the list exists."""
        return self._follower.path

    def start(self) -> None:
        """Open the first existing path at its end, then follow it on a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._follower.prime()
        self._note_missing()
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (within one poll interval or one read chunk) and close the file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._follower.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as error:  # a fault in profiles(), say: try again next time
                log.error("Could not read audit log path=%s error=%r", self.following, error)
            self._stop.wait(self.poll_seconds)

    def poll_once(self) -> None:
        """One pass: read what is new, emit its events, then the changed targets' stats."""
        profiles = frozenset(self.profiles())  # first: a fault here loses no line
        lines = self._follower.poll(self._stop.is_set)
        self.counts.reopened = self._follower.reopened
        self.counts.malformed += self._follower.cut_lines
        self.counts.lines += self._follower.cut_lines
        self._follower.cut_lines = 0
        self._note_missing()
        if lines:
            changed: set[str] = set()
            for line in lines:
                self._handle(line, profiles, changed)
            self._emit_stats(changed, profiles)
        self.counts.polls += 1

    def _handle(self, line: str, profiles: Collection[str], changed: set[str]) -> None:
        self.counts.lines += 1
        try:
            result = line_result(line, profiles, self.target_of_pid)
        except Exception as error:  # a fault in target_of_pid, say: the line is lost, the source goes on
            log.error("Could not attribute audit record error=%r", error)
            self.counts.unattributed += 1
            return
        setattr(self.counts, result.outcome, getattr(self.counts, result.outcome) + 1)
        self.counts.unresolved_syscalls += result.unresolved_syscalls
        if result.target:
            malformed, unresolved, _ = self._tallies.get(result.target, (0, 0, result.of_profile))
            self._tallies[result.target] = (malformed + (result.outcome == "malformed"),
                                            unresolved + result.unresolved_syscalls, result.of_profile)
            changed.add(result.target)
        for event in result.events:
            self._emit(event)

    def _emit_stats(self, changed: set[str], profiles: Collection[str]) -> None:
        for target in [t for t, (_m, _u, of_profile) in self._tallies.items()
                       if of_profile and t not in profiles]:
            del self._tallies[target]  # that window is over: a new one starts from zero
        now, path = time.time(), self.following or ""
        for target in sorted(changed):
            malformed, unresolved, _ = self._tallies[target]
            self._emit(stats_event(target, path, malformed, unresolved, now))

    def _emit(self, event: Event) -> None:
        try:
            self.on_event(event)
        except Exception as error:  # the consumer's fault must not end the source
            log.error("Could not deliver audit event kind=%s target=%s error=%r",
                      event.get("kind"), event.get("target"), error)

    def _note_missing(self) -> None:
        missing = self._follower.path is None
        if missing and not self._warned_missing:
            log.warning("No audit log exists yet, waiting for one (--auditLogPaths names them) paths=%s",
                        "|".join(self._follower.paths))
        self._warned_missing = missing
