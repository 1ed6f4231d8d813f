"""Run a command under an OCI seccomp profile and count every syscall the profile denies.

``SCMP_ACT_ERRNO`` is silent, and the tracer would see a denied call only as a failed one
(its syscall program is on ``sys_exit``; ``sys_enter`` runs after seccomp, so a denied call never
reaches it). So each denying ``SCMP_ACT_ERRNO`` action is loaded as ``SCMP_ACT_NOTIFY``
instead, and this process answers every notification with the errno the profile names:
the workload sees exactly what the profile would do, and we learn each denied call's name
and count. The child loads the filter and execs the command; the parent takes the
listener fd out of the child with ``pidfd_getfd`` (the child cannot send it: its own
syscalls already wait for answers), serves notifications, and kills the child's process
group when the timeout ends.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.syscalls import NATIVE_ARCH, syscall_name, syscall_number

ALLOWING = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})
NOTIF_RECV = 0xC0502100  # SECCOMP_IOCTL_NOTIF_RECV, struct seccomp_notif (80 bytes)
NOTIF_SEND = 0xC0182101  # SECCOMP_IOCTL_NOTIF_SEND, struct seccomp_notif_resp (24 bytes)
SYS_PIDFD_GETFD = 438
LISTENER_LINK = "anon_inode:seccomp notify"
USER_NOTIF_FLAG_CONTINUE = 1
EXECS = frozenset({"execve", "execveat"})


class ProfileError(ValueError):
    """The profile cannot be used (not OCI seccomp JSON, unsupported action or conditions)."""


@dataclass
class Outcome:
    status: int  # exit status, 128+N when killed by signal N; -1 when the timeout ended it
    denied: collections.Counter[str] = field(default_factory=collections.Counter)
    timed_out: bool = False
    unknown: list[str] = field(default_factory=list)  # names this libseccomp does not know


def _binding() -> Any:
    try:
        import seccomp

        return seccomp
    except ImportError:
        import pyseccomp

        return pyseccomp


def _errno_of(action: str, errno_ret: Any) -> int | None:
    if action == "SCMP_ACT_ERRNO":
        return errno.EPERM if errno_ret is None else int(errno_ret)
    return None


def _action(sc: Any, name: str, errno_ret: Any, notify: bool) -> Any:
    actions = {"SCMP_ACT_ALLOW": sc.ALLOW, "SCMP_ACT_LOG": sc.LOG, "SCMP_ACT_KILL": sc.KILL,
               "SCMP_ACT_KILL_THREAD": sc.KILL, "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS,
               "SCMP_ACT_TRAP": sc.TRAP}
    if name == "SCMP_ACT_ERRNO":
        return sc.NOTIFY if notify else sc.ERRNO(_errno_of(name, errno_ret))
    if name not in actions:
        raise ProfileError(f"unsupported seccomp action {name}")
    return actions[name]


def _number(name: str) -> int:
    number = syscall_number(NATIVE_ARCH, name)
    return -2 if number is None else number  # -2: a name our table lacks, never notified


def check_profile(profile: Any) -> Mapping[str, Any]:
    """``profile`` when it is usable OCI seccomp JSON, else ``ProfileError``."""
    if not isinstance(profile, Mapping) or not isinstance(profile.get("defaultAction"), str):
        raise ProfileError("not an OCI seccomp profile (no defaultAction)")
    rules = profile.get("syscalls") or []
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) and isinstance(r.get("names"), list)
                                              and isinstance(r.get("action"), str) for r in rules):
        raise ProfileError("syscalls must be a list of {names: [...], action: ...}")
    if any(r.get("args") for r in rules):
        raise ProfileError("argument conditions are not supported by verify")
    return profile


def build_filter(profile: Mapping[str, Any], notify: bool = False) -> tuple[Any, list[str], dict[int, int]]:
    """The libseccomp filter, the names this libseccomp lacks, and the answer per notified number.

    With ``notify`` every ``SCMP_ACT_ERRNO`` becomes ``SCMP_ACT_NOTIFY``; the returned map
    gives the errno to answer for each syscall number (key -1: the default action's). An
    allowed ``execve``/``execveat`` is notified too and answered ``CONTINUE`` (value 0): the
    child's exec then waits until this process holds the listener, which the kernel closes
    on exec (``O_CLOEXEC``), and the workload's execs run as the profile allows."""
    sc = _binding()
    default, default_ret = profile["defaultAction"], profile.get("defaultErrnoRet")
    sfilter = sc.SyscallFilter(defaction=_action(sc, default, default_ret, notify))
    answers: dict[int, int] = {}
    if (value := _errno_of(default, default_ret)) is not None:
        answers[-1] = value
    unknown: list[str] = []
    seen: set[str] = set()
    for rule in profile.get("syscalls", []):
        action = rule["action"]
        for name in rule["names"]:
            if name in seen:
                continue
            seen.add(name)
            gate = notify and name in EXECS and action in ALLOWING
            if gate and default == "SCMP_ACT_ERRNO":  # notified by default already
                answers[_number(name)] = 0
                continue
            chosen = sc.NOTIFY if gate else _action(sc, action, rule.get("errnoRet"), notify)
            try:
                sfilter.add_rule(chosen, name)
            except (RuntimeError, ValueError, OSError):
                unknown.append(name)
                continue
            value = 0 if gate else _errno_of(action, rule.get("errnoRet"))
            if value is not None:
                answers[_number(name)] = value
    if notify and default in ALLOWING:
        for name in EXECS - seen:
            sfilter.add_rule(sc.NOTIFY, name)
            answers[_number(name)] = 0
    return sfilter, unknown, answers


def _pidfd_getfd(pid: int, target_fd: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = int(libc.syscall(SYS_PIDFD_GETFD, pidfd, target_fd, 0))
    finally:
        os.close(pidfd)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "pidfd_getfd failed")
    return fd


def _listener_of(pid: int) -> int | None:
    """The child's seccomp listener fd, copied into this process, once the child has one."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") == LISTENER_LINK:
                return _pidfd_getfd(pid, int(name))
        except OSError:
            continue
    return None


def _pending(listener: int) -> bool:
    """A notification waits (POLLIN); a bare POLLHUP (no task left) must not reach RECV, which
    would block."""
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    return any(events & select.POLLIN for _, events in poller.poll(50))


def _answer(listener: int, answers: Mapping[int, int], denied: collections.Counter[str]) -> None:
    request = bytearray(80)
    try:
        fcntl.ioctl(listener, NOTIF_RECV, request)
    except OSError:
        return  # the task died or the call was interrupted before we read it
    ident, _pid, _flags, number = struct.unpack_from("=QIIi", request)
    value = answers.get(number, answers.get(-1, errno.EPERM))
    if value:
        denied[syscall_name(NATIVE_ARCH, number) or f"#{number}"] += 1
        response = bytearray(struct.pack("=QqiI", ident, 0, -value, 0))
    else:
        response = bytearray(struct.pack("=QqiI", ident, 0, 0, USER_NOTIF_FLAG_CONTINUE))
    with contextlib.suppress(OSError):  # the task may be gone
        fcntl.ioctl(listener, NOTIF_SEND, response)


def _child(sfilter: Any, cmd: Sequence[str]) -> None:
    try:
        os.setsid()
        sfilter.load()
        os.execvp(cmd[0], list(cmd))
    except OSError as exc:
        print(f"verify: cannot run {cmd[0]}: {exc}", file=sys.stderr)
    os._exit(127)


def run_confined(profile: Mapping[str, Any], cmd: Sequence[str], timeout: float = 0.0) -> Outcome:
    """Run CMD under the profile; its status and every denied syscall by name and count."""
    sfilter, unknown, answers = build_filter(check_profile(profile), notify=True)
    pid = os.fork()
    if pid == 0:
        _child(sfilter, cmd)
    outcome = Outcome(status=-1, unknown=unknown)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    listener: int | None = None
    expect_listener = bool(answers)  # no NOTIFY action at all: libseccomp makes no listener
    try:
        while True:
            if not expect_listener:
                time.sleep(0.01)
            elif listener is None and (listener := _listener_of(pid)) is None:
                time.sleep(0.002)
            elif listener is not None and _pending(listener):
                _answer(listener, answers, outcome.denied)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                outcome.status = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) \
                    else 128 + os.WTERMSIG(status)
                return outcome
            if deadline is not None and time.monotonic() >= deadline:
                outcome.timed_out = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return outcome
    finally:
        if listener is not None:
            os.close(listener)
