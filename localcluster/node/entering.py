"""Exec sessions, container side: ``python -m localcluster.node.entering <session.json>``.

Started by ``sessions.exec_in_container``. Like ``runc exec``, it opens the container init's UTS, IPC,
pid and mount namespaces and its cgroup's ``cgroup.procs``, joins the namespaces and forks: the child
(now inside the pid namespace) writes itself into the cgroup, ``chdir``s to the container's working
directory, loads the container's seccomp profile and ``execve``s the command with the container's
environment. This helper never enters the cgroup; it exits with the child's exit code (128+N for
signal N; 126 when the command cannot run, 127 when it is not found).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from localcluster.node import kernel
from localcluster.node.seccomp_profiles import SeccompProfile, parse_profile
from localcluster.node.sessions import Session

NAMESPACES = (
    ("uts", kernel.CLONE_NEWUTS),
    ("ipc", kernel.CLONE_NEWIPC),
    ("pid", kernel.CLONE_NEWPID),
    ("mnt", kernel.CLONE_NEWNS),
)


def main(argv: list[str]) -> int:
    session: Session = json.loads(Path(argv[0]).read_text())
    profile = parse_profile(Path(session["seccomp_file"]).read_text()) if session["seccomp_file"] else None
    fds = [(os.open(f"/proc/{session['pid']}/ns/{kind}", os.O_RDONLY), flag) for kind, flag in NAMESPACES]
    procs = os.open(Path(session["cgroup"]) / "cgroup.procs", os.O_WRONLY)
    for fd, flag in fds:
        kernel.setns_fd(fd, flag)
        os.close(fd)
    child = os.fork()
    if child == 0:
        _run(session, procs, profile)
    os.close(procs)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    return 128 - code if code < 0 else code


def _run(session: Session, procs: int, profile: SeccompProfile | None) -> NoReturn:
    """The forked child: inside the pid namespace now; join the cgroup, then exec."""
    code = 126
    try:
        os.write(procs, b"0")
        os.close(procs)
        try:
            os.chdir(session["working_dir"])
        except OSError:
            os.chdir("/")
        code = 127
        path = kernel.resolve_command(session["argv"][0], session["env"])
        code = 126
        if profile is not None:
            kernel.load_seccomp(profile)
        os.execve(path, session["argv"], session["env"])
    except BaseException as err:
        os.write(2, f"exec failed: {type(err).__name__}: {err}\n".encode())
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
