"""``app.py verify``: run a command under a generated seccomp profile, or ask what it would deny.

Without ``--what-if`` the OCI/Docker seccomp JSON is compiled with libseccomp (PyPI
``pyseccomp``, or Debian's ``python3-seccomp`` when that imports), loaded in a child process
(libseccomp sets no_new_privs) and CMD is exec'd, so only ``execve`` runs between loading the
filter and the command. The exit status and the command's own error output tell whether the
profile is enough. With ``--what-if`` CMD runs traced but unconfined (``agent.localmode``) and
the syscalls the profile would deny are listed.

examples:
    app.py verify --seccomp out/cat.seccomp.json -- cat /etc/hostname
    app.py verify --what-if --seccomp out/cat.seccomp.json -- ls /
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

ALLOWING = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})


def _binding() -> Any:
    try:
        import seccomp

        return seccomp
    except ImportError:
        import pyseccomp

        return pyseccomp


def _action(sc: Any, name: str, errno_ret: int | None) -> Any:
    actions = {"SCMP_ACT_ALLOW": sc.ALLOW, "SCMP_ACT_LOG": sc.LOG, "SCMP_ACT_KILL": sc.KILL,
               "SCMP_ACT_KILL_THREAD": sc.KILL, "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS,
               "SCMP_ACT_TRAP": sc.TRAP}
    if name == "SCMP_ACT_ERRNO":
        return sc.ERRNO(1 if errno_ret is None else errno_ret)
    if name not in actions:
        raise ValueError(f"unsupported seccomp action {name}")
    return actions[name]


def build_filter(profile: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The libseccomp filter of an OCI profile, and the syscall names this libseccomp lacks."""
    sc = _binding()
    default = _action(sc, profile["defaultAction"], profile.get("defaultErrnoRet"))
    sfilter = sc.SyscallFilter(defaction=default)
    skipped: list[str] = []
    for rule in profile.get("syscalls", []):
        if rule.get("args"):
            raise ValueError("argument conditions are not supported by verify")
        action = _action(sc, rule["action"], rule.get("errnoRet"))
        for name in rule["names"]:
            try:
                sfilter.add_rule(action, name)
            except (RuntimeError, ValueError, OSError):
                skipped.append(name)
    return sfilter, skipped


def allowed(profile: Mapping[str, Any]) -> set[str]:
    return {n for rule in profile.get("syscalls", []) if rule["action"] in ALLOWING and not rule.get("args")
            for n in rule["names"]}


def would_deny(profile: Mapping[str, Any], observed: Sequence[str]) -> list[str]:
    """The observed syscalls the profile does not allow (in observed order)."""
    if profile["defaultAction"] in ALLOWING:
        rules = profile.get("syscalls", [])
        denied = {n for rule in rules if rule["action"] not in ALLOWING for n in rule["names"]}
        return [s for s in observed if s in denied]
    permitted = allowed(profile)
    return [s for s in observed if s not in permitted]


def run_confined(profile: Mapping[str, Any], cmd: Sequence[str]) -> int:
    """Run CMD under the profile; returns its exit status (128+N when killed by signal N)."""
    sfilter, skipped = build_filter(profile)
    if skipped:
        print(f"verify: this libseccomp does not know {', '.join(skipped)}", file=sys.stderr)
    pid = os.fork()
    if pid == 0:
        try:
            sfilter.load()
            os.execvp(cmd[0], list(cmd))
        except OSError as exc:
            print(f"verify: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        os._exit(127)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def what_if(profile: Mapping[str, Any], cmd: Sequence[str]) -> list[str]:
    """Run CMD traced and unconfined; the syscalls it made that the profile would deny."""
    from agent.localmode import TracerClient, run_traced

    client = TracerClient()
    try:
        run_traced(client, "what-if", cmd, 0.0, lambda: None)
    finally:
        client.close()
    names = [n for e in client.of("what-if") if e["kind"] == "syscalls" for n in e["names"]]
    return would_deny(profile, names)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("--seccomp", required=True, metavar="FILE", help="OCI seccomp profile (JSON)")
    parser.add_argument("--what-if", action="store_true",
                        help="run traced but unconfined; list what would be denied")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")


def run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else list(args.cmd)
    if not cmd:
        print("verify: give a command after --", file=sys.stderr)
        return 2
    with open(args.seccomp) as f:
        profile = json.load(f)
    if args.what_if:
        denied = what_if(profile, cmd)
        for name in denied:
            print(f"would deny: {name}")
        print(f"verify: {len(denied)} syscall(s) would be denied", file=sys.stderr)
        return 1 if denied else 0
    status = run_confined(profile, cmd)
    verdict = "succeeded" if status == 0 else f"failed with exit status {status}"
    print(f"verify: {' '.join(cmd)} {verdict} under {args.seccomp}", file=sys.stderr)
    return status
