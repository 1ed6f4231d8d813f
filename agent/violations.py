"""Violations of enforcing profiles that allow them: what the profile would have denied, per container.

A DefenseInDepth policy with ``allowViolations: true`` gets a seccomp profile whose default action
is ``SCMP_ACT_LOG``: a syscall outside the model runs, and the kernel writes an audit record of
type 1326 with ``code=0x7ffc0000`` (``SECCOMP_RET_LOG``). Without auditd these records go to the
kernel log, so the agent follows ``/dev/kmsg`` (from its end: only new records). The record names a
pid, not a container: the pid's cgroup (``/proc/PID/cgroup``, read as soon as the record arrives)
picks the container among those wired to such a profile on this node. A process that exited before
it was looked up cannot be attributed, and the kernel's printk rate limit drops records when
there are many (``kauditd_printk_skb: N callbacks suppressed``): both are counted, never guessed.

The first time a container makes a syscall outside its profile, ``on_violation`` is told (the
agent posts an Event on the policy and on the pod); later ones only add to the count.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import select
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.windows import WiredContainer
from generator.auditlogs import parse_seccomp_record, scan_fields

log = logging.getLogger(__name__)
KMSG = "/dev/kmsg"
SECCOMP_RECORD = "type=1326"
RET_LOG = "0x7ffc0000"
_SUPPRESSED = re.compile(r"kauditd_printk_skb: (\d+) callbacks suppressed")


@dataclass(frozen=True)
class Violation:
    """One logged syscall: who made it and what it was."""

    pid: int
    comm: str
    exe: str
    syscall: str  # the name, or ``#<number>`` when the table does not know it


def parse_violation(record: str) -> Violation | None:
    """A ``SECCOMP_RET_LOG`` record of a kernel-log line, or None for any other line."""
    if SECCOMP_RECORD not in record or scan_fields(record).get("code") != RET_LOG:
        return None
    parsed = parse_seccomp_record(record)
    if parsed is None:
        return None
    return Violation(parsed.pid, parsed.comm, parsed.exe, parsed.name or f"#{parsed.syscall}")


def suppressed(record: str) -> int:
    """How many audit records the kernel's rate limit dropped, as a kernel-log line says."""
    match = _SUPPRESSED.search(record)
    return int(match.group(1)) if match else 0


def allowing_violations(profiles: Iterable[Mapping[str, Any]], containers: Iterable[WiredContainer],
                        cgroup_of: Callable[[str], str | None]) -> dict[str, WiredContainer]:
    """Containers (by cgroup) wired to an enforcing profile that allows violations.

    That is an ArmorProfile in ``complain`` mode that does not model: a modeling profile also
    logs (its records are the model's, not violations).
    """
    allowing = set()
    for armor_profile in profiles:
        spec = armor_profile.get("spec") or {}
        if (spec.get("profile") or {}).get("mode") == "complain" and not (
                spec.get("behaviorModeling") or {}).get("enable"):
            allowing.add(str((armor_profile.get("metadata") or {}).get("name")))
    found = {}
    for container in containers:
        if container.profile in allowing and (cgroup := cgroup_of(container.container_id)):
            found[cgroup] = container
    return found


@dataclass
class Counts:
    """What the watcher saw since it started."""

    attributed: int = 0
    unattributed: int = 0  # the process was gone, or not in a container that allows violations
    suppressed: int = 0  # dropped by the kernel's printk rate limit
    per_container: dict[tuple[str, str], int] = field(default_factory=dict)  # (container id, syscall)


class KmsgReader:
    """New kernel-log records, one string each, from the end of ``/dev/kmsg`` on."""

    def __init__(self, path: str = KMSG) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        self.lost = 0  # records overwritten before we read them

    def read(self, timeout: float) -> list[str]:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        records: list[str] = []
        while ready:
            try:
                records.append(os.read(self.fd, 8192).decode("utf-8", "replace"))
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno != errno.EPIPE:
                    raise
                self.lost += 1
        return records

    def close(self) -> None:
        os.close(self.fd)


class ViolationWatcher:
    """Attributes ``SECCOMP_RET_LOG`` records to the containers whose profile allows violations."""

    def __init__(self, read: Callable[[float], Iterable[str]], cgroup_of_pid: Callable[[int], str | None],
                 on_violation: Callable[[WiredContainer, Violation], None]) -> None:
        self.read, self.cgroup_of_pid, self.on_violation = read, cgroup_of_pid, on_violation
        self.containers: Mapping[str, WiredContainer] = {}  # cgroup -> container
        self.counts = Counts()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def watch(self, containers: Mapping[str, WiredContainer]) -> None:
        """The containers (by cgroup) to attribute to from now on (replaced as a whole); the counts
        of containers no longer watched are forgotten."""
        self.containers = dict(containers)
        live = {c.container_id for c in containers.values()}
        with self._lock:  # the reading thread counts meanwhile
            counts = self.counts.per_container
            for key in [k for k in counts if k[0] not in live]:
                del counts[key]

    def handle(self, record: str) -> None:
        self.counts.suppressed += suppressed(record)
        violation = parse_violation(record)
        if violation is None or not self.containers:  # nothing allows violations here: not ours
            return
        cgroup = self.cgroup_of_pid(violation.pid)
        container = self.containers.get(cgroup) if cgroup else None
        if container is None:
            self.counts.unattributed += 1
            log.debug("Unattributed seccomp record pid=%d comm=%s syscall=%s cgroup=%s", violation.pid,
                      violation.comm, violation.syscall, cgroup)
            return
        self.counts.attributed += 1
        key = (container.container_id, violation.syscall)
        with self._lock:
            seen = self.counts.per_container.get(key, 0)
            self.counts.per_container[key] = seen + 1
        if not seen:
            log.info("Violation profile=%s pod=%s/%s container=%s syscall=%s exe=%s", container.profile,
                     container.pod_namespace, container.pod_name, container.name, violation.syscall,
                     violation.exe)
            # told off the reading thread (Events are API calls): the next record's pid is read at once
            threading.Thread(target=self._tell, args=(container, violation), name="violation",
                             daemon=True).start()

    def _tell(self, container: WiredContainer, violation: Violation) -> None:
        try:
            self.on_violation(container, violation)
        except Exception as error:  # a failed Event loses that Event only
            log.warning("Could not report a violation error=%r", error)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                for record in self.read(0.5):
                    self.handle(record)
            except Exception as error:  # one bad record or a failed Event never stops the watcher
                log.warning("Violation watcher error=%r", error)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="violations", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
