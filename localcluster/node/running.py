"""The per-container shim: ``python -m localcluster.node.running <launch.json>``.

Plays containerd-shim plus ``runc create/start`` for one container (or the pod sandbox). It stays on
the host, outside the container's cgroup and namespaces, so it outlives a restarted simulator:

1. enter a new pid namespace for its child (or the pod's shared one) and fork the init;
2. the init joins its ``cri-containerd-<id>.scope`` cgroup, the pod's UTS/IPC namespaces (the sandbox
   creates them and sets the hostname), a new mount namespace with its own ``/proc``, then
   ``chdir``s, loads the seccomp filter and ``execve``s the command; the sandbox instead pauses and
   reaps orphans, as the pause container does;
3. a close-on-exec pipe tells the shim the exec happened; it prints ``{"pid": N}`` (or
   ``{"error": ...}``) on stdout for the simulator, waits for the init and writes ``<id>.exit.json``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from localcluster.node import kernel
from localcluster.node.records import ExitRecord, LaunchSpec, write_json
from localcluster.node.seccomp_profiles import parse_profile


def main(argv: list[str]) -> int:
    spec: LaunchSpec = json.loads(Path(argv[0]).read_text())
    if spec["join_pid"]:
        kernel.setns(spec["join_pid"], kernel.CLONE_NEWPID)
    else:
        kernel.unshare(kernel.CLONE_NEWPID)
    read_end, write_end = os.pipe()  # both close-on-exec
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _init(spec, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        error = pipe.read().decode(errors="replace")
    _report({"error": error} if error else {"pid": pid})
    status = os.waitpid(pid, 0)[1]
    write_json(Path(spec["exit_file"]), _exit_record(status))
    return 0


def _report(message: dict[str, object]) -> None:
    """One JSON line for the simulator, then let go of its pipe."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _init(spec: LaunchSpec, report_fd: int) -> NoReturn:
    """The forked child: become the container's init, or the sandbox's pause."""
    try:
        profile = parse_profile(Path(spec["seccomp_file"]).read_text()) if spec["seccomp_file"] else None
        _stdio(spec["log"])
        with open(Path(spec["cgroup"]) / "cgroup.procs", "w") as procs:
            procs.write("0")
        _enter_pod(spec)
        if spec["kind"] == "sandbox":
            os.close(report_fd)
            _pause()
        kernel.unshare(kernel.CLONE_NEWNS)
        kernel.private_proc()
        os.setsid()
        os.chdir(spec["working_dir"])
        path = kernel.resolve_command(spec["argv"][0], spec["env"])
        if profile is not None:
            kernel.load_seccomp(profile)
        os.execve(path, spec["argv"], spec["env"])
    except BaseException as err:  # reported to the shim, which reports it to the simulator
        os.write(report_fd, f"{type(err).__name__}: {err}".encode())
    os._exit(127)


def _stdio(log: str) -> None:
    stdin = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(stdin, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(stdin)
    os.close(out)


def _enter_pod(spec: LaunchSpec) -> None:
    """Containers join the sandbox's UTS and IPC namespaces; the sandbox makes them."""
    if spec["join_uts"] and spec["join_ipc"]:
        kernel.setns(spec["join_uts"], kernel.CLONE_NEWUTS)
        kernel.setns(spec["join_ipc"], kernel.CLONE_NEWIPC)
        return
    kernel.unshare(kernel.CLONE_NEWUTS | kernel.CLONE_NEWIPC)
    kernel.sethostname(spec["hostname"])


def _pause() -> NoReturn:
    """The pause container: pid 1 of the pod's pid namespace, reaping orphans until told to stop."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    while True:
        signal.pause()


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _exit_record(status: int) -> ExitRecord:
    code = os.waitstatus_to_exitcode(status)
    signum = -code if code < 0 else 0
    exit_code = 128 + signum if signum else code
    return ExitRecord(
        exitCode=exit_code,
        signal=signum,
        reason="Completed" if exit_code == 0 else "Error",
        finishedAt=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
